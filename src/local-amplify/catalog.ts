/**
 * The fixed cast of the demo world: realistic apps and branches (including branch names with `/`,
 * spaces and non-ASCII characters, which the SDK sends percent-encoded) and the text pools jobs
 * draw from. Ids, times and outcomes come from the seed; this file only holds the script.
 */
import type { JobStatus, StepName } from './model.js';

/** The status the newest job of a branch is in when the emulator starts (and then progresses). */
export type LiveStatus = Exclude<JobStatus, 'SUCCEED' | 'FAILED' | 'CANCELLED'>;

export interface BranchBlueprint {
  readonly name: string;
  readonly stage: string;
  readonly description: string;
  readonly enableAutoBuild: boolean;
  readonly enableNotification: boolean;
  readonly enableBasicAuth: boolean;
  readonly enablePerformanceMode: boolean;
  readonly ttl: string;
  readonly customDomains: readonly string[];
  readonly environmentVariables: Readonly<Record<string, string>>;
  readonly pullRequest?: {
    readonly sourceBranch: string;
    readonly destinationBranch: string;
    readonly environmentName: string;
  };
  readonly live?: LiveStatus;
}

export interface AppBlueprint {
  readonly name: string;
  readonly description: string;
  readonly repository?: string;
  readonly platform: 'WEB' | 'WEB_DYNAMIC' | 'WEB_COMPUTE';
  readonly framework: string;
  readonly hasTests: boolean;
  readonly manualDeploy: boolean;
  readonly gen2Backend: boolean;
  readonly buildComputeType: 'STANDARD_8GB' | 'LARGE_16GB' | 'XLARGE_72GB';
  readonly environmentVariables: Readonly<Record<string, string>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly autoBranchCreationPatterns?: readonly string[];
  readonly buildCommand: string;
  readonly packageName: string;
  readonly branches: readonly BranchBlueprint[];
}

/** A branch blueprint with the defaults most branches share. */
export const branch = (
  name: string,
  stage: string,
  description: string,
  extra: Partial<BranchBlueprint> = {},
): BranchBlueprint => ({
  name,
  stage,
  description,
  enableAutoBuild: true,
  enableNotification: false,
  enableBasicAuth: false,
  enablePerformanceMode: false,
  ttl: '5',
  customDomains: [],
  environmentVariables: {},
  ...extra,
});

export const APP_BLUEPRINTS: readonly AppBlueprint[] = [
  {
    name: 'storefront-web',
    description: 'Next.js storefront for the Acme online shop',
    repository: 'https://github.com/acme-retail/storefront-web',
    platform: 'WEB_COMPUTE',
    framework: 'Next.js - SSR',
    hasTests: true,
    manualDeploy: false,
    gen2Backend: true,
    buildComputeType: 'LARGE_16GB',
    environmentVariables: {
      NEXT_PUBLIC_API_URL: 'https://api.acme-retail.example',
      _LIVE_UPDATES: '[{"pkg":"next-version","type":"internal","version":"latest"}]',
    },
    tags: { team: 'storefront', 'cost-center': 'retail-web' },
    autoBranchCreationPatterns: ['feature/*', 'fix/*'],
    buildCommand: 'next build',
    packageName: 'storefront-web',
    branches: [
      branch('main', 'PRODUCTION', 'Production storefront', {
        enableNotification: true,
        enablePerformanceMode: true,
        customDomains: ['shop.acme-retail.example', 'www.shop.acme-retail.example'],
        live: 'RUNNING',
      }),
      branch('develop', 'DEVELOPMENT', 'Integration branch', {
        environmentVariables: { NEXT_PUBLIC_API_URL: 'https://api.dev.acme-retail.example' },
        live: 'PENDING',
      }),
      branch('feature/login', 'EXPERIMENTAL', 'Passwordless login', { live: 'CREATED' }),
      branch('release 2.0', 'BETA', 'Release candidate for 2.0', {
        enableBasicAuth: true,
        live: 'PROVISIONING',
      }),
      branch('fix/ünïcode-日本', 'EXPERIMENTAL', 'Unicode product names in the cart', {
        live: 'CANCELLING',
      }),
      branch('pr-42', 'PULL_REQUEST', 'Pull request #42: passwordless login', {
        enableAutoBuild: true,
        pullRequest: {
          sourceBranch: 'feature/login',
          destinationBranch: 'develop',
          environmentName: 'pr42',
        },
      }),
    ],
  },
  {
    name: 'marketing-site',
    description: 'Public marketing website built with Astro',
    repository: 'https://gitlab.com/acme/marketing-site',
    platform: 'WEB',
    framework: 'Astro',
    hasTests: false,
    manualDeploy: false,
    gen2Backend: false,
    buildComputeType: 'STANDARD_8GB',
    environmentVariables: { PUBLIC_ANALYTICS_ID: 'G-ACME12345' },
    tags: { team: 'marketing' },
    buildCommand: 'astro build',
    packageName: 'marketing-site',
    branches: [
      branch('main', 'PRODUCTION', 'www.acme.example', {
        customDomains: ['www.acme.example'],
        ttl: '300',
        live: 'RUNNING',
      }),
      branch('staging', 'BETA', 'Staging for content review', { enableBasicAuth: true }),
      branch('feature/hero-banner', 'DEVELOPMENT', 'New hero banner experiment'),
      branch('content/café-menu', 'EXPERIMENTAL', 'Seasonal café menu pages'),
    ],
  },
  {
    name: 'docs-portal',
    description: 'Developer documentation, deployed manually from CI artifacts',
    platform: 'WEB',
    framework: 'Web',
    hasTests: false,
    manualDeploy: true,
    gen2Backend: false,
    buildComputeType: 'STANDARD_8GB',
    environmentVariables: {},
    tags: { team: 'developer-experience' },
    buildCommand: '',
    packageName: 'docs-portal',
    branches: [
      branch('main', 'PRODUCTION', 'docs.acme.example', {
        enableAutoBuild: false,
        customDomains: ['docs.acme.example'],
        live: 'RUNNING',
      }),
      branch('preview', 'DEVELOPMENT', 'Preview of unreleased docs', { enableAutoBuild: false }),
    ],
  },
  {
    name: 'partner-dashboard',
    description: 'React single-page dashboard for partners',
    repository: 'https://github.com/acme-retail/partner-dashboard',
    platform: 'WEB',
    framework: 'React',
    hasTests: true,
    manualDeploy: false,
    gen2Backend: false,
    buildComputeType: 'STANDARD_8GB',
    environmentVariables: { VITE_SENTRY_DSN: 'https://public@sentry.example/42' },
    tags: { team: 'partners' },
    buildCommand: 'vite build',
    packageName: 'partner-dashboard',
    branches: [
      branch('main', 'PRODUCTION', 'partners.acme.example', {
        customDomains: ['partners.acme.example'],
      }),
      branch('dev', 'DEVELOPMENT', 'Shared development environment', { live: 'PENDING' }),
      branch('feature/csv export', 'EXPERIMENTAL', 'CSV export of partner orders'),
    ],
  },
];

