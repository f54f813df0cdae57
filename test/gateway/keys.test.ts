import { describe, expect, it } from 'vitest';
import { jobKeyProblems } from '../../src/upstream/keys.js';
import type { JobKey } from '../../src/upstream/shapes.js';

describe('job key checks', () => {
  it('accepts keys the Amplify API accepts, including odd branch names', () => {
    for (const branchName of ['main', 'feature/login', 'fix ünïcode 日本', 'b'.repeat(255)]) {
      expect(jobKeyProblems({ appId: 'd2jvwbzkj7re2a', branchName, jobId: '268' })).toEqual([]);
    }
  });

  it('counts branch name length in characters, not UTF-16 units', () => {
    expect(jobKeyProblems({ appId: 'd1', branchName: '😀'.repeat(255), jobId: '1' })).toEqual([]);
    expect(jobKeyProblems({ appId: 'd1', branchName: '😀'.repeat(256), jobId: '1' })).toHaveLength(
      1,
    );
  });

  it('reports every problem of a key at once', () => {
    expect(jobKeyProblems({ appId: 'D1', branchName: '', jobId: '-1' })).toHaveLength(3);
  });

  it('says what a jobId must be without ambiguity: digits, and how many', () => {
    for (const jobId of ['12a', '', '1'.repeat(256)]) {
      expect(jobKeyProblems({ appId: 'd1', branchName: 'main', jobId })).toEqual([
        expect.stringMatching(/^jobId must be a string of 1 to 255 digits \(got "/),
      ]);
    }
  });

  it('reports a key whose members are not strings instead of throwing', () => {
    const key = { appId: 'd1', branchName: 7, jobId: null } as unknown as JobKey;
    expect(jobKeyProblems(key)).toEqual(['branchName and jobId must be strings']);
  });

  it('cuts a huge value short in the message', () => {
    const [problem] = jobKeyProblems({
      appId: `d${'x'.repeat(5000)}`,
      branchName: 'm',
      jobId: '1',
    });
    expect(problem?.length).toBeLessThan(200);
  });
});
