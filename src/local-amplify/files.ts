/**
 * Downloads behind the URLs the emulator puts in steps (logUrl, artifactsUrl, testArtifactsUrl,
 * testConfigUrl, screenshots), branch thumbnails and GetArtifactUrl. A file exists only once its
 * step has produced it at the current virtual time, like a real presigned URL would.
 */
import { screenshotPng, storedZip } from './binary-files.js';
import { hugeBuildLog, stepLog } from './build-logs.js';
import { type DerivedStep, deriveJob } from './job-state.js';
import type { JobRecord } from './model.js';
import { rngFor } from './random.js';
import { testSpecsOf } from './wire.js';
import type { World } from './world.js';

export interface FileResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
}

function missing(what: string): FileResponse {
  return {
    status: 404,
    contentType: 'text/plain; charset=utf-8',
    body: Buffer.from(`Not found: ${what}\n`),
  };
}

function found(contentType: string, body: Buffer | string): FileResponse {
  return { status: 200, contentType, body: typeof body === 'string' ? Buffer.from(body) : body };
}

/** A file response after the request's `Range` header, ready to write. */
export interface RangedResponse extends FileResponse {
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Applies a `Range: bytes=...` request header (RFC 9110 §14) to a found file, so a client can read
 * part of a large log. One satisfiable range gives 206 with `Content-Range`; a range that starts
 * past the end gives 416 with a `Content-Range` that names only the size; no header, several
 * ranges or a header that does not parse give the whole file (200), as the RFC allows. 404s pass
 * unchanged.
 */
export function withRange(file: FileResponse, range: string | undefined): RangedResponse {
  if (file.status !== 200) return { ...file, headers: {} };
  const whole: RangedResponse = { ...file, headers: { 'Accept-Ranges': 'bytes' } };
  const match = range === undefined ? null : /^\s*bytes=(\d*)-(\d*)\s*$/.exec(range);
  if (match === null || (match[1] === '' && match[2] === '')) return whole;
  const size = file.body.length;
  let first: number;
  let last: number;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return unsatisfiable(file.contentType, size);
    first = Math.max(0, size - suffix);
    last = size - 1;
  } else {
    first = Number(match[1]);
    last = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
    if (match[2] !== '' && Number(match[2]) < first) return whole;
  }
  if (first >= size) return unsatisfiable(file.contentType, size);
  return {
    status: 206,
    contentType: file.contentType,
    body: file.body.subarray(first, last + 1),
    headers: { 'Accept-Ranges': 'bytes', 'Content-Range': `bytes ${first}-${last}/${size}` },
  };
}

function unsatisfiable(contentType: string, size: number): RangedResponse {
  return {
    status: 416,
    contentType,
    body: Buffer.alloc(0),
    headers: { 'Content-Range': `bytes */${size}` },
  };
}

function decodeAll(segments: readonly string[]): string[] | undefined {
  try {
    return segments.map((s) => (s.includes('%') ? decodeURIComponent(s) : s));
  } catch {
    return undefined;
  }
}

function findJob(
  world: World,
  appId: string,
  branchName: string,
  jobId: string,
): JobRecord | undefined {
  try {
    return world.job(appId, branchName, jobId);
  } catch {
    return undefined;
  }
}

function hueOf(text: string): number {
  return Math.floor(rngFor('hue', text).next() * 360);
}

function stepOf(job: JobRecord, name: string, now: number): DerivedStep | undefined {
  return deriveJob(job, now).steps.find((s) => s.name === name);
}

function testConfigYaml(job: JobRecord): string {
  const specs = testSpecsOf(job);
  return [
    'test:',
    '  phases:',
    '    preTest:',
    '      commands:',
    '        - npm ci',
    '        - npx wait-on http://localhost:3000',
    '    test:',
    '      commands:',
    '        - \'npx cypress run --reporter mochawesome --reporter-options "reportDir=cypress/report/mochawesome-report,overwrite=false,html=false,json=true"\'',
    '    postTest:',
    '      commands:',
    '        - npx mochawesome-merge cypress/report/mochawesome-report/mochawesome*.json > cypress/report/mochawesome.json',
    '  artifacts:',
    '    baseDirectory: cypress',
    '    configFilePath: "**/mochawesome.json"',
    '    files:',
    '      - "**/*.png"',
    '      - "**/*.mp4"',
    `# specs: ${specs.join(', ')}`,
    '',
  ].join('\n');
}

const SIGV4_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * S3's answer to a presigned URL past its expiry: 403 AccessDenied, "Request has expired". Only
 * the emulator's own URLs given a SigV4 expiry by a test (`X-Amz-Date` + `X-Amz-Expires`, e.g.
 * through the corrupt fault's logUrl variant) can expire; its plain URLs never do. `now` is the
 * virtual clock; `null` when the URL has not expired.
 */
