import { readFile } from 'node:fs/promises';
import {
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isScalarType,
  isSpecifiedScalarType,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { GATEWAY_VARIABLES } from '../../src/config.js';
import { buildSchema, printSubgraphSdl } from '../../src/schema/index.js';
import { LOG_DEFAULTS_IN_WORDS } from '../../src/schema/step.js';
import { createGateway, noUpstream, testConfig } from '../support/stack.js';

describe('the schema', () => {
  it('matches the committed schema.graphql (run `npm run schema:print` when this fails)', async () => {
    const committed = await readFile(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printSubgraphSdl());
  });

  it('keeps the federation directives in the printed SDL', () => {
    const sdl = printSubgraphSdl();
    expect(sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.6"');
    expect(sdl).toContain('type Job\n  @key(fields: "appId branchName jobId")');
  });

  it("speaks to a frontend developer: no description names the operator's settings or the README", () => {
    const sdl = printSubgraphSdl();
    const named = Object.keys(GATEWAY_VARIABLES).filter((name) =>
      new RegExp(`\\b${name}\\b`).test(sdl),
    );
    expect(named).toEqual([]);
    expect(sdl).not.toMatch(/README/);
    // The defaults they give in words are the configuration's defaults.
    const { upstream } = testConfig();
    expect(LOG_DEFAULTS_IN_WORDS).toEqual({
      maxBytes: `${upstream.stepLogMaxBytes / 1024 / 1024} MiB`,
      timeout: `${upstream.stepLogTimeoutMs / 1000} seconds`,
    });
    expect(sdl).toContain(`its last ${LOG_DEFAULTS_IN_WORDS.maxBytes}`);
  });

  it('describes every type, field, argument and enum value for GraphiQL readers', () => {
    const schema = buildSchema();
    const undocumented: string[] = [];
    const federationInternal = new Set([
      '_Service',
      '_Any',
      '_Entity',
      'link__Import',
      'link__Purpose',
      'FieldSet',
    ]);
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__') || federationInternal.has(type.name)) continue;
      if (isScalarType(type) && isSpecifiedScalarType(type)) continue;
      if (!type.description) undocumented.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (field.name.startsWith('_')) continue;
          if (!field.description) undocumented.push(`${type.name}.${field.name}`);
          if ('args' in field) {
            for (const arg of field.args) {
              if (!arg.description) undocumented.push(`${type.name}.${field.name}(${arg.name})`);
            }
          }
        }
      }
      if (isEnumType(type)) {
        for (const value of type.getValues()) {
          if (!value.description) undocumented.push(`${type.name}.${value.name}`);
        }
      }
    }
    expect(undocumented).toEqual([]);
  });

  it('has UNKNOWN in every enum Amplify may extend', () => {
    const schema = buildSchema();
    for (const name of ['JobStatus', 'JobType', 'SourceUrlType']) {
      const type = schema.getType(name);
      expect(isEnumType(type) && type.getValues().map((v) => v.name)).toContain('UNKNOWN');
    }
  });

  it('loads a single copy of graphql, so validation errors are not masked', async () => {
    const gateway = await createGateway({ upstream: noUpstream });
    const body = await gateway.graphql(
      '{ job(appId: "d1", branchName: "main", jobId: "1") { nope } }',
    );
    await gateway.close();
    expect(body.errors?.[0]?.message).toBe('Cannot query field "nope" on type "Job".');
    expect(body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});
