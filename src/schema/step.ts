import { ErrorCode, GatewayError } from '../errors.js';
import {
  isTerminalStatus,
  type JobKey,
  type ScreenshotRecord,
  type StepRecord,
} from '../upstream/shapes.js';
import type { StepLogRecord } from '../upstream/step-log.js';
import { MAX_TAIL_LINES, tailLinesProblem } from './argument-checks.js';
import { builder } from './builder.js';
import { durationSeconds, lastLines } from './derived.js';
import { JobStatusEnum } from './enums.js';

/** A step as the schema resolves it: Amplify's step, and the job it belongs to. */
export interface StepParent extends StepRecord {
  job: JobKey;
}

/**
 * What `Step.log` reads at most by default (STEP_LOG_MAX_BYTES, STEP_LOG_TIMEOUT_MS in config.ts),
 * in the words of its GraphQL description; a test keeps them equal to the config's defaults.
 */
export const LOG_DEFAULTS_IN_WORDS = { maxBytes: '1 MiB', timeout: '10 seconds' } as const;

const INT_MAX = 2 ** 31 - 1;

interface StepLogShape {
  text: string;
  truncated: boolean;
  bytes: number;
}

/** A log's end, cut to its last `tailLines` lines when asked. */
export function toStepLog(record: StepLogRecord, tailLines: number | null): StepLogShape {
  const tail = tailLines === null ? null : lastLines(record.text, tailLines);
  return {
    text: tail?.text ?? record.text,
    truncated: record.truncated || (tail?.dropped ?? false),
    bytes: Math.min(record.totalBytes, INT_MAX),
  };
}

export const StepLogRef = builder.objectRef<StepLogShape>('StepLog').implement({
  description: `The end of a step's log as text, read by the gateway from the step's \`logUrl\`: at most its last ${LOG_DEFAULTS_IN_WORDS.maxBytes}, read within ${LOG_DEFAULTS_IN_WORDS.timeout} (the gateway's defaults; its operator can change both).`,
  fields: (t) => ({
    text: t.exposeString('text', {
      description:
        'The log as UTF-8 text: all of it, or its end when `truncated` (then starting at a whole line). Lines end with `\\n`.',
    }),
    truncated: t.exposeBoolean('truncated', {
      description: `The log holds more than \`text\`: it was longer than the gateway reads (its last ${LOG_DEFAULTS_IN_WORDS.maxBytes} by default), or \`tailLines\` dropped lines.`,
    }),
    bytes: t.exposeInt('bytes', {
      description:
        'Size of the whole log in bytes as stored, whether or not all of it is in `text` (2147483647 for logs of 2 GiB or more).',
    }),
  }),
});

export const ScreenshotRef = builder.objectRef<ScreenshotRecord>('Screenshot').implement({
  description: 'A screenshot taken during a verify or test step.',
  fields: (t) => ({
    name: t.exposeString('name', {
      description: 'What the screenshot shows, as Amplify names it (e.g. a device or page name).',
    }),
    url: t.expose('url', {
      type: 'URL',
      description:
        'Where to download the image. On AWS a presigned URL: it works for a limited time (see the `URL` scalar).',
    }),
  }),
});

export const StepRef = builder.objectRef<StepParent>('Step').implement({
  description:
    'One stage of a job, e.g. BUILD, DEPLOY, VERIFY or TEST. Steps appear as they start. Amplify sometimes omits members, so scalar fields can be null.',
  fields: (t) => ({
    stepName: t.exposeString('stepName', {
      nullable: true,
      description: "The step's name, such as `BUILD`, `DEPLOY`, `VERIFY` or `TEST`.",
    }),
    startTime: t.expose('startTime', {
      type: 'DateTime',
      nullable: true,
      description: 'When the step started.',
    }),
    status: t.expose('status', {
      type: JobStatusEnum,
      nullable: true,
      description: 'Where the step stands now.',
    }),
    endTime: t.expose('endTime', {
      type: 'DateTime',
      nullable: true,
      description: 'When the step ended; null while it is running.',
    }),
    logUrl: t.expose('logUrl', {
      type: 'URL',
      nullable: true,
      description:
        "A link to the step's log, a plain-text file. On AWS a presigned URL: it works for a limited time (see the `URL` scalar), so follow it soon, or read the log itself with `log`. Null when the step has no log.",
    }),
    artifactsUrl: t.expose('artifactsUrl', {
      type: 'URL',
      nullable: true,
      description:
        'A link to the build artifacts the step produced (a zip). On AWS a presigned URL that works for a limited time. Null when there are none.',
    }),
    testArtifactsUrl: t.expose('testArtifactsUrl', {
      type: 'URL',
      nullable: true,
      description:
        'A link to the test artifacts (a zip of e.g. Cypress reports and videos). On AWS a presigned URL that works for a limited time. Null when there are none.',
    }),
    testConfigUrl: t.expose('testConfigUrl', {
      type: 'URL',
      nullable: true,
      description:
        'A link to the test configuration the step used. On AWS a presigned URL that works for a limited time. Null when there is none.',
    }),
    screenshots: t.field({
      type: [ScreenshotRef],
      description: 'Screenshots taken during the step; empty for steps that take none.',
      resolve: (step) => step.screenshots,
    }),
    statusReason: t.exposeString('statusReason', {
      nullable: true,
      description: 'Why the step has its status, typically the error of a failed step.',
    }),
    context: t.exposeString('context', {
      nullable: true,
      description: 'Extra context from Amplify; for BUILD steps, the build image used.',
    }),
    durationSeconds: t.float({
      nullable: true,
      description:
        'How long the step took: `endTime` minus `startTime` once it has ended; while it runs, the seconds elapsed since `startTime` (measured when this request started). Null without a start time, or when it ended without an end time.',
      resolve: (step, _args, context) => {
        const seconds = durationSeconds(step.startTime, step.endTime, step.status, context.now);
        // Counted up to "now" (even in a finished job whose step was left RUNNING): never cached.
        if (seconds !== null && step.endTime === null) context.reads.changing();
        return seconds;
      },
    }),
    log: t.field({
      type: StepLogRef,
      nullable: true,
      description: `The step's log itself, read from \`logUrl\` by the gateway: its last ${LOG_DEFAULTS_IN_WORDS.maxBytes} at most, within ${LOG_DEFAULTS_IN_WORDS.timeout} (the gateway's defaults), and only from where Amplify keeps logs. Null when the step has no log. Costs one read of the log per step; the log of a finished step is cached, since it no longer changes. Errors: NOT_FOUND (no log yet), UPSTREAM_TIMEOUT, UPSTREAM_URL_REFUSED, UPSTREAM_UNAUTHORIZED and other UPSTREAM_* codes.`,
      args: {
        tailLines: t.arg.int({
          description: `Return only the last this many lines (1 to ${MAX_TAIL_LINES}). Omit for all the text read.`,
        }),
      },
      resolve: async (step, args, context) => {
        const tailLines = args.tailLines ?? null;
        const problem = tailLinesProblem(tailLines);
        if (problem !== null) throw new GatewayError(ErrorCode.BAD_USER_INPUT, problem);
        if (step.logUrl === null) return null;
        const record = await context.loaders.stepLog.load({
          url: step.logUrl,
          job: step.job,
          stepName: step.stepName,
          final: isTerminalStatus(step.status),
        });
        return toStepLog(record, tailLines);
      },
    }),
  }),
});
