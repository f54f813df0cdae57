/**
 * Reading when a presigned URL stops working, from the URL alone: SigV4 query signing, the legacy
 * `Expires`, signing parameters without a readable expiry (expired at once), and the earliest of
 * the URLs anywhere in a job or an answer's text.
 */
import { describe, expect, it } from 'vitest';
import {
  earliestExpiry,
  earliestExpiryInText,
  PRESIGNED_URL_MARGIN_MS,
  presignedLifetimeMs,
  presignedUrlExpiry,
} from '../../src/upstream/presigned.js';

const S3 = 'https://aws-amplify-prod-us-east-1-artifacts.s3.us-east-1.amazonaws.com/d1/main/7';
const SIGNED_AT = Date.UTC(2026, 10, 16, 9, 30, 0);

describe('presigned URL expiry', () => {
  it('is X-Amz-Date plus X-Amz-Expires for SigV4 query signing, whatever the case of the names', () => {
    const url = `${S3}/BUILD.log?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261116%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261116T093000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=0f1e`;
    expect(presignedUrlExpiry(url)).toBe(SIGNED_AT + 900_000);
    expect(presignedUrlExpiry(`${S3}/a?x-amz-date=20261116T093000Z&x-amz-expires=60`)).toBe(
      SIGNED_AT + 60_000,
    );
  });

  it('is the legacy Expires (epoch seconds) otherwise', () => {
    const at = SIGNED_AT / 1000 + 3600;
    expect(
      presignedUrlExpiry(`${S3}/a.zip?AWSAccessKeyId=AKIA&Expires=${at}&Signature=abc%3D`),
    ).toBe(at * 1000);
  });

  it('is "already" when signing parameters carry no readable expiry, and null without any', () => {
    expect(presignedUrlExpiry(`${S3}/a?X-Amz-Signature=abc`)).toBe(0);
    expect(presignedUrlExpiry(`${S3}/a?X-Amz-Date=yesterday&X-Amz-Expires=60`)).toBe(0);
    expect(
      presignedUrlExpiry('https://d1.cloudfront.net/a?Policy=eyJ9&Signature=x&Key-Pair-Id=K'),
    ).toBe(0);
    expect(presignedUrlExpiry(`${S3}/a`)).toBeNull();
    expect(presignedUrlExpiry('http://127.0.0.1:4566/_files/logs/d1/main/7/BUILD.log')).toBeNull();
    expect(presignedUrlExpiry(`${S3}/a?versionId=3`)).toBeNull();
  });

  it('of a job is its earliest URL, in any member at any depth', () => {
    const job = {
      key: { appId: 'd1', branchName: 'main', jobId: '7' },
      summary: { startTime: new Date(SIGNED_AT), commitMessage: 'x' },
      steps: [
        {
          logUrl: `${S3}/BUILD.log?X-Amz-Date=20261116T093000Z&X-Amz-Expires=3600`,
          screenshots: [],
        },
        {
          logUrl: null,
          screenshots: [
            {
              name: 'desktop.png',
              url: `${S3}/d.png?X-Amz-Date=20261116T093000Z&X-Amz-Expires=600`,
            },
          ],
        },
      ],
    };
    expect(earliestExpiry(job)).toBe(SIGNED_AT + 600_000);
    expect(earliestExpiry({ steps: [{ logUrl: `${S3}/x.log` }] })).toBeNull();
  });

  it("of an answer's JSON text is its earliest URL", () => {
    const body = JSON.stringify({
      data: {
        a: { logUrl: `${S3}/a?X-Amz-Date=20261116T093000Z&X-Amz-Expires=120` },
        b: { logUrl: `${S3}/b?X-Amz-Date=20261116T093000Z&X-Amz-Expires=60` },
      },
    });
    expect(earliestExpiryInText(body)).toBe(SIGNED_AT + 60_000);
    expect(earliestExpiryInText('{"data":{"job":{"jobId":"7"}}}')).toBeNull();
  });

  it('leaves a cache the time up to the expiry less the margin, never less than 0', () => {
    const expiry = SIGNED_AT + 3_600_000;
    expect(presignedLifetimeMs(expiry, SIGNED_AT)).toBe(3_600_000 - PRESIGNED_URL_MARGIN_MS);
    expect(presignedLifetimeMs(expiry, expiry)).toBe(0);
    expect(presignedLifetimeMs(null, SIGNED_AT)).toBe(Number.POSITIVE_INFINITY);
  });
});
