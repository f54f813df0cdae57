import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { printSubgraphSdl } from '../../src/schema/index.js';
import { RELEASES_SDL } from '../support/releases-subgraph.js';

function composeWithReleases(amplifyJobsSdl: string) {
  return composeServices([
    { name: 'amplify-jobs', typeDefs: parse(amplifyJobsSdl) },
    { name: 'releases', typeDefs: parse(RELEASES_SDL) },
  ]);
}

describe('composition with another subgraph', () => {
  const result = composeWithReleases(printSubgraphSdl());

  it('composes with a releases subgraph with no errors and no hints', () => {
    expect(result.errors?.map((error) => error.message)).toBeUndefined();
    // Hints point at things worth fixing (inconsistent descriptions, types, keys...); none expected.
    expect(result.hints?.map((hint) => hint.definition.code)).toEqual([]);
  });

  it('makes Job an entity resolvable by amplify-jobs and referenced by releases', () => {
    const { supergraphSdl } = result;

    expect(supergraphSdl).toContain(
      '@join__type(graph: AMPLIFY_JOBS, key: "appId branchName jobId")',
    );
    expect(supergraphSdl).toContain(
      '@join__type(graph: RELEASES, key: "appId branchName jobId", resolvable: false)',
    );
    // Job's own fields are only resolvable in amplify-jobs: the router must fetch them there.
    expect(supergraphSdl).toMatch(/summary: JobSummary!\s+@join__field\(graph: AMPLIFY_JOBS\)/);
  });

  it('makes App and Branch entities with their keys, resolvable by amplify-jobs', () => {
    const { supergraphSdl } = result;

    expect(supergraphSdl).toMatch(/type App\s+@join__type\(graph: AMPLIFY_JOBS, key: "appId"\)/);
    expect(supergraphSdl).toMatch(
      /type Branch\s+@join__type\(graph: AMPLIFY_JOBS, key: "appId branchName"\)/,
    );
  });

  it('fails to compose when the Job key is lost, so the tests above can tell', () => {
    // The trap from the stack notes: without the directives plugin the SDL has no @key. Job's key
    // fields are then no longer key fields, two subgraphs resolve them, and composition refuses.
    const withoutKey = printSubgraphSdl().replace(
      /\s*@key\(fields: "appId branchName jobId"\)/,
      '',
    );
    expect(withoutKey).not.toContain('@key(fields: "appId branchName jobId")');

    const broken = composeWithReleases(withoutKey);

    expect(new Set(broken.errors?.map((error) => error.extensions.code))).toEqual(
      new Set(['INVALID_FIELD_SHARING']),
    );
  });
});
