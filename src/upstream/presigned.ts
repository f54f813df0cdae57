/**
 * Presigned URLs in Amplify's answers (a step's `logUrl`, `artifactsUrl`, `testArtifactsUrl`,
 * `testConfigUrl`, screenshots, an app's thumbnail) stop working at a moment written in the URL
 * itself, so an answer holding one may be kept, by any cache, only until the earliest of them
 * expires, less {@link PRESIGNED_URL_MARGIN_MS}:
 *
 * - SigV4 query signing (Amazon S3 today): `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`, UTC) plus
 *   `X-Amz-Expires` (seconds);
 * - the legacy form (S3 signature version 2, CloudFront canned policies): `Expires` (epoch seconds).
 *
 * A URL that carries signing parameters whose expiry cannot be read (a `X-Amz-Signature` without a
 * date, a CloudFront custom `Policy`) counts as already expired: such an answer is not kept at all,
 * which costs a call, never a dead link. Parameter names are matched without regard to case.
 */

/**
 * How long before its earliest URL expires an answer stops being served from a cache: the time a
 * client needs to use a link after receiving it, and room for the clocks of AWS and the gateway to
 * disagree.
 */
export const PRESIGNED_URL_MARGIN_MS = 60_000;

/** Cheap test before any parsing: text without these holds no presigned URL. */
const SIGNING_HINT = /x-amz-|[?&](?:expires|signature|policy)=/i;
/** URLs inside a string (a member's value, or a JSON answer's whole text). */
const URLS = /https?:\/\/[^\s"'<>\\]+/g;
const SIGV4_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const DIGITS = /^\d{1,12}$/;

function sigV4Date(value: string | undefined): number | null {
  const parts = value === undefined ? null : SIGV4_DATE.exec(value);
  if (parts === null) return null;
  const [y, mo, d, h, mi, s] = parts.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const at = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isNaN(at) ? null : at;
}

/**
 * When a URL stops working, in epoch milliseconds: `null` when it is not presigned, `0` when it is
 * but its expiry cannot be read.
 */
export function presignedUrlExpiry(url: string): number | null {
  const query = url.indexOf('?');
  if (query < 0 || !SIGNING_HINT.test(url)) return null;
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(url.slice(query + 1).split('#', 1)[0])) {
    params.set(name.toLowerCase(), value);
  }
  const sigV4 = ['x-amz-date', 'x-amz-expires', 'x-amz-signature', 'x-amz-credential'].some(
    (name) => params.has(name),
  );
  if (sigV4) {
    const signedAt = sigV4Date(params.get('x-amz-date'));
    const seconds = params.get('x-amz-expires');
    if (signedAt === null || seconds === undefined || !DIGITS.test(seconds)) return 0;
    return signedAt + Number(seconds) * 1000;
  }
  const expires = params.get('expires');
  if (expires !== undefined) return DIGITS.test(expires) ? Number(expires) * 1000 : 0;
  return params.has('signature') || params.has('policy') ? 0 : null;
}

/** The earliest expiry of the presigned URLs in `text` (epoch ms), or `null` when it has none. */
export function earliestExpiryInText(text: string): number | null {
  if (!SIGNING_HINT.test(text)) return null;
  let earliest: number | null = null;
  for (const [url] of text.matchAll(URLS)) {
    const expiry = presignedUrlExpiry(url);
    if (expiry !== null && (earliest === null || expiry < earliest)) earliest = expiry;
  }
  return earliest;
}

/**
 * The earliest expiry of the presigned URLs anywhere in a plain value (objects, arrays and their
 * strings, at any depth: a JobRecord, a page of apps), or `null` when it holds none.
 */
export function earliestExpiry(value: unknown): number | null {
  if (typeof value === 'string') return earliestExpiryInText(value);
  if (typeof value !== 'object' || value === null || value instanceof Date) return null;
  let earliest: number | null = null;
  for (const member of Array.isArray(value) ? value : Object.values(value)) {
    const expiry = earliestExpiry(member);
    if (expiry !== null && (earliest === null || expiry < earliest)) earliest = expiry;
  }
  return earliest;
}

/**
 * How long, in ms from `now` (epoch ms), an answer whose earliest presigned URL expires at
 * `expiresAt` may still be kept: never negative; `Infinity` when it holds none (`null`).
 */
export function presignedLifetimeMs(expiresAt: number | null, now: number): number {
  return expiresAt === null
    ? Number.POSITIVE_INFINITY
    : Math.max(0, expiresAt - PRESIGNED_URL_MARGIN_MS - now);
}
