/**
 * Opaque, tamper-evident page tokens: base64url(JSON cursor) + "." + truncated HMAC over the list
 * scope (operation and parent ids) and the payload. A token edited by hand, cut short, or taken
 * from another list is rejected with 400. Cursors are positions in a stable order (job numbers,
 * creation sequence), so jobs started or deleted mid-walk never make a page repeat or skip, and the
 * cursor always moves: the same non-empty token is never returned twice in a walk.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { badRequest } from './errors.js';

const MAC_BYTES = 16;

export class PageTokens {
  readonly #key: Buffer;

  constructor(key: Buffer) {
    this.#key = key;
  }

  #mac(scope: string, payload: string): Buffer {
    return createHmac('sha256', this.#key)
      .update(scope)
      .update('\u0000')
      .update(payload)
      .digest()
      .subarray(0, MAC_BYTES);
  }

  encode(scope: string, cursor: number): string {
    const payload = Buffer.from(JSON.stringify({ v: 1, c: cursor })).toString('base64url');
    return `${payload}.${this.#mac(scope, payload).toString('base64url')}`;
  }

  /** Returns the cursor, or throws BadRequestException for anything not minted for this scope. */
  decode(token: string, scope: string): number {
    const dot = token.indexOf('.');
    if (dot <= 0) throw invalid();
    const payload = token.slice(0, dot);
    const mac = Buffer.from(token.slice(dot + 1), 'base64url');
    const expected = this.#mac(scope, payload);
    if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) throw invalid();
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      throw invalid();
    }
    const cursor = (parsed as { c?: unknown } | null)?.c;
    if (typeof cursor !== 'number' || !Number.isSafeInteger(cursor)) throw invalid();
    return cursor;
  }
}

function invalid(): Error {
  return badRequest('Invalid nextToken: it is malformed, was altered, or belongs to another list');
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: number;
}

/**
 * One page from `items` (already in list order) after `cursor`, where `key(item)` grows along
 * the order (ascending lists) or shrinks (descending lists: pass `descending`).
 */
export function pageAfter<T>(
  items: readonly T[],
  key: (item: T) => number,
  cursor: number | undefined,
  size: number,
  descending = false,
): Page<T> {
  const out: T[] = [];
  let i = 0;
  if (cursor !== undefined) {
    while (i < items.length) {
      const k = key(items[i]!);
      if (descending ? k < cursor : k > cursor) break;
      i++;
    }
  }
  for (; i < items.length && out.length < size; i++) out.push(items[i]!);
  const last = out[out.length - 1];
  if (i < items.length && last !== undefined) return { items: out, nextCursor: key(last) };
  return { items: out };
}
