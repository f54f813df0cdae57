import type { JobSummaryRecord } from '../upstream/shapes.js';
import { builder } from './builder.js';
import { JobStatusEnum, JobTypeEnum, SourceUrlTypeEnum } from './enums.js';

export const JobSummaryRef = builder.objectRef<JobSummaryRecord>('JobSummary').implement({
  description:
    'The facts Amplify keeps about a job as a whole. Amplify sometimes omits members, so every field can be null.',
  fields: (t) => ({
    jobArn: t.exposeString('jobArn', {
      nullable: true,
      description:
        "The job's Amazon Resource Name, e.g. `arn:aws:amplify:us-east-1:123456789012:apps/d1abc/branches/main/jobs/0000000007` (the job number zero-padded to 10 digits).",
    }),
    jobId: t.exposeID('jobId', {
      nullable: true,
      description: 'The job number within its branch, as a string of digits (not zero-padded).',
    }),
    commitId: t.exposeString('commitId', {
      nullable: true,
      description:
        'The commit built, as the repository provider names it (a SHA for Git; `HEAD` for manual deployments).',
    }),
    commitMessage: t.exposeString('commitMessage', {
      nullable: true,
      description: 'The commit message of that commit, up to 10,000 characters.',
    }),
    commitTime: t.expose('commitTime', {
      type: 'DateTime',
      nullable: true,
      description: 'When the commit was made.',
    }),
    startTime: t.expose('startTime', {
      type: 'DateTime',
      nullable: true,
      description: 'When the job started.',
    }),
    status: t.expose('status', {
      type: JobStatusEnum,
      nullable: true,
      description: 'Where the job stands now.',
    }),
    endTime: t.expose('endTime', {
      type: 'DateTime',
      nullable: true,
      description: 'When the job ended; null while it is still going.',
    }),
    jobType: t.expose('jobType', {
      type: JobTypeEnum,
      nullable: true,
      description: 'What started the job.',
    }),
    sourceUrl: t.expose('sourceUrl', {
      type: 'URL',
      nullable: true,
      description:
        'For manual deployments: where the deployed files came from (`s3://bucket/key`, or an HTTP(S) URL of a zip). Null for repository builds.',
    }),
    sourceUrlType: t.expose('sourceUrlType', {
      type: SourceUrlTypeEnum,
      nullable: true,
      description: 'What `sourceUrl` points at. Null when there is no `sourceUrl`.',
    }),
  }),
});
