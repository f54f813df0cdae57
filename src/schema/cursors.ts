/**
 * Connection cursors: opaque to clients, tamper-evident, and bound to the list they came from.
 *
 * A cursor names a position in one of Amplify's lists: the `nextToken` of the upstream page the
 * position is in (null for the list's first page), how many entries of that page come before it,
 * and the id of the entry just before it (to find the position again if entries were added or
 * removed ahead of it). It is `base64url(JSON) + "." + base64url(MAC)`, where the MAC is
 * HMAC-SHA256 over the list's identity (e.g. the jobs of one branch) and the payload, cut to 128
 * bits. A cursor edited by hand, cut short, minted for another list or by a gateway with another
 * key does not verify. The key is CURSOR_SECRET, so every replica behind a load balancer accepts
 * the cursors of the others; without it each process makes a random key of its own. During a
 * rotation, CURSOR_SECRET_FALLBACK is a second key that cursors are verified with but never signed
 * with, so that cursors handed out before (or by a replica not yet rolled) keep working.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A position in one list. */
export interface CursorPosition {
  /** Amplify's `nextToken` for the upstream page the position is in; null: the first page. */
  token: string | null;
  /** Entries of that page before the position. */
  skip: number;
  /** Id of the entry just before the position (job id, branch name, app id). */
  after: string;
}

const MAC_BYTES = 16;
/** Far above any cursor we mint (a nextToken is at most 2,000 characters), far below abuse. */
export const MAX_CURSOR_LENGTH = 8192;

export class CursorCodec {
  readonly #key: Buffer;
  readonly #fallback: Buffer | null;

  /**
   * `secret`: the configured CURSOR_SECRET, or null for a random key of this process; `fallback`:
   * CURSOR_SECRET_FALLBACK, a key accepted when verifying only (null: none).
   */
  constructor(secret: string | null, fallback: string | null = null) {
    this.#key = secret === null ? randomBytes(32) : Buffer.from(secret, 'utf8');
    this.#fallback = fallback === null ? null : Buffer.from(fallback, 'utf8');
  }

  #mac(list: string, payload: string, key = this.#key): Buffer {
    return createHmac('sha256', key)
      .update(list)
      .update('\u0000')
      .update(payload)
      .digest()
      .subarray(0, MAC_BYTES);
  }

  /** The cursor of `position` in the list `list` (e.g. `ListJobs` + app id + branch name). */
  encode(list: string, position: CursorPosition): string {
    const payload = Buffer.from(
      JSON.stringify({ v: 1, t: position.token, s: position.skip, a: position.after }),
    ).toString('base64url');
    return `${payload}.${this.#mac(list, payload).toString('base64url')}`;
  }

  /** The position a cursor names, or null when it was not minted by this key for this list. */
  decode(list: string, cursor: string): CursorPosition | null {
    if (cursor.length > MAX_CURSOR_LENGTH) return null;
    const dot = cursor.indexOf('.');
    if (dot <= 0) return null;
    const payload = cursor.slice(0, dot);
    const macText = cursor.slice(dot + 1);
    const mac = Buffer.from(macText, 'base64url');
    // Node's decoder skips what is not base64url and ignores unused trailing bits: only the one
    // spelling this codec writes is a cursor.
    if (mac.length !== MAC_BYTES || mac.toString('base64url') !== macText) return null;
    const signedBy = (key: Buffer) => timingSafeEqual(mac, this.#mac(list, payload, key));
    if (!signedBy(this.#key) && (this.#fallback === null || !signedBy(this.#fallback))) return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return null;
    }
    const { v, t, s, a } = (parsed ?? {}) as Record<string, unknown>;
    if (v !== 1 || (t !== null && typeof t !== 'string') || typeof a !== 'string') return null;
    if (typeof s !== 'number' || !Number.isSafeInteger(s) || s < 0) return null;
    return { token: t, skip: s, after: a };
  }
}
