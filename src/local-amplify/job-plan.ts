/**
 * Plans a job's whole timeline up front (phases, steps, outcome) from a seeded Rng. Reads later
 * derive the state at any instant from this plan (job-state.ts).
 */
import { BUILD_IMAGES, FAILURE_REASONS } from './catalog.js';
import type { Outcome, StepName, StepPlan } from './model.js';
import type { Rng } from './random.js';

const SECOND = 1000;

export interface TimelineOptions {
  readonly createdAt: number;
  readonly stepNames: readonly StepName[];
  readonly outcome: Outcome;
  /** SSR builds take longer. */
  readonly slowBuild: boolean;
  /** Length of the CREATED phase; 0 means the job is PENDING as soon as it exists. */
  readonly createdMs?: number;
  readonly pendingMs?: number;
  readonly provisioningMs?: number;
}

export interface Timeline {
  readonly createdAt: number;
  readonly pendingAt: number;
  readonly provisioningAt: number;
  readonly runningAt: number;
  readonly steps: StepPlan[];
  readonly endAt: number;
  readonly outcome: Outcome;
}

export function stepNamesFor(app: { manualDeploy: boolean; hasTests: boolean }): StepName[] {
  if (app.manualDeploy) return ['DEPLOY', 'VERIFY'];
  return app.hasTests ? ['BUILD', 'TEST', 'DEPLOY', 'VERIFY'] : ['BUILD', 'DEPLOY', 'VERIFY'];
}

const FAIL_WEIGHT: Readonly<Record<StepName, number>> = {
  BUILD: 6,
  TEST: 3,
  DEPLOY: 1.5,
  VERIFY: 0.5,
};

function stepDuration(rng: Rng, name: StepName, slowBuild: boolean, manual: boolean): number {
  switch (name) {
    case 'BUILD':
      return slowBuild ? rng.int(90 * SECOND, 260 * SECOND) : rng.int(45 * SECOND, 150 * SECOND);
    case 'TEST':
      return rng.int(40 * SECOND, 140 * SECOND);
    case 'DEPLOY':
      return manual ? rng.int(9 * SECOND, 25 * SECOND) : rng.int(12 * SECOND, 45 * SECOND);
    case 'VERIFY':
      // The one real manual-deploy sample had a 21 ms VERIFY step.
      return rng.int(20, 6 * SECOND);
  }
}

export function planTimeline(rng: Rng, options: TimelineOptions): Timeline {
  const { createdAt, stepNames, outcome } = options;
  const manual = !stepNames.includes('BUILD');
  const pendingAt = createdAt + (options.createdMs ?? rng.int(400, 3 * SECOND));
  const provisioningAt = pendingAt + (options.pendingMs ?? rng.int(2 * SECOND, 9 * SECOND));
  const runningAt = provisioningAt + (options.provisioningMs ?? rng.int(8 * SECOND, 35 * SECOND));

  let failIndex = -1;
  if (outcome === 'FAILED') {
    const weights: Record<string, number> = {};
    for (const name of stepNames) weights[name] = FAIL_WEIGHT[name];
    const failing = rng.weighted(weights);
    failIndex = stepNames.indexOf(failing as StepName);
  }

  const steps: StepPlan[] = [];
  let cursor = runningAt;
  for (let i = 0; i < stepNames.length; i++) {
    const name = stepNames[i]!;
    const startAt = cursor;
    const full = stepDuration(rng, name, options.slowBuild, manual);
    const failsHere = i === failIndex;
    const endAt =
      startAt + (failsHere ? Math.max(15, Math.floor(full * (0.2 + rng.next() * 0.7))) : full);
    steps.push({
      name,
      startAt,
      endAt,
      outcome: failsHere ? 'FAILED' : 'SUCCEED',
      ...(failsHere ? { statusReason: rng.pick(FAILURE_REASONS[name]) } : {}),
      ...(name === 'BUILD' ? { context: rng.pick(BUILD_IMAGES) } : {}),
    });
    cursor = endAt + rng.int(150, 1500);
    if (failsHere) break;
  }
  const last = steps[steps.length - 1];
  const endAt = last === undefined ? runningAt : last.endAt + rng.int(50, 900);
  return { createdAt, pendingAt, provisioningAt, runningAt, steps, endAt, outcome };
}

/** Moves every instant of a timeline by `deltaMs`. */
export function shiftTimeline(timeline: Timeline, deltaMs: number): Timeline {
  return {
    createdAt: timeline.createdAt + deltaMs,
    pendingAt: timeline.pendingAt + deltaMs,
    provisioningAt: timeline.provisioningAt + deltaMs,
    runningAt: timeline.runningAt + deltaMs,
    steps: timeline.steps.map((s) => ({
      ...s,
      startAt: s.startAt + deltaMs,
      endAt: s.endAt + deltaMs,
    })),
    endAt: timeline.endAt + deltaMs,
    outcome: timeline.outcome,
  };
}
