/**
 * `npm run local-amplify -- [options]`: runs the emulator standalone and prints how to point the
 * AWS CLI or an SDK at it. Exits cleanly on SIGINT/SIGTERM.
 */
import { HELP_TEXT, parseCliArgs } from './cli-args.js';
import { type LocalAmplify, startLocalAmplify } from './index.js';

function describe(la: LocalAmplify): string {
  const env = la.env();
  // The newest finished job on a main branch makes the best first `get-job`.
  const example = la.world
    .listJobKeys({ status: 'SUCCEED', branchName: 'main' })
    .sort((a, b) => Number(b.jobId) - Number(a.jobId))[0];
  const faults = la.faults.list();
  const lines = [
    `local Amplify listening on ${la.url}`,
    `  seed ${la.world.seed}, speed ${la.clock.speed}x, virtual time ${la.clock.now().toISOString()}, signatures ${la.signaturesRequired ? 'required' : 'not checked'}`,
    ...faults.map(({ id, fired: _fired, ...rule }) => `  ${id}: ${JSON.stringify(rule)}`),
    ...(la.events.target === undefined
      ? []
      : [`  events (${la.events.statuses}) POSTed to ${la.events.target.url}`]),
    '',
    'Point the AWS CLI or an SDK at it:',
    ...Object.entries(env).map(([key, value]) => `  export ${key}=${value}`),
    '',
    'Try:',
    '  aws amplify list-apps',
  ];
  if (example !== undefined) {
    lines.push(
      `  aws amplify list-jobs --app-id ${example.appId} --branch-name ${example.branchName} --max-items 5`,
      `  aws amplify get-job --app-id ${example.appId} --branch-name ${example.branchName} --job-id ${example.jobId}`,
    );
  }
  lines.push(
    '',
    `Control API: ${la.url}/_local/health  (also /_local/stats, /_local/faults, /_local/clock, /_local/world, /_local/jobs, /_local/events)`,
    'Press Ctrl+C to stop.',
  );
  return lines.join('\n');
}

async function run(): Promise<void> {
  const parsed = parseCliArgs(process.argv.slice(2));
  if (!parsed.ok) {
    console.error(
      `local-amplify: invalid arguments:\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    console.error('Run with --help for the options.');
    process.exitCode = 1;
    return;
  }
  if (parsed.help) {
    console.log(HELP_TEXT);
    return;
  }
  const la = await startLocalAmplify(parsed.options);
  console.log(describe(la));
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping local Amplify...`);
    la.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('local-amplify: error while closing:', error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

run().catch((error: unknown) => {
  console.error('local-amplify failed to start:', error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
