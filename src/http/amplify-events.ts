/**
 * `POST /events/amplify`: Amplify's EventBridge events ("Amplify Deployment Status Change"), as an
 * EventBridge API destination sends them, so live subscribers hear of a build's start and end at
 * once instead of at the next poll. Not a GraphQL route: it sits before Yoga, with its own
 * authentication (a shared secret in `x-amplify-events-secret`, compared in constant time).
 *
 * In order: wrong method 405; missing or wrong secret 401; a body that is not such an event 400;
 * an event id already seen (EventBridge delivers at least once) 200 `duplicate`; otherwise 202 at
 * once, then the live hub is told: if any replica watches the job, ONE of them reads it fresh
 * (around the cache, through the single-flight) and every subscriber in the cluster hears of the
 * change; an event about a job nobody watches costs nothing. Nothing is read for a refused
 * request. The event is a hint to read the job now, never the job itself: its status is not
 * trusted for anything.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Claims } from '../live/coordination.js';
import type { LiveJobs } from '../live/live-jobs.js';
import { jobKeyProblems } from '../upstream/keys.js';
import { BodyTooLargeError, readBody } from './request-body.js';
import { sameSecret } from './secrets.js';

export const EVENTS_PATH = '/events/amplify';
export const EVENTS_SECRET_HEADER = 'x-amplify-events-secret';

/** How long an event id is remembered: EventBridge retries for up to 24 h, mostly within minutes. */
const SEEN_EVENT_TTL_MS = 15 * 60_000;

const AmplifyEvent = z.object({
  id: z.string().min(1).max(256),
  source: z.literal('aws.amplify'),
  'detail-type': z.literal('Amplify Deployment Status Change'),
  detail: z.object({
    appId: z.string(),
    branchName: z.string(),
    jobId: z.string(),
    // STARTED, SUCCEED, FAILED documented; other status names are accepted (they only hint).
    jobStatus: z.string().regex(/^[A-Z_]{1,32}$/),
  }),
});

export interface AmplifyEventReceiverOptions {
  secret: string;
  live: LiveJobs;
  claims: Claims;
  maxBodyBytes: number;
  log: Logger;
  /** Told of each answer (metrics). */
  onOutcome?: (outcome: 'accepted' | 'duplicate' | 'rejected' | 'unauthorized') => void;
}

export interface AmplifyEventReceiver {
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** Counters for tests and logs. */
  stats(): { accepted: number; duplicates: number; rejected: number; unauthorized: number };
  /** Waits for the refreshes still running. */
  close(): Promise<void>;
}

function reply(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
  res.end(payload);
}

export function createAmplifyEventReceiver(
  options: AmplifyEventReceiverOptions,
): AmplifyEventReceiver {
  const { log } = options;
  const counters = { accepted: 0, duplicates: 0, rejected: 0, unauthorized: 0 };
  const rejected = () => {
    counters.rejected += 1;
    options.onOutcome?.('rejected');
  };
  const refreshing = new Set<Promise<unknown>>();

  async function receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body: Buffer;
    try {
      body = await readBody(req, options.maxBodyBytes);
    } catch (error) {
      if (!(error instanceof BodyTooLargeError)) throw error;
      rejected();
      reply(res, 413, { error: `The event is larger than ${options.maxBodyBytes} bytes.` });
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      rejected();
      reply(res, 400, { error: 'The body is not JSON.' });
      return;
    }
    const parsed = AmplifyEvent.safeParse(json);
    if (!parsed.success) {
      rejected();
      const problems = parsed.error.issues.map(
        (i) => `${i.path.join('.') || 'body'}: ${i.message}`,
      );
      reply(res, 400, {
        error: 'Not an "Amplify Deployment Status Change" event from aws.amplify.',
        problems,
      });
      return;
    }
    const { id, detail } = parsed.data;
    const key = { appId: detail.appId, branchName: detail.branchName, jobId: detail.jobId };
    const keyProblems = jobKeyProblems(key);
    if (keyProblems.length > 0) {
      rejected();
      reply(res, 400, { error: 'The event names no valid job.', problems: keyProblems });
      return;
    }
    if (!(await options.claims.claim(`event:${id}`, SEEN_EVENT_TTL_MS))) {
      counters.duplicates += 1;
      options.onOutcome?.('duplicate');
      reply(res, 200, { status: 'duplicate', id });
      return;
    }
    counters.accepted += 1;
    options.onOutcome?.('accepted');
    reply(res, 202, { status: 'accepted', id });
    log.debug({ eventId: id, job: key, jobStatus: detail.jobStatus }, 'Amplify event received');
    const notified = options.live.notify(key, id);
    refreshing.add(notified);
    void notified.finally(() => refreshing.delete(notified));
  }

  return {
    handle(req, res) {
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        reply(res, 405, { error: 'POST an EventBridge event here.' });
        req.resume();
        return;
      }
      const given = req.headers[EVENTS_SECRET_HEADER];
      if (typeof given !== 'string' || !sameSecret(given, options.secret)) {
        counters.unauthorized += 1;
        options.onOutcome?.('unauthorized');
        reply(res, 401, { error: `Missing or wrong ${EVENTS_SECRET_HEADER} header.` });
        req.resume();
        return;
      }
      receive(req, res).catch((error: unknown) => {
        log.error({ err: error }, 'Amplify event receiver failed');
        if (!res.headersSent) reply(res, 500, { error: 'Unexpected error.' });
        else res.destroy();
      });
    },
    stats: () => ({ ...counters }),
    async close() {
      await Promise.allSettled([...refreshing]);
    },
  };
}
