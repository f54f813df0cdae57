import type { ScreenshotRecord, StepRecord } from '../upstream/shapes.js';
import { builder } from './builder.js';
import { JobStatusEnum } from './enums.js';

export const ScreenshotRef = builder.objectRef<ScreenshotRecord>('Screenshot').implement({
  description: 'A screenshot taken during a verify or test step.',
  fields: (t) => ({
    name: t.exposeString('name', {
      description: 'What the screenshot shows, as Amplify names it (e.g. a device or page name).',
    }),
    url: t.expose('url', {
      type: 'URL',
      description: 'Where to download the image. Presigned: it expires.',
    }),
  }),
});

export const StepRef = builder.objectRef<StepRecord>('Step').implement({
  description:
    'One stage of a job, e.g. BUILD, DEPLOY, VERIFY or TEST. Steps appear as they start. Amplify sometimes omits members, so scalar fields can be null.',
  fields: (t) => ({
    stepName: t.exposeString('stepName', {
      nullable: true,
      description: "The step's name, such as `BUILD`, `DEPLOY`, `VERIFY` or `TEST`.",
    }),
    startTime: t.expose('startTime', {
      type: 'DateTime',
      nullable: true,
      description: 'When the step started.',
    }),
    status: t.expose('status', {
      type: JobStatusEnum,
      nullable: true,
      description: 'Where the step stands now.',
    }),
    endTime: t.expose('endTime', {
      type: 'DateTime',
      nullable: true,
      description: 'When the step ended; null while it is running.',
    }),
    logUrl: t.expose('logUrl', {
      type: 'URL',
      nullable: true,
      description: "The step's log as plain text. Presigned: it expires. Null when there is none.",
    }),
    artifactsUrl: t.expose('artifactsUrl', {
      type: 'URL',
      nullable: true,
      description:
        'The build artifacts the step produced (a zip). Presigned. Null when there are none.',
    }),
    testArtifactsUrl: t.expose('testArtifactsUrl', {
      type: 'URL',
      nullable: true,
      description:
        'The test artifacts (e.g. Cypress reports and videos). Presigned. Null when none.',
    }),
    testConfigUrl: t.expose('testConfigUrl', {
      type: 'URL',
      nullable: true,
      description: 'The test configuration used by the step. Presigned. Null when none.',
    }),
    screenshots: t.field({
      type: [ScreenshotRef],
      description: 'Screenshots taken during the step; empty for steps that take none.',
      resolve: (step) => step.screenshots,
    }),
    statusReason: t.exposeString('statusReason', {
      nullable: true,
      description: 'Why the step has its status, typically the error of a failed step.',
    }),
    context: t.exposeString('context', {
      nullable: true,
      description: 'Extra context from Amplify; for BUILD steps, the build image used.',
    }),
  }),
});
