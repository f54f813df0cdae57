import { builder } from './builder.js';

const UNKNOWN_DESCRIPTION =
  'A value this gateway does not know yet: AWS added it after this version was built. The gateway logs the raw value once.';

export const JobStatusEnum = builder.enumType('JobStatus', {
  description:
    'Where a job (or one of its steps) stands. SUCCEED, FAILED and CANCELLED are final; the others can still change.',
  values: {
    CREATED: { description: 'Created but not yet queued (seen on manual deployments).' },
    PENDING: { description: 'Queued, waiting for build capacity.' },
    PROVISIONING: { description: 'A build machine is being prepared.' },
    RUNNING: { description: 'Building, deploying or verifying.' },
    FAILED: { description: 'Ended with an error; see `statusReason` on the failed step.' },
    SUCCEED: { description: 'Ended successfully (Amplify spells it SUCCEED, not SUCCEEDED).' },
    CANCELLING: { description: 'A stop was requested; the job is winding down.' },
    CANCELLED: { description: 'Stopped before it finished.' },
    UNKNOWN: { description: UNKNOWN_DESCRIPTION },
  } as const,
});

export const JobTypeEnum = builder.enumType('JobType', {
  description: 'What started a job.',
  values: {
    RELEASE: {
      description:
        'Started by hand (StartJob) from the latest commit of a repository-connected branch.',
    },
    RETRY: { description: 'Started by hand (StartJob) to retry an earlier job.' },
    MANUAL: {
      description: 'A manual deployment of an app not connected to a repository (files or a zip).',
    },
    WEB_HOOK: { description: 'Started by a webhook, usually a push to the connected repository.' },
    UNKNOWN: { description: UNKNOWN_DESCRIPTION },
  } as const,
});

export const SourceUrlTypeEnum = builder.enumType('SourceUrlType', {
  description: 'What `sourceUrl` points at, for manual deployments.',
  values: {
    ZIP: { description: 'A single .zip file (the default when Amplify was not told).' },
    BUCKET_PREFIX: { description: 'A folder (prefix) in an Amazon S3 bucket.' },
    UNKNOWN: { description: UNKNOWN_DESCRIPTION },
  } as const,
});
