import {
  AmplifyServiceException,
  GetBranchCommand,
  GetJobCommand,
  ListJobsCommand,
  StartJobCommand,
} from '@aws-sdk/client-amplify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LocalAmplify } from '../../src/local-amplify/index.js';
import { clientFor, label, metadataOf, rejection, startFrozen } from './helpers.js';

const GOOD = { accessKeyId: 'AKIATESTGOOD00000001', secretAccessKey: 'good-secret' };
const TEMPORARY = {
  accessKeyId: 'ASIATESTTEMP00000001',
  secretAccessKey: 'temp-secret',
  sessionToken: 'session-token-123',
};

let la: LocalAmplify;
let appId: string;
const clients: ReturnType<typeof clientFor>[] = [];

function client(config: Parameters<typeof clientFor>[1] = {}) {
  const c = clientFor(la, config);
  clients.push(c);
  return c;
}

beforeAll(async () => {
  la = await startFrozen({
    requireSignature: true,
    credentials: [GOOD, TEMPORARY],
    concurrentJobsLimit: 100,
  });
  appId = la.world.apps()[0]?.appId ?? '';
});

afterEach(() => {
  la.setRequireSignature(true);
  la.stats.reset();
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await la.close();
});

describe('with signatures required', () => {
  it('accepts GET, POST and query strings signed with a configured key, odd branch names included', async () => {
    const good = client();
    for (const branchName of ['feature/login', 'release 2.0', 'fix/ünïcode-日本']) {
      const { branch } = await good.send(new GetBranchCommand({ appId, branchName }));
      expect(branch?.branchName).toBe(branchName);
      const page = await good.send(new ListJobsCommand({ appId, branchName, maxResults: 2 }));
      const next = await good.send(
        new ListJobsCommand({ appId, branchName, maxResults: 2, nextToken: page.nextToken }),
      );
      expect(next.jobSummaries?.length).toBe(2);
      const started = await good.send(
        new StartJobCommand({
          appId,
          branchName,
          jobType: 'RELEASE',
          commitMessage: 'ünïcode & co (*)',
        }),
      );
      expect(started.jobSummary?.commitMessage).toBe('ünïcode & co (*)');
    }
  });

  it('accepts temporary credentials only with their session token', async () => {
    const temporary = client({ credentials: TEMPORARY });
    const out = await temporary.send(new GetJobCommand({ appId, branchName: 'main', jobId: '1' }));
    expect(out.job?.summary?.jobId).toBe('1');
    const noToken = client({
      credentials: {
        accessKeyId: TEMPORARY.accessKeyId,
        secretAccessKey: TEMPORARY.secretAccessKey,
      },
    });
    const error = await rejection(
      noToken.send(new GetJobCommand({ appId, branchName: 'main', jobId: '1' })),
    );
    expect(error.name).toBe('UnrecognizedClientException');
  });

  it('answers a wrong secret with 403 InvalidSignatureException, which the SDK does not retry', async () => {
    const wrong = client({ maxAttempts: 3, credentials: { ...GOOD, secretAccessKey: 'wrong' } });
    const error = await rejection(
      wrong.send(new GetJobCommand({ appId, branchName: 'main', jobId: '1' })),
    );
    expect(error).toBeInstanceOf(AmplifyServiceException);
    expect(error.name).toBe('InvalidSignatureException');
    expect(error.message).toMatch(/^The request signature we calculated does not match/);
    expect(metadataOf(error)).toEqual(
      expect.objectContaining({ httpStatusCode: 403, attempts: 1 }),
    );
    expect(la.stats.calls('GetJob')).toBe(1);
  });

  it('answers an unknown access key id with UnrecognizedClientException', async () => {
    const stranger = client({
      credentials: { accessKeyId: 'AKIASTRANGER0000000', secretAccessKey: 'x' },
    });
    const error = await rejection(
      stranger.send(new GetJobCommand({ appId, branchName: 'main', jobId: '1' })),
    );
    expect(error.name).toBe('UnrecognizedClientException');
    expect(metadataOf(error).httpStatusCode).toBe(403);
  });

  it('answers a missing or malformed Authorization header with 403', async () => {
    const missing = await fetch(`${la.url}/apps/${appId}`);
    expect(missing.status).toBe(403);
    expect(missing.headers.get('x-amzn-errortype')).toBe('MissingAuthenticationTokenException');
    const malformed = await fetch(`${la.url}/apps/${appId}`, {
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/amplify' },
    });
    expect(malformed.status).toBe(403);
    expect(malformed.headers.get('x-amzn-errortype')).toBe('IncompleteSignatureException');
  });

  it('rejects a credential scope for another region', async () => {
    const elsewhere = client({ region: 'eu-west-1' });
    const error = await rejection(
      elsewhere.send(new GetJobCommand({ appId, branchName: 'main', jobId: '1' })),
    );
    expect(error.name).toBe('InvalidSignatureException');
    expect(error.message).toMatch(/scoped to a valid region, not 'eu-west-1'/);
  });

  it('rejects an x-amz-date more than 15 minutes old; the SDK then corrects its clock from Date', async () => {
    const skewed = { systemClockOffset: -20 * 60_000 };
    const once = client(skewed);
    const error = await rejection(
      once.send(new GetJobCommand({ appId, branchName: 'main', jobId: '1' })),
    );
    expect(error.name).toBe('InvalidSignatureException');
    expect(error.message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than/);
    // With retries, the real Date header lets the SDK fix its offset and the retry passes.
    const retrying = client({ ...skewed, maxAttempts: 3 });
    const out = await retrying.send(new GetJobCommand({ appId, branchName: 'main', jobId: '1' }));
    expect(out.$metadata.attempts).toBe(2);
  });

  it('rejects a body changed after signing', async () => {
    const tampering = client();
    // The deserialize step sees the request after signing: the body changes, the signed
    // x-amz-content-sha256 does not.
    tampering.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body?: unknown; headers: Record<string, string> };
        const body = '{"jobType":"RETRY","jobId":"1"}';
        request.body = body;
        request.headers['content-length'] = String(Buffer.byteLength(body));
        return next(args);
      },
      { step: 'deserialize', name: 'tamperBody' },
    );
    const error = await rejection(
      tampering.send(new StartJobCommand({ appId, branchName: 'main', jobType: 'RELEASE' })),
    );
    expect(error.name).toBe('InvalidSignatureException');
    expect(error.message).toMatch(/x-amz-content-sha256/);
  });
});

describe('with signatures off', () => {
  it('accepts any signature, or none', async () => {
    la.setRequireSignature(false);
    const wrong = client({ credentials: { accessKeyId: 'anything', secretAccessKey: 'at all' } });
    const out = await wrong.send(new GetJobCommand({ appId, branchName: 'main', jobId: '2' }));
    expect(out.job?.summary?.jobId).toBe('2');
    const raw = await fetch(`${la.url}/apps/${appId}/branches/${label('feature/login')}`);
    expect(raw.status).toBe(200);
    expect(la.stats.lastRequests(1)[0]?.headers.hasAuthorization).toBe(false);
  });
});
