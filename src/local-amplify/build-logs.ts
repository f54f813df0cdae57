/**
 * Realistic, deterministic build-log text for a step, in the shape of Amplify Hosting's logs
 * (`<ISO time> [INFO]: # ...`). Lines are spread over the step's planned duration and only those
 * already "written" at the requested instant are returned, so a running step's log grows.
 */
import { APP_BLUEPRINTS } from './catalog.js';
import { CANCELLED_REASON, type DerivedStep } from './job-state.js';
import type { JobRecord } from './model.js';
import { rngFor } from './random.js';
import { testSpecsOf } from './wire.js';

type Level = 'INFO' | 'WARNING' | 'ERROR';
type Line = readonly [Level, string];

const COMPUTE: Readonly<Record<string, string>> = {
  STANDARD_8GB: 'Standard build compute type: 8GiB Memory, 4vCPUs, 128GB Disk Space',
  LARGE_16GB: 'Large build compute type: 16GiB Memory, 8vCPUs, 128GB Disk Space',
  XLARGE_72GB: 'XLarge build compute type: 72GiB Memory, 36vCPUs, 256GB Disk Space',
};

function buildLines(
  job: JobRecord,
  seed: string,
  failed: boolean,
  reason: string | undefined,
): Line[] {
  const app = job.branch.app;
  const blueprint = APP_BLUEPRINTS.find((b) => b.name === app.name);
  const pkg = blueprint?.packageName ?? app.name;
  const command = blueprint?.buildCommand ?? 'npm run build';
  const rng = rngFor(seed, 'log', job.jobArn, 'BUILD');
  const repo = app.repository ?? `https://github.com/acme/${pkg}`;
  const sshRepo = repo.replace(/^https:\/\/([^/]+)\//, 'git@$1:');
  const src = `/codebuild/output/src${rng.int(100000000, 999999999)}/src/${pkg}`;
  const packages = rng.int(400, 1900);
  const lines: Line[] = [
    [
      'INFO',
      `# Build environment configured with ${COMPUTE[app.buildComputeType] ?? app.buildComputeType}`,
    ],
    ['INFO', `# Cloning repository: ${sshRepo}.git`],
    ['INFO', ''],
    ['INFO', `Cloning into '${pkg}'...`],
    ['INFO', `# Switching to commit: ${job.commitId}`],
    ['INFO', `Agent pid ${rng.int(100, 999)}`],
    ['INFO', 'Identity added: /root/.ssh/git_rsa (/root/.ssh/git_rsa)'],
    ['INFO', `# Checking for Git submodules at: ${src}/.gitmodules`],
    ['INFO', '# Retrieving environment cache...'],
    ['INFO', '# Retrieved environment cache'],
    ['INFO', '---- Setting Up SSM Secrets ----'],
    [
      'INFO',
      `SSM params {"Path":"/amplify/${app.appId}/${job.branch.displayName}/","WithDecryption":true}`,
    ],
    ['INFO', '# Retrieving cache...'],
    ['INFO', '# Extracting cache...'],
    ['INFO', '# Extraction completed'],
    ['INFO', '# Retrieved cache'],
    ['INFO', '## Starting Backend Build'],
    ['INFO', '## Checking for associated backend environment...'],
    ['INFO', '## No backend environment association found, continuing...'],
    ['INFO', '## Completed Backend Build'],
    ['INFO', '## Starting Frontend Build'],
    ['INFO', '# Starting phase: preBuild'],
    ['INFO', '# Executing command: nvm use 20'],
    ['INFO', 'Now using node v20.18.1 (npm v10.8.2)'],
    ['INFO', '# Executing command: npm ci --cache .npm --prefer-offline'],
    [
      'WARNING',
      'npm warn deprecated inflight@1.0.6: This module is not supported, and leaks memory.',
    ],
    [
      'INFO',
      `added ${packages} packages, and audited ${packages + 1} packages in ${rng.int(9, 60)}s`,
    ],
    ['INFO', `${rng.int(80, 260)} packages are looking for funding`],
    ['INFO', 'found 0 vulnerabilities'],
    ['INFO', '# Completed phase: preBuild'],
    ['INFO', '# Starting phase: build'],
    ['INFO', '# Executing command: npm run build'],
    ['INFO', `> ${pkg}@1.${rng.int(0, 9)}.${rng.int(0, 20)} build`],
    ['INFO', `> ${command || 'npm run build'}`],
  ];
  if (command.startsWith('next')) {
    lines.push(
      ['INFO', '  ▲ Next.js 14.2.5'],
      ['INFO', '   Creating an optimized production build ...'],
    );
  } else if (command.startsWith('astro')) {
    lines.push(['INFO', '[build] output: "static"'], ['INFO', '[build] Collecting build info...']);
  } else {
    lines.push(['INFO', `vite v5.4.8 building for production...`], ['INFO', 'transforming...']);
  }
  if (failed) {
    lines.push(
      ['ERROR', '!!! Build failed'],
      ['ERROR', `!!! ${reason ?? 'Build failed'}`],
      ['ERROR', '!!! Error: Command failed with exit code 1'],
      ['INFO', '# Starting environment caching...'],
      ['INFO', '# Uploading environment cache artifact...'],
      ['INFO', '# Uploaded environment cache artifact'],
      ['INFO', '# Environment caching completed'],
    );
    return lines;
  }
  lines.push(
    ['INFO', ` ✓ Compiled successfully in ${rng.int(8, 70)}s`],
    ['INFO', ` ✓ Generating static pages (${rng.int(8, 80)}/${rng.int(80, 90)})`],
    ['INFO', '# Completed phase: build'],
    ['INFO', '## Completed Frontend Build'],
    ['INFO', '## Build completed successfully'],
    ['INFO', '# Starting caching...'],
    ['INFO', '# Creating cache artifact...'],
    ['INFO', `# Created cache artifact (${rng.int(40, 400)} MB)`],
    ['INFO', '# Uploading cache artifact...'],
    ['INFO', '# Uploaded cache artifact'],
    ['INFO', '# Caching completed'],
  );
  return lines;
}

function testLines(job: JobRecord, failed: boolean, reason: string | undefined): Line[] {
  const specs = testSpecsOf(job);
  const lines: Line[] = [
    ['INFO', '# Starting phase: preTest'],
    ['INFO', '# Executing command: npm ci'],
    ['INFO', '# Executing command: npx wait-on http://localhost:3000'],
    ['INFO', '# Completed phase: preTest'],
    ['INFO', '# Starting phase: test'],
    ['INFO', '# Executing command: npx cypress run --reporter mochawesome'],
  ];
  specs.forEach((spec, index) => {
    lines.push(['INFO', `  Running:  ${spec}  (${index + 1} of ${specs.length})`]);
    const bad = failed && index === specs.length - 1;
    lines.push([
      bad ? 'ERROR' : 'INFO',
      bad ? `    1) ${spec} fails an assertion` : `    ✓ ${spec} passes`,
    ]);
  });
  if (failed) {
    lines.push(['ERROR', `!!! ${reason ?? 'Test failed'}`]);
    return lines;
  }
  lines.push(
    ['INFO', '  ✔  All specs passed!'],
    ['INFO', '# Completed phase: test'],
    ['INFO', '# Starting phase: postTest'],
    [
      'INFO',
      '# Executing command: npx mochawesome-merge cypress/report/mochawesome-report/mochawesome*.json > cypress/report/mochawesome.json',
    ],
    ['INFO', '# Completed phase: postTest'],
  );
  return lines;
}

function deployLines(
  job: JobRecord,
  seed: string,
  failed: boolean,
  reason: string | undefined,
): Line[] {
  const rng = rngFor(seed, 'log', job.jobArn, 'DEPLOY');
  const app = job.branch.app;
  const lines: Line[] = [['INFO', 'Starting Deployment']];
  if (job.sourceUrl !== undefined) {
    lines.push(
      ['INFO', `Manual deployment from ${job.sourceUrl} (${job.sourceUrlType ?? 'ZIP'})`],
      ['INFO', `Downloading source: ${rng.int(2, 80)} MB`],
    );
  } else {
    lines.push(['INFO', `Retrieving build artifacts (${rng.int(2, 120)} MB)`]);
  }
  lines.push(['INFO', `Uploading ${rng.int(40, 2400)} files to the hosting origin`]);
  if (app.platform === 'WEB_COMPUTE') lines.push(['INFO', 'Deploying SSR compute bundle']);
  if (failed) {
    lines.push(['ERROR', `!!! ${reason ?? 'Deployment failed'}`]);
    return lines;
  }
  lines.push(['INFO', 'Invalidating cache for /*'], ['INFO', 'Deployment complete']);
  return lines;
}

function verifyLines(job: JobRecord, failed: boolean, reason: string | undefined): Line[] {
  const host = `https://${job.branch.displayName}.${job.branch.app.appId}.amplifyapp.com`;
  const lines: Line[] = [['INFO', `Starting verification of ${host}`]];
  if (failed) {
    lines.push(['ERROR', `!!! ${reason ?? 'Verification failed'}`]);
    return lines;
  }
  lines.push(
    ['INFO', 'Taking screenshot: desktop.png (1920x1080)'],
    ['INFO', 'Taking screenshot: tablet.png (768x1024)'],
    ['INFO', 'Taking screenshot: mobile.png (375x667)'],
    ['INFO', 'Verification complete'],
  );
  return lines;
}

/** The log text of `step` as it stands at virtual instant `now`. */
export function stepLog(seed: string, job: JobRecord, step: DerivedStep, now: number): string {
  const plan = step.plan;
  const failed = plan.outcome === 'FAILED';
  const reason = plan.statusReason;
  let lines: Line[];
  switch (step.name) {
    case 'BUILD':
      lines = buildLines(job, seed, failed, reason);
      break;
    case 'TEST':
      lines = testLines(job, failed, reason);
      break;
    case 'DEPLOY':
      lines = deployLines(job, seed, failed, reason);
      break;
    case 'VERIFY':
      lines = verifyLines(job, failed, reason);
      break;
  }
  const span = Math.max(1, plan.endAt - plan.startAt);
  const cutoff =
    job.cancel !== undefined && now >= job.cancel.requestedAt ? job.cancel.requestedAt : now;
  const out: string[] = [];
  const last = Math.max(1, lines.length - 1);
  for (let i = 0; i < lines.length; i++) {
    const at = plan.startAt + Math.floor((span * i) / last);
    if (at > cutoff) break;
    const [level, text] = lines[i]!;
    out.push(`${new Date(at).toISOString()} [${level}]: ${text}`);
  }
  if (step.status === 'CANCELLING' || step.status === 'CANCELLED') {
    out.push(`${new Date(cutoff).toISOString()} [WARNING]: !!! ${CANCELLED_REASON}`);
  }
  return `${out.join('\n')}\n`;
}

/** The size the `hugeLog` quirk job's BUILD log reaches at least: 5 MiB. */
export const HUGE_LOG_MIN_BYTES = 5 * 1024 * 1024;

const hugeLogs = new WeakMap<JobRecord, Buffer>();

/**
 * The BUILD log of the `hugeLog` quirk job: the usual build log with a bundler's per-module output
 * in the middle, about 40,000 lines and at least HUGE_LOG_MIN_BYTES bytes of deterministic text.
 * Built once per job and kept, so repeated downloads cost no CPU. `step` must be that job's
 * finished BUILD step.
 */
export function hugeBuildLog(seed: string, job: JobRecord, step: DerivedStep): Buffer {
  const cached = hugeLogs.get(job);
  if (cached !== undefined) return cached;
  const rng = rngFor(seed, 'huge-log', job.jobArn);
  const lines = buildLines(job, seed, false, undefined);
  // Splice the module lines in after the bundler's banner, before "Compiled successfully".
  const at = lines.findIndex(([, text]) => text.startsWith(' \u2713 Compiled'));
  const head = lines.slice(0, at < 0 ? lines.length : at);
  const tail = at < 0 ? [] : lines.slice(at);
  const folders = [
    'components',
    'pages',
    'lib',
    'hooks',
    'styles',
    'features/cart',
    'features/search',
  ];
  const modules: Line[] = [];
  let bytes = 0;
  for (let i = 1; bytes < HUGE_LOG_MIN_BYTES; i++) {
    const folder = folders[i % folders.length];
    const kib = (rng.int(2, 9_999) / 100).toFixed(2);
    const text = `[build] transformed module ${String(i).padStart(6, '0')} ./src/${folder}/module-${String(i).padStart(6, '0')}.tsx (${kib} KiB)`;
    modules.push(['INFO', text]);
    // 24 characters of timestamp, " [INFO]: ", the text and a newline.
    bytes += 24 + 9 + Buffer.byteLength(text) + 1;
  }
  const all = [...head, ...modules, ...tail];
  const plan = step.plan;
  const span = Math.max(1, plan.endAt - plan.startAt);
  const out: string[] = [];
  for (let i = 0; i < all.length; i++) {
    const [level, text] = all[i]!;
    const when = plan.startAt + Math.floor((span * i) / (all.length - 1));
    out.push(`${new Date(when).toISOString()} [${level}]: ${text}`);
  }
  const body = Buffer.from(`${out.join('\n')}\n`);
  hugeLogs.set(job, body);
  return body;
}
