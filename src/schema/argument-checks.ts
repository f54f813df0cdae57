/**
 * Range checks of field arguments that the schema's types cannot express, in one place: the
 * resolvers throw them (BAD_USER_INPUT), and the upstream-call estimate reports them before the
 * operation runs, so an out-of-range argument anywhere in an operation is refused before any
 * Amplify call, not after its parents have been read.
 */
import { LIST_FIELD_COSTS, type ListField } from './list-costs.js';

/** Most lines `Step.log(tailLines)` accepts: far more than a screen, far less than abuse. */
export const MAX_TAIL_LINES = 100_000;

/** The problem with a list field's `first` (already defaulted), or null when it is in range. */
export function firstProblem(field: ListField, first: number): string | null {
  const cost = LIST_FIELD_COSTS[field];
  if (Number.isInteger(first) && first >= 1 && first <= cost.maxSize) return null;
  return `first must be from 1 to ${cost.maxSize} for ${field} (Amplify's ${cost.operation} returns at most ${cost.maxSize} per call); got ${first}.`;
}

/** The problem with `Step.log(tailLines)` (null: not given), or null when it is in range. */
export function tailLinesProblem(tailLines: number | null): string | null {
  if (tailLines === null || (tailLines >= 1 && tailLines <= MAX_TAIL_LINES)) return null;
  return `tailLines must be from 1 to ${MAX_TAIL_LINES} (got ${tailLines}).`;
}
