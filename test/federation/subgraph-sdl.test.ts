import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEDERATION_LINK, printSubgraphSdl } from '../../src/schema/index.js';
import { createGateway, type Gateway, noUpstream } from '../support/stack.js';

const committedSdl = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');

describe('the subgraph SDL', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await createGateway({ upstream: noUpstream });
  });
  afterAll(() => gateway?.close());

  async function serviceSdl(): Promise<string> {
    const { status, body } = await gateway.post({ query: '{ _service { sdl } }' });
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    const sdl = (body.data?._service as { sdl?: unknown } | undefined)?.sdl;
    if (typeof sdl !== 'string') throw new Error(`no _service.sdl in ${JSON.stringify(body)}`);
    return sdl;
  }

  it('serves _service { sdl } exactly as printSubgraphSdl prints it', async () => {
    const sdl = await serviceSdl();

    // printSubgraphSdl adds the one trailing newline a file has; `_service` returns it without.
    expect(`${sdl.trimEnd()}\n`).toBe(printSubgraphSdl());
  });

  it('serves _service { sdl } exactly as the committed schema.graphql', async () => {
    const sdl = await serviceSdl();

    expect(
      `${sdl.trimEnd()}\n`,
      'schema.graphql is stale: run `npm run schema:print` and commit it',
    ).toBe(committedSdl);
  });

  it('links the pinned federation version and keeps the Job key', async () => {
    const sdl = await serviceSdl();

    // Both vanish silently (and tsc still passes) when the directives plugin is missing.
    expect(FEDERATION_LINK).toBe('https://specs.apollo.dev/federation/v2.6');
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.6"');
    expect(sdl).toMatch(/type Job\s+@key\(fields: "appId branchName jobId"\)/);
  });

  it('exposes the federation entry points to routers only, not as types of the SDL', async () => {
    const sdl = await serviceSdl();

    // Routers add _entities/_service themselves; a published SDL that declares them breaks rover.
    expect(sdl).not.toContain('_entities');
    expect(sdl).not.toContain('_service');
    expect(sdl).not.toMatch(/^union _Entity/m);
  });
});
