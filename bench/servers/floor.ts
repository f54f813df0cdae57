/**
 * The raw-SDK floor: node:http taking the bench's GraphQL request (JSON body, variables), calling
 * GetJob through the gateway's own client factory and settings (createAmplifyClient, the same
 * UPSTREAM_* configuration, keep-alive agent, timeouts, retry mode), mapping the answer through the
 * gateway's own toJobRecord and writing the same JSON the gateway writes. No GraphQL parsing,
 * validation or execution: the least a server can do and still give the gateway's answer.
 *
 * W3 issues one GetJob per distinct job, capped at UPSTREAM_MAX_CONCURRENCY like the gateway's
 * per-request loader (same limiter). W5 (a job-history page with steps) issues one ListJobs and one
 * GetJob per job of the page, under the same cap; it does not read the branch (GetBranch), which
 * the gateway's `branch(...)` does to answer null for a branch that does not exist.
 */
import { GetJobCommand, ListJobsCommand } from '@aws-sdk/client-amplify';
import { loadConfig } from '../../src/config.js';
import { createLimiter } from '../../src/loaders/limiter.js';
import { jobKeyId } from '../../src/upstream/keys.js';
import { type JobListItem, type Page, toJobPage } from '../../src/upstream/page-shapes.js';
import { createAmplifyClient } from '../../src/upstream/sdk-upstream.js';
import { type JobKey, type JobRecord, toJobRecord } from '../../src/upstream/shapes.js';
import { CONTENT_TYPE, readBody, serve } from './common.js';
import {
  ALIAS_COUNT,
  ALIASES_OPERATION,
  aliasDetail,
  aliasesKeys,
  DISTINCT_JOBS,
  JOB_HISTORY_OPERATION,
  JOB_OPERATION,
  jobDetail,
  jobHistoryDetail,
} from './operations.js';

const loaded = loadConfig();
if (!loaded.ok) {
  console.error(`floor: invalid configuration:\n  - ${loaded.problems.join('\n  - ')}`);
  process.exit(2);
}
const { upstream } = loaded.config;
// Endpoint, region and credentials come from the AWS_* environment, exactly as for the gateway.
const client = createAmplifyClient({ config: upstream });
const ignore = () => {};

async function getJob(key: JobKey): Promise<JobRecord> {
  const output = await client.send(new GetJobCommand(key));
  return toJobRecord(key, output, {
    operation: 'GetJob',
    subject: 'a bench job',
    onUnknownValue: ignore,
    onProblem: ignore,
  });
}

async function listJobs(
  appId: string,
  branchName: string,
  first: number,
): Promise<Page<JobListItem>> {
  const output = await client.send(new ListJobsCommand({ appId, branchName, maxResults: first }));
  return toJobPage({ appId, branchName }, output, {
    operation: 'ListJobs',
    subject: 'a bench page of jobs',
    onUnknownValue: ignore,
    onProblem: ignore,
  });
}

interface GraphQLBody {
  operationName?: string;
  variables?: Record<string, unknown>;
}

async function answer(body: string): Promise<unknown> {
  const { operationName, variables = {} } = JSON.parse(body) as GraphQLBody;
  if (operationName === JOB_OPERATION) {
    const key = {
      appId: String(variables.appId),
      branchName: String(variables.branchName),
      jobId: String(variables.jobId),
    };
    return { data: { job: jobDetail(await getJob(key)) } };
  }
  if (operationName === ALIASES_OPERATION) {
    const limit = createLimiter(upstream.maxConcurrency);
    const distinct = new Map<string, Promise<JobRecord>>();
    const keys = aliasesKeys(variables);
    const jobs = keys.map((key) => {
      const id = jobKeyId(key);
      let job = distinct.get(id);
      if (job === undefined) {
        job = limit(() => getJob(key));
        distinct.set(id, job);
      }
      return job;
    });
    const records = await Promise.all(jobs);
    const data: Record<string, unknown> = {};
    for (let n = 0; n < ALIAS_COUNT; n++) data[`x${n}`] = aliasDetail(records[n % DISTINCT_JOBS]!);
    return { data };
  }
  if (operationName === JOB_HISTORY_OPERATION) {
    // One ListJobs, then one GetJob per job, capped like the gateway's per-request loader.
    const appId = String(variables.appId);
    const branchName = String(variables.branchName);
    const first = Number(variables.first);
    const page = await listJobs(appId, branchName, first);
    const limit = createLimiter(upstream.maxConcurrency);
    const jobs = await Promise.all(
      page.items.slice(0, first).map((item) => limit(() => getJob(item.key))),
    );
    return { data: { branch: jobHistoryDetail(page, first, jobs) } };
  }
  throw new Error(`floor: unknown operation ${String(operationName)}`);
}

serve('raw-SDK floor', (req, res) => {
  readBody(req)
    .then(answer)
    .then(
      (result) => send(200, JSON.stringify(result)),
      (error: unknown) =>
        send(
          502,
          JSON.stringify({
            errors: [{ message: error instanceof Error ? error.message : String(error) }],
          }),
        ),
    );
  function send(status: number, payload: string): void {
    res.writeHead(status, {
      'content-type': CONTENT_TYPE,
      'content-length': Buffer.byteLength(payload),
    });
    res.end(payload);
  }
});
