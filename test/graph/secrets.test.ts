/**
 * No secret Amplify keeps on an app or a branch reaches the schema or an answer: environment
 * variables, basic-auth credentials, build specs, OAuth and access tokens, webhook secrets.
 */
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema, printSubgraphSdl } from '../../src/schema/index.js';
import { toAppRecord } from '../../src/upstream/app-shapes.js';
import { toBranchRecord } from '../../src/upstream/branch-shapes.js';
import { type Stack, startStack } from '../support/stack.js';

/** Words that name a secret member of the Amplify API (or of any API); none may name a field. */
const SECRET =
  /environment|envvar|variables|basicauth|credential|password|buildspec|token|oauth|secret|webhook|privatekey|accesskey/i;

/** The App and Branch members the Amplify API marks sensitive or that carry secrets. */
const SECRET_MEMBERS = [
  'environmentVariables',
  'basicAuthCredentials',
  'buildSpec',
  'oauthToken',
  'accessToken',
  'customHeaders',
  'autoBranchCreationConfig',
  'webhookUrl',
];

describe('secrets', () => {
  it('name no type, field, argument or enum value of the schema', () => {
    const schema = buildSchema();
    const names: string[] = [];
    for (const type of Object.values(schema.getTypeMap())) {
      if (type.name.startsWith('__')) continue;
      names.push(type.name);
      if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          names.push(`${type.name}.${field.name}`);
          if ('args' in field)
            for (const arg of field.args) names.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
      if (isEnumType(type))
        for (const value of type.getValues()) names.push(`${type.name}.${value.name}`);
    }
    expect(names.length).toBeGreaterThan(100);
    // Named like a secret but not one: what started a job, and the name of a preview's backend
    // environment (not its variables).
    const notSecrets = new Set(['JobType.WEB_HOOK', 'Branch.pullRequestEnvironmentName']);
    expect(names.filter((n) => SECRET.test(n) && !notSecrets.has(n))).toEqual([]);
    // The pattern does catch the members it is about.
    for (const member of SECRET_MEMBERS.slice(0, 5)) expect(member).toMatch(SECRET);
  });

  it('appear nowhere in the printed SDL either', () => {
    const sdl = printSubgraphSdl();
    for (const member of SECRET_MEMBERS) expect(sdl).not.toContain(member);
  });

  it('are never copied into the records the schema reads, even when Amplify sends them', () => {
    const context = {
      operation: 'GetApp',
      subject: 'a test',
      onUnknownValue: () => {},
      onProblem: () => {},
    };
    const app = toAppRecord(
      { appId: 'd1' },
      {
        app: {
          appId: 'd1',
          name: 'x',
          environmentVariables: { API_KEY: 'app-env-secret' },
          basicAuthCredentials: 'dXNlcjpzZWNyZXQ=',
          buildSpec: 'version: 1 # build-spec-secret',
          autoBranchCreationConfig: { environmentVariables: { K: 'auto-env-secret' } },
        },
      },
      context,
    );
    const branch = toBranchRecord(
      { appId: 'd1', branchName: 'main' },
      {
        branch: {
          branchName: 'main',
          environmentVariables: { DB_PASSWORD: 'branch-env-secret' },
          basicAuthCredentials: 'dXNlcjpzZWNyZXQ=',
          buildSpec: 'version: 1 # build-spec-secret',
        },
      },
      { ...context, operation: 'GetBranch' },
    );
    expect(app.name).toBe('x');
    expect(branch.branchName).toBe('main');
    const text = JSON.stringify([app, branch]);
    for (const leaked of ['secret', 'dXNlcjpzZWNyZXQ=', 'environmentVariables', 'buildSpec']) {
      expect(text).not.toContain(leaked);
    }
  });

  describe('against the local Amplify', () => {
    let stack: Stack;
    beforeAll(async () => {
      // One operation reads every app and every branch on purpose (100 x 50 entries): far over
      // the default cost limit and upstream-call budget, which guard production, not this check.
      stack = await startStack({
        env: { MAX_COST: '10000000', MAX_UPSTREAM_CALLS_PER_OPERATION: '1000' },
      });
    });
    afterAll(() => stack.close());

    it('reach no answer that asks for every field of every app and branch', async () => {
      // Every scalar and list-of-scalar field of App, Branch and ProductionBranch, from the schema.
      const schema = buildSchema();
      const scalars = (name: string) => {
        const type = schema.getType(name);
        if (!isObjectType(type)) throw new Error(`${name} is not an object type`);
        return Object.values(type.getFields())
          .filter((f) => !isObjectType(getNamedType(f.type)) && f.args.length === 0)
          .map((f) => f.name)
          .join(' ');
      };
      const body = await stack.graphql(`{ apps(first: 100) { nodes {
        ${scalars('App')} productionBranch { ${scalars('ProductionBranch')} }
        branches(first: 50) { nodes { ${scalars('Branch')} } }
      } } }`);
      expect(body.errors).toBeUndefined();
      const answer = JSON.stringify(body);
      // What the local Amplify keeps as environment variables on its apps and branches.
      const values: string[] = [];
      for (const app of stack.la.world.apps()) {
        const wire = (await (await fetch(`${stack.la.url}/apps/${app.appId}`)).json()) as {
          app: { environmentVariables?: Record<string, string> };
        };
        for (const [k, v] of Object.entries(wire.app.environmentVariables ?? {})) values.push(k, v);
      }
      expect(values.length).toBeGreaterThan(0);
      for (const value of values) expect(answer).not.toContain(value);
      expect(answer).not.toMatch(/environmentVariables|basicAuth|buildSpec/);
    });
  });
});
