/**
 * The control surface under /_local/: stats, faults, clock, world inspection and new branches, for
 * tests and demos. It is deliberately outside the Amplify routes (/apps, /artifacts), is never
 * counted as an Amplify call, and is unaffected by faults and signature checks.
 */
import type { VirtualClock } from './clock.js';
import { AmplifyError } from './errors.js';
import {
  EVENT_STATUS_MODES,
  type EventPublisher,
  type EventStatusMode,
  eventTargetProblems,
} from './events.js';
import { type FaultEngine, type FaultRule, parseFaultSpec, validateFaultRule } from './faults.js';
import type { StatsRecorder } from './stats.js';
import { toEpochSeconds } from './wire.js';
import type { World } from './world.js';

export interface ControlTarget {
  readonly world: World;
  readonly clock: VirtualClock;
  readonly faults: FaultEngine;
  readonly stats: StatsRecorder;
  readonly events: EventPublisher;
  readonly url: () => string;
  readonly signaturesRequired: () => boolean;
}

export interface ControlResponse {
  readonly status: number;
  readonly body: unknown;
}

const ok = (body: unknown): ControlResponse => ({ status: 200, body });
const problem = (status: number, message: string): ControlResponse => ({
  status,
  body: { message },
});

function parseBody(body: Buffer): { ok: true; value: unknown } | { ok: false } {
  if (body.length === 0) return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(body.toString('utf8')) };
  } catch {
    return { ok: false };
  }
}

function clockState(target: ControlTarget) {
  const now = target.clock.nowMs();
  return {
    now: new Date(now).toISOString(),
    nowEpochSeconds: toEpochSeconds(now),
    speed: target.clock.speed,
  };
}

/** Builds the rules a POST /_local/faults body describes: a rule, an array, or CLI specs. */
function rulesFrom(value: unknown): FaultRule[] {
  if (Array.isArray(value)) return value.flatMap(rulesFrom);
  if (typeof value === 'string') return [parseFaultSpec(value)];
  if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    if (typeof object.spec === 'string') return [parseFaultSpec(object.spec)];
    if (Array.isArray(object.specs)) return object.specs.flatMap(rulesFrom);
    if (Array.isArray(object.rules)) return object.rules.flatMap(rulesFrom);
  }
  return [value as FaultRule];
}

/** POST /_local/events/target: `{ url, headers?, statuses? }`; nothing changes on a 400. */
function setEventTarget(events: EventPublisher, input: unknown): ControlResponse {
  const { statuses, ...target } = (input ?? {}) as { statuses?: unknown };
  const problems = eventTargetProblems(target);
  if (statuses !== undefined && !(EVENT_STATUS_MODES as readonly unknown[]).includes(statuses)) {
    problems.push(`statuses must be one of ${EVENT_STATUS_MODES.join(', ')}`);
  }
  if (problems.length > 0) return problem(400, problems.join('; '));
  if (statuses !== undefined) events.setStatuses(statuses as EventStatusMode);
  events.setTarget(target as { url: string; headers?: Record<string, string> });
  return ok(events.snapshot());
}

