/**
 * `npm run demo`: the gateway in front of an embedded local Amplify, so everything works on a
 * fresh machine with no AWS account. Prints the GraphiQL URL and a query for a job that exists.
 */

import { randomBytes } from 'node:crypto';
import { hasAccessControl, loadConfig, loadDemoConfig } from './config.js';
import { EVENTS_PATH, EVENTS_SECRET_HEADER } from './http/amplify-events.js';
import { createGatewayApp } from './http/app.js';
import { BOARD_PATH, createBoard } from './http/board.js';
import { demoExample, loadGraphiQLRenderer } from './http/graphiql.js';
import { closeOnSignals, listen } from './http/server.js';
import { startLocalAmplify } from './local-amplify/index.js';
import { createObservability } from './observability/index.js';
import { createLogger, unknownValueLogger, wireProblemLogger } from './observability/logger.js';
import { createSdkUpstream } from './upstream/sdk-upstream.js';

/** The printed curl examples: navigation without ids first, then one job. */
const EXPLORE_CURL_QUERY =
  '{ apps(first: 2) { nodes { appId name branches(first: 2) { nodes { branchName jobs(first: 3) { nodes { jobId summary { status } } } } } } } }';
const JOB_CURL_QUERY =
  'query($appId: ID!, $branchName: String!, $jobId: ID!) { job(appId: $appId, branchName: $branchName, jobId: $jobId) { summary { status jobType } steps { stepName status log(tailLines: 3) { text } } } }';

/** Turns "address already in use" into a message naming the variable that moves the port. */
function explainPortInUse(variable: string, what: string) {
  return (error: unknown): never => {
    const { code, port } = (error ?? {}) as { code?: unknown; port?: unknown };
    if (code !== 'EADDRINUSE') throw error;
    throw new Error(
      `port ${String(port)} is already in use, so ${what} cannot listen on it. Stop what uses it, or pick another port: ${variable}=<port> npm run demo (0 picks a free one).`,
    );
  };
}

async function demo(): Promise<void> {
  // The demo serves an emulator's made-up jobs on loopback: no access control unless asked for.
  // The embedded local Amplify pushes its EventBridge events to the gateway, as an API
  // destination would, with a secret made up for this run; the control mutations are on, since
  // the only Amplify here is the local one.
  const loaded = loadConfig({
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    AUTH: 'none',
    AMPLIFY_EVENTS_SECRET: randomBytes(24).toString('hex'),
    CONTROL_MUTATIONS: 'true',
  });
  const loadedDemo = loadDemoConfig();
  const problems = [
    ...(loaded.ok ? [] : loaded.problems),
    ...(loadedDemo.ok ? [] : loadedDemo.problems),
  ];
  if (!loaded.ok || !loadedDemo.ok) {
    console.error(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exit(1);
  }
  const { config } = loaded;
  const { demo: settings } = loadedDemo;
  const log = createLogger(config.logLevel);
  for (const warning of loaded.warnings) log.warn(warning);
  const observability = await createObservability(config);
  const amplify = await startLocalAmplify({
    port: settings.amplifyPort,
    host: '127.0.0.1',
    seed: settings.seed,
    speed: settings.speed,
    // The world is laid out relative to now, so the dashboard's "started 5 minutes ago" reads true.
    startTime: 'now',
  }).catch(explainPortInUse('DEMO_AMPLIFY_PORT', 'the embedded local Amplify'));
  const upstream = createSdkUpstream({
    config: config.upstream,
    ...amplify.clientConfig(),
    onUnknownValue: unknownValueLogger(log),
    onWireProblem: wireProblemLogger(log),
    observers: observability.upstreamObservers,
  });

  // A finished webhook build with a VERIFY step shows the most fields at once.
  const jobs = amplify.world.listJobKeys({ status: 'SUCCEED', jobType: 'WEB_HOOK' });
  const example = jobs[0] ?? amplify.world.listJobKeys()[0];
  if (example === undefined) throw new Error('the local Amplify demo world has no jobs');
  const variables = { appId: example.appId, branchName: example.branchName, jobId: example.jobId };

  const app = createGatewayApp({
    config,
    upstream,
    log,
    example: demoExample(variables),
    renderGraphiQL: await loadGraphiQLRenderer(config),
    observability,
  });
  // The live board is the demo's own page, in front of the gateway's routes.
  const board = createBoard();
  const running = await listen(
    {
      ...app,
      handle: (req, res) => {
        if (!board.handle(req, res)) app.handle(req, res);
      },
    },
    config,
    log,
  ).catch(async (error: unknown) => {
    await Promise.all([app.close(), amplify.close()]);
    upstream.destroy();
    return explainPortInUse('PORT', 'the gateway')(error);
  });
  if (config.amplifyEvents !== null) {
    amplify.events.setTarget({
      url: `${running.url}${EVENTS_PATH}`,
      headers: { [EVENTS_SECRET_HEADER]: config.amplifyEvents.secret },
    });
  }
  const exploreBody = JSON.stringify({ query: EXPLORE_CURL_QUERY });
  const jobBody = JSON.stringify({ query: JOB_CURL_QUERY, variables });
  // A job that is running now, to follow live (not from the quirks app, whose jobs never move).
  const quirkApp = amplify.world.quirkApp().appId;
  const live = amplify.world.listJobKeys({ status: 'RUNNING' }).find((j) => j.appId !== quirkApp);
  const sseBody =
    live === undefined
      ? null
      : JSON.stringify({
          query:
            'subscription($appId: ID!, $branchName: String!, $jobId: ID!) { jobUpdated(appId: $appId, branchName: $branchName, jobId: $jobId) { summary { status } steps { stepName status } } }',
          variables: { appId: live.appId, branchName: live.branchName, jobId: live.jobId },
        });
  console.log(
    [
      '',
      `Amplify jobs GraphQL (demo) is running.`,
      `  GraphiQL:       ${running.url}/graphql`,
      `  Live board:     ${running.url}${BOARD_PATH}`,
      `  Local Amplify:  ${amplify.url}  (AWS_ENDPOINT_URL_AMPLIFY for the AWS CLI or SDK)`,
      `  Metrics:        ${running.url}/metrics`,
      '',
      hasAccessControl(config)
        ? 'Access control is on (API_KEYS, JWT_JWKS_URL or ROUTER_SECRET is set).'
        : 'Access control is off (AUTH=none): anyone who can reach this address can read every job.\n`npm start` refuses to start that way unless AUTH=none is set explicitly.',
      '',
      'Try it from a shell: the apps, their branches and latest jobs (no id needed),',
      `  curl -s ${running.url}/graphql -H 'content-type: application/json' \\`,
      `    -d '${exploreBody}'`,
      'then one job with its steps and the end of their logs:',
      `  curl -s ${running.url}/graphql -H 'content-type: application/json' \\`,
      `    -d '${jobBody}'`,
      ...(sseBody === null
        ? []
        : [
            '',
            'Follow a running job live (Server-Sent Events; the build takes a few minutes):',
            `  curl -N ${running.url}/graphql -H 'content-type: application/json' -H 'accept: text/event-stream' \\`,
            `    --data-raw '${sseBody}'`,
          ]),
      '',
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  );
  closeOnSignals(running, log, () => {
    amplify.events.clearTarget();
    app
      .close()
      .then(() => {
        upstream.destroy();
        return Promise.all([amplify.close(), observability.shutdown()]);
      })
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  });
}

demo().catch((error: unknown) => {
  console.error('Demo failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