export function expiredPresignedUrl(query: string, now: number): FileResponse | null {
  const params = new URLSearchParams(query);
  const date = SIGV4_DATE.exec(params.get('X-Amz-Date') ?? '');
  const seconds = Number(params.get('X-Amz-Expires') ?? Number.NaN);
  if (date === null || !Number.isInteger(seconds)) return null;
  const [y, mo, d, h, mi, s] = date.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (now <= Date.UTC(y, mo - 1, d, h, mi, s) + seconds * 1000) return null;
  return {
    status: 403,
    contentType: 'application/xml',
    body: Buffer.from(
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>\n',
    ),
  };
}

/** `segments` are the raw (still percent-encoded) path segments after `/_files/`. */
export function serveFile(world: World, now: number, segments: readonly string[]): FileResponse {
  const parts = decodeAll(segments);
  if (parts === undefined) return missing('malformed path');
  const [kind, ...rest] = parts;
  const seed = world.config.seed;

  if (kind === 'thumbnails' && rest.length === 2 && rest[1]!.endsWith('.png')) {
    const [appId, file] = rest as [string, string];
    const branchName = file.slice(0, -'.png'.length);
    try {
      world.branch(appId, branchName);
    } catch {
      return missing('branch');
    }
    return found('image/png', screenshotPng(hueOf(`${appId}/${branchName}`), 160, 100));
  }

  if (kind === 'artifact' && rest.length === 1) {
    const artifact = world.artifacts.get(rest[0]!);
    if (artifact === undefined) return missing('artifact');
    const test = stepOf(artifact.job, 'TEST', now);
    if (test === undefined || !test.completed)
      return missing('artifact (its TEST step has not finished)');
    const name = artifact.artifactFileName;
    if (name.endsWith('.png')) return found('image/png', screenshotPng(hueOf(name)));
    if (name.endsWith('.json')) {
      const specs = testSpecsOf(artifact.job);
      return found(
        'application/json',
        JSON.stringify({
          stats: { suites: specs.length, tests: specs.length * 3, passes: specs.length * 3 },
        }),
      );
    }
    // Not a playable video: a labelled placeholder with an MP4 `ftyp` box so sniffers agree.
    const header = Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d]);
    return found(
      'video/mp4',
      Buffer.concat([header, Buffer.from(`local-amplify placeholder ${name}\n`)]),
    );
  }

  if (rest.length < 4) return missing(kind ?? 'file');
  const [appId, branchName, jobId, stepFile, extra] = rest as [
    string,
    string,
    string,
    string,
    string?,
  ];
  const job = findJob(world, appId, branchName, jobId);
  if (job === undefined) return missing('job');

  switch (kind) {
    case 'logs': {
      if (!stepFile.endsWith('.log')) break;
      const step = stepOf(job, stepFile.slice(0, -'.log'.length), now);
      if (step === undefined) return missing('log (step has not started)');
      if (job.quirk === 'hugeLog' && step.name === 'BUILD' && step.completed) {
        return found('text/plain; charset=utf-8', hugeBuildLog(seed, job, step));
      }
      return found('text/plain; charset=utf-8', stepLog(seed, job, step, now));
    }
    case 'artifacts': {
      if (!stepFile.endsWith('.zip')) break;
      const step = stepOf(job, stepFile.slice(0, -'.zip'.length), now);
      if (step === undefined || !step.completed)
        return missing('artifacts (step has not finished)');
      const html = `<!doctype html><title>${job.branch.app.name}</title><p>Build ${job.jobId} of ${job.branch.branchName} (${job.commitId})</p>\n`;
      const zip = storedZip(
        [
          { name: 'index.html', data: Buffer.from(html) },
          {
            name: 'build-info.json',
            data: Buffer.from(JSON.stringify({ jobArn: job.jobArn, commitId: job.commitId })),
          },
        ],
        step.plan.endAt,
      );
      return found('application/zip', zip);
    }
    case 'test-artifacts':
    case 'test-config': {
      const step = stepOf(job, 'TEST', now);
      if (step === undefined || !step.completed)
        return missing('test output (TEST has not finished)');
      if (kind === 'test-config') return found('application/x-yaml', testConfigYaml(job));
      const entries = job.artifacts
        .filter((a) => !a.artifactFileName.endsWith('.mp4'))
        .map((a) => ({ name: a.artifactFileName, data: Buffer.from(`${a.artifactId}\n`) }));
      return found('application/zip', storedZip(entries, step.plan.endAt));
    }
    case 'screenshots': {
      if (extra === undefined) break;
      const step = stepOf(job, stepFile, now);
      if (step === undefined || !step.completed)
        return missing('screenshot (step has not finished)');
      return found('image/png', screenshotPng(hueOf(`${job.jobArn}/${stepFile}/${extra}`)));
    }
    default:
      break;
  }
  return missing('file');
}