export function handleControl(
  target: ControlTarget,
  method: string,
  path: string,
  query: ReadonlyMap<string, string>,
  body: Buffer,
): ControlResponse {
  const route = path.slice('/_local/'.length);
  const parsed = parseBody(body);
  if (!parsed.ok) return problem(400, 'The request body is not valid JSON');
  const input = parsed.value;

  if (route === 'health' && method === 'GET') {
    return ok({
      status: 'ok',
      service: 'local-amplify',
      url: target.url(),
      seed: target.world.config.seed,
      region: target.world.config.region,
      accountId: target.world.config.accountId,
      signaturesRequired: target.signaturesRequired(),
      clock: clockState(target),
    });
  }
  if (route === 'stats' && method === 'GET') return ok(target.stats.snapshot());
  if (route === 'stats/reset' && method === 'POST') {
    target.stats.reset();
    return ok(target.stats.snapshot());
  }
  if (route === 'faults') {
    if (method === 'GET') return ok({ faults: target.faults.list() });
    if (method === 'DELETE') {
      target.faults.clear();
      return ok({ faults: [] });
    }
    if (method === 'POST') {
      try {
        const rules = rulesFrom(input);
        // Validate all before adding any, so a bad batch changes nothing.
        for (const rule of rules) validateFaultRule(rule);
        return ok({
          ids: rules.map((rule) => target.faults.add(rule)),
          faults: target.faults.list(),
        });
      } catch (error) {
        return problem(400, error instanceof Error ? error.message : String(error));
      }
    }
  }
  if (route.startsWith('faults/') && method === 'DELETE') {
    const id = decodeURIComponent(route.slice('faults/'.length));
    return target.faults.remove(id) ? ok({ removed: id }) : problem(404, `No fault rule ${id}`);
  }
  if (route === 'clock') {
    if (method === 'GET') return ok(clockState(target));
    if (method === 'POST') {
      const { advanceMs, speed } = (input ?? {}) as { advanceMs?: unknown; speed?: unknown };
      try {
        if (speed !== undefined) target.clock.setSpeed(Number(speed));
        if (advanceMs !== undefined) target.clock.advance(Number(advanceMs));
      } catch (error) {
        return problem(400, error instanceof Error ? error.message : String(error));
      }
      // Jobs may have moved: their events are queued before this answer goes out.
      target.events.scan();
      return ok(clockState(target));
    }
  }
  if (route === 'events' && method === 'GET') return ok(target.events.snapshot());
  if (route === 'events/target') {
    if (method === 'POST') return setEventTarget(target.events, input);
    if (method === 'DELETE') {
      target.events.clearTarget();
      return ok(target.events.snapshot());
    }
  }
  if (route === 'events/scan' && method === 'POST') return ok({ queued: target.events.scan() });
  if (route === 'events/reset' && method === 'POST') {
    target.events.reset();
    return ok(target.events.snapshot());
  }
  if (route === 'world' && method === 'GET') {
    const now = target.clock.nowMs();
    return ok({
      seed: target.world.config.seed,
      region: target.world.config.region,
      accountId: target.world.config.accountId,
      clock: clockState(target),
      apps: target.world.apps.map((app) => ({
        appId: app.appId,
        name: app.name,
        platform: app.platform,
        branches: app.branchList.map((branch) => ({
          branchName: branch.branchName,
          stage: branch.stage,
          jobs: branch.jobs.length,
          newestJobId: branch.jobs[branch.jobs.length - 1]?.jobId,
        })),
      })),
      quirkJobs: target.world.quirkJobs(),
      activeApiJobs: target.world.activeApiJobs(now),
      concurrentJobsLimit: target.world.concurrentJobsLimit,
    });
  }
  if (route === 'branches' && method === 'POST') {
    const { appId, branchName } = (input ?? {}) as { appId?: unknown; branchName?: unknown };
    if (typeof appId !== 'string' || typeof branchName !== 'string') {
      return problem(400, 'Send { "appId": "...", "branchName": "..." }');
    }
    try {
      const branch = target.world.addBranch(appId, branchName, target.clock.nowMs());
      return ok({ appId, branchName: branch.branchName, branchArn: branch.branchArn });
    } catch (error) {
      if (error instanceof AmplifyError) return problem(error.status, error.message);
      throw error;
    }
  }
  if (route === 'jobs' && method === 'GET') {
    const filter = Object.fromEntries(
      ['status', 'jobType', 'appId', 'branchName'].flatMap((key) => {
        const value = query.get(key);
        return value === undefined ? [] : [[key, value]];
      }),
    );
    return ok({ jobs: target.world.listJobKeys(target.clock.nowMs(), filter) });
  }
  return problem(404, `No control route ${method} /_local/${route}`);
}