/** The app that reproduces live-service deviations (spec §7). */
export const QUIRKS_APP_NAME = 'live-service-quirks';

export const COMMIT_MESSAGES: readonly string[] = [
  'Fix header layout on small screens',
  'Add passwordless login form',
  'Bump next from 14.2.3 to 14.2.5',
  'Merge pull request #41 from acme-retail/feature/login',
  'Refactor cart state into a reducer',
  'Update product image CDN host',
  'Add Cypress test for checkout',
  'Fix typo in footer',
  'Cache product listing for 60 seconds',
  'Upgrade to Node 20 in build image',
  'Remove unused dependencies',
  'Add sitemap generation',
  'Translate checkout page to Japanese',
  'Handle empty search results',
  'Lazy-load the reviews widget',
  'Pin eslint to 8.57.0',
  'Merge branch develop into main',
  'Add structured data for products',
  'Fix flaky date test',
  'Improve Lighthouse score on home page',
  'Tighten Content-Security-Policy',
  'Rename env var API_URL to NEXT_PUBLIC_API_URL',
  'Add dark mode toggle',
  'Revert "Add dark mode toggle"',
  'Update privacy policy',
  'Paginate order history',
  'Use Intl.NumberFormat for prices',
  'Fix ünïcode handling in slugs',
  'Add 404 page',
  'Split vendor bundle',
];

export const FAILURE_REASONS: Readonly<Record<StepName, readonly string[]>> = {
  BUILD: [
    'Build failed: Command failed with exit code 1: npm run build',
    'Build failed: npm ERR! code ERESOLVE unable to resolve dependency tree',
    'Build failed: JavaScript heap out of memory',
  ],
  TEST: [
    'Test failed: 2 of 14 Cypress specs failed',
    'Test failed: Cypress could not verify that the server is running',
  ],
  DEPLOY: [
    'Deployment failed: the build output directory .next was not found',
    'Deployment failed: the size of the build output exceeds the maximum of 5 GB',
  ],
  VERIFY: ['Verification failed: the home page returned HTTP 500'],
};

export const BUILD_IMAGES: readonly string[] = [
  'Image: amplify:al2023',
  'Image: amplify:al2023',
  'Image: amplify:al2',
];

export const CYPRESS_SPECS: readonly string[] = [
  'login.cy.ts',
  'checkout.cy.ts',
  'search.cy.ts',
  'cart.cy.ts',
  'account.cy.ts',
  'orders.cy.ts',
];

export const SCREENSHOT_DEVICES: readonly string[] = ['desktop.png', 'tablet.png', 'mobile.png'];
