/**
 * The Kubernetes manifests under deploy/kubernetes: every object is valid against the Kubernetes
 * API schemas (kubernetes-models), and the manifests agree with the app and with each other
 * (ports, probe paths, known settings, selectors, shutdown timing, the Dockerfile's user).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { dockerfileEnv } from '../../scripts/dockerfile-env.js';
import { accessControlProblem, CONFIG_VARIABLES, loadConfig } from '../../src/config.js';

const root = join(import.meta.dirname, '..', '..');
const dir = join(root, 'deploy', 'kubernetes');

interface Manifest {
  file: string;
  object: Record<string, unknown> & { apiVersion: string; kind: string };
}

/** The kubernetes-models class for each apiVersion/kind the manifests may use. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

function parseFile(file: string): Manifest[] {
  const docs = parseAllDocuments(readFileSync(join(dir, file), 'utf8'), { prettyErrors: true });
  const manifests: Manifest[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.join('; ')}`);
    const object: unknown = doc.toJS();
    if (object === null || object === undefined) continue;
    if (typeof object !== 'object' || !('apiVersion' in object) || !('kind' in object)) {
      throw new Error(`${file}: a document without apiVersion/kind`);
    }
    manifests.push({ file, object: object as Manifest['object'] });
  }
  return manifests;
}

/** Plain YAML access without `any`: walks a path of keys/indexes, undefined when absent. */
function at(value: unknown, ...path: Array<string | number>): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

function record(value: unknown): Record<string, unknown> {
  expect(value, 'expected a mapping').toBeTypeOf('object');
  return value as Record<string, unknown>;
}

function list(value: unknown): unknown[] {
  expect(Array.isArray(value), 'expected a list').toBe(true);
  return value as unknown[];
}

const kustomization = record(
  parseAllDocuments(readFileSync(join(dir, 'kustomization.yaml'), 'utf8'))[0]?.toJS(),
);
const resources = list(kustomization.resources).map(String);
const applied = resources.flatMap(parseFile);
const example = parseFile('secret.example.yaml');
const optional = readdirSync(join(dir, 'optional'))
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseFile(join('optional', f)));
const all = [...applied, ...example, ...optional];

function one(kind: string, from: Manifest[] = applied): Record<string, unknown> {
  const found = from.filter((m) => m.object.kind === kind);
  expect(
    found.map((m) => m.file),
    `exactly one ${kind}`,
  ).toHaveLength(1);
  return found[0]!.object;
}

const deployment = one('Deployment');
const podSpec = record(at(deployment, 'spec', 'template', 'spec'));
const container = record(list(podSpec.containers)[0]);
const configMap = one('ConfigMap');
const configData = record(configMap.data) as Record<string, string>;
const secret = one('Secret', example);
const podLabels = record(at(deployment, 'spec', 'template', 'metadata', 'labels'));

function selects(selector: unknown, labels: Record<string, unknown>): boolean {
  const matchLabels = record(at(selector, 'matchLabels'));
  expect(Object.keys(matchLabels).length).toBeGreaterThan(0);
  return Object.entries(matchLabels).every(([k, v]) => labels[k] === v);
}

function portNumber(port: unknown): number {
  if (typeof port === 'number') return port;
  const named = list(container.ports).find((p) => at(p, 'name') === port);
  return Number(at(named, 'containerPort'));
}

describe('Kubernetes manifests', () => {
  it('are all valid objects of the Kubernetes API, of kinds we know', () => {
    expect(all.length).toBeGreaterThanOrEqual(10);
    for (const { file, object } of all) {
      const Model = MODELS[`${object.apiVersion}/${object.kind}`];
      expect(Model, `${file}: unexpected ${object.apiVersion} ${object.kind}`).toBeDefined();
      expect(() => new Model!(object as never).validate(), `${file} ${object.kind}`).not.toThrow();
    }
  });

  it('fail schema validation when a field has the wrong type', () => {
    const broken = structuredClone(deployment);
    record(list(at(broken, 'spec', 'template', 'spec', 'containers'))[0]).ports = [
      { containerPort: 'four thousand' },
    ];
    expect(() => new Deployment(broken as never).validate()).toThrow(/containerPort/);
  });

  it('are all listed in kustomization.yaml, except the example Secret and the optional ones', () => {
    const files = readdirSync(dir).filter(
      (f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'secret.example.yaml',
    );
    expect([...resources].sort()).toEqual(files.sort());
    // Secrets are created per cluster, never applied from git.
    expect(applied.filter((m) => m.object.kind === 'Secret')).toEqual([]);
  });

  it('put every namespaced object in the kustomization namespace', () => {
    for (const { file, object } of all) {
      if (object.kind === 'Namespace') {
        expect(at(object, 'metadata', 'name')).toBe(kustomization.namespace);
      } else {
        expect(at(object, 'metadata', 'namespace'), file).toBe(kustomization.namespace);
      }
    }
  });

  it('agree on one port: container port, Service target port and PORT in the ConfigMap', () => {
    const service = one('Service');
    const containerPort = Number(at(list(container.ports)[0], 'containerPort'));
    expect(containerPort).toBe(Number(configData.PORT));
    const servicePorts = list(at(service, 'spec', 'ports'));
    expect(servicePorts).toHaveLength(1);
    expect(portNumber(at(servicePorts[0], 'targetPort'))).toBe(containerPort);
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${containerPort}$`, 'm'));
  });

  it('probe readiness on /ready and liveness and startup on /health, on the app port', () => {
    expect(at(container, 'readinessProbe', 'httpGet', 'path')).toBe('/ready');
    expect(at(container, 'livenessProbe', 'httpGet', 'path')).toBe('/health');
    expect(at(container, 'startupProbe', 'httpGet', 'path')).toBe('/health');
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      expect(portNumber(at(container, probe, 'httpGet', 'port')), probe).toBe(
        Number(configData.PORT),
      );
    }
  });

  it("give /ready's Amplify probe well under the readiness probe's timeout to answer", () => {
    const loaded = loadConfig({}, configData);
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    const probeMs = loaded.config.readinessProbe?.timeoutMs;
    const kubeletMs = Number(at(container, 'readinessProbe', 'timeoutSeconds')) * 1000;
    expect(probeMs).toBeDefined();
    // Half the kubelet's timeout at most: the answer must leave the pod with time to spare.
    expect(probeMs).toBeLessThanOrEqual(kubeletMs / 2);
  });

  it('set only variables the gateway knows, from the ConfigMap and the Secret it defines', () => {
    const names = [...Object.keys(configData), ...Object.keys(record(secret.stringData))];
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) expect(CONFIG_VARIABLES, name).toContain(name);
    const envFrom = list(container.envFrom);
    expect(envFrom.map((e) => at(e, 'configMapRef', 'name')).filter(Boolean)).toEqual([
      at(configMap, 'metadata', 'name'),
    ]);
    expect(envFrom.map((e) => at(e, 'secretRef', 'name')).filter(Boolean)).toEqual([
      at(secret, 'metadata', 'name'),
    ]);
    // Direct env entries must be known settings too.
    for (const entry of (container.env as unknown[] | undefined) ?? []) {
      expect(CONFIG_VARIABLES).toContain(at(entry, 'name'));
    }
  });

  it('hold ConfigMap values the gateway accepts, and Secret placeholders it refuses', () => {
    const accepted = loadConfig({}, configData);
    expect(accepted.ok ? [] : accepted.problems).toEqual([]);
    const secretData = record(secret.stringData) as Record<string, string>;
    const refused = loadConfig({}, { ...configData, ...secretData });
    expect(refused.ok ? [] : refused.problems).toEqual([
      expect.stringContaining('ROUTER_SECRET'),
      expect.stringContaining('API_KEYS'),
      expect.stringContaining('CURSOR_SECRET'),
    ]);
  });

  it('start securely: no access control from the ConfigMap alone, and the Secret supplies it', () => {
    const alone = loadConfig({}, configData);
    if (!alone.ok) throw new Error(alone.problems.join('; '));
    expect(configData.AUTH).toBeUndefined();
    expect(accessControlProblem(alone.config)).toMatch(/^Refusing to start without access control/);
    const secretKeys = Object.keys(record(secret.stringData));
    expect(secretKeys).toEqual(expect.arrayContaining(['ROUTER_SECRET', 'API_KEYS']));
    // The Secret's documented forms: a router secret, or API key hashes.
    for (const filled of [
      { ROUTER_SECRET: 'f'.repeat(64) },
      { API_KEYS: `dashboard:read:${'a'.repeat(64)}` },
    ]) {
      const loaded = loadConfig({}, { ...configData, ...filled });
      if (!loaded.ok) throw new Error(loaded.problems.join('; '));
      expect(accessControlProblem(loaded.config), Object.keys(filled)[0]).toBeNull();
    }
  });

  it('let Prometheus find /metrics on the app port', () => {
    const annotations = record(at(deployment, 'spec', 'template', 'metadata', 'annotations'));
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(Number(annotations['prometheus.io/port'])).toBe(Number(configData.PORT));
    expect(annotations['prometheus.io/path']).toBe('/metrics');
  });

  it('let the HPA scale the Deployment, and the Service and PDB select its pods', () => {
    expect(selects(at(deployment, 'spec', 'selector'), podLabels)).toBe(true);
    expect(selects({ matchLabels: at(one('Service'), 'spec', 'selector') }, podLabels)).toBe(true);
    expect(selects(at(one('PodDisruptionBudget'), 'spec', 'selector'), podLabels)).toBe(true);
    const hpa = one('HorizontalPodAutoscaler');
    expect(at(hpa, 'spec', 'scaleTargetRef')).toEqual({
      apiVersion: deployment.apiVersion,
      kind: 'Deployment',
      name: at(deployment, 'metadata', 'name'),
    });
    expect(Number(at(hpa, 'spec', 'minReplicas'))).toBeGreaterThanOrEqual(2);
    const cpu = list(at(hpa, 'spec', 'metrics')).find((m) => at(m, 'resource', 'name') === 'cpu');
    expect(at(cpu, 'resource', 'target', 'type')).toBe('Utilization');
    // Utilization is relative to the request: without one the HPA cannot compute it.
    expect(at(container, 'resources', 'requests', 'cpu')).toBeDefined();
    // The HPA owns the replica count.
    expect(at(deployment, 'spec', 'replicas')).toBeUndefined();
    // At most one pod may go at a time, and never all of them.
    expect(at(one('PodDisruptionBudget'), 'spec', 'maxUnavailable')).toBe(1);
  });

  it('run every Deployment non-root, read-only, without privileges, under RuntimeDefault seccomp', () => {
    const deployments = all.filter((m) => m.object.kind === 'Deployment');
    expect(deployments.length).toBeGreaterThanOrEqual(2);
    for (const { file, object } of deployments) {
      const spec = record(at(object, 'spec', 'template', 'spec'));
      expect(at(spec, 'securityContext', 'runAsNonRoot'), file).toBe(true);
      expect(Number(at(spec, 'securityContext', 'runAsUser')), file).toBeGreaterThan(0);
      expect(at(spec, 'securityContext', 'seccompProfile', 'type'), file).toBe('RuntimeDefault');
      for (const c of list(spec.containers)) {
        expect(at(c, 'securityContext', 'allowPrivilegeEscalation'), file).toBe(false);
        expect(at(c, 'securityContext', 'readOnlyRootFilesystem'), file).toBe(true);
        expect(at(c, 'securityContext', 'capabilities', 'drop'), file).toEqual(['ALL']);
        expect(at(c, 'resources', 'requests', 'memory'), file).toBeDefined();
        expect(at(c, 'resources', 'limits', 'memory'), file).toBeDefined();
      }
    }
  });

  it('run the gateway as the Dockerfile user, with a writable /tmp on an emptyDir', () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const user = /^USER (\d+)(?::(\d+))?$/m.exec(dockerfile);
    expect(user, 'numeric USER in the Dockerfile').not.toBeNull();
    expect(at(podSpec, 'securityContext', 'runAsUser')).toBe(Number(user![1]));
    const tmp = list(container.volumeMounts).find((m) => at(m, 'mountPath') === '/tmp');
    const volume = list(podSpec.volumes).find((v) => at(v, 'name') === at(tmp, 'name'));
    expect(at(volume, 'emptyDir')).toBeDefined();
  });

  it("cap Node's memory as the Dockerfile does, below the container limit", () => {
    const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
    const env = new Map(
      list(container.env).map((entry) => [String(at(entry, 'name')), String(at(entry, 'value'))]),
    );
    for (const name of ['NODE_OPTIONS', 'MALLOC_CONF', 'MALLOC_ARENA_MAX']) {
      const image = dockerfileEnv(dockerfile, name);
      expect(image, `${name} in the Dockerfile`).toBeDefined();
      expect(env.get(name), `${name} in deployment.yaml`).toBe(image);
    }
    const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(env.get('NODE_OPTIONS') ?? '')?.[1]);
    const limit = String(at(container, 'resources', 'limits', 'memory'));
    expect(limit).toMatch(/^\d+Mi$/);
    // The heap cap leaves room for code, buffers and the young generation inside the limit.
    expect(heapMiB).toBeGreaterThan(0);
    expect(heapMiB).toBeLessThanOrEqual(Number.parseInt(limit, 10) - 96);
  });

  it('hold LIVE_MAX_SUBSCRIPTIONS inside the heap cap, beside the idle gateway and a full cache', () => {
    const loaded = loadConfig({}, configData);
    expect(loaded.ok).toBe(true);
    if (!loaded.ok) return;
    const options = String(
      at(
        list(container.env).find((entry) => at(entry, 'name') === 'NODE_OPTIONS'),
        'value',
      ),
    );
    const heapMiB = Number(/--max-old-space-size=(\d+)/.exec(options)?.[1]);
    // Measured on Node 24 with these flags (README, "Caches, Redis and memory"): about 50 KB of
    // heap per open SSE subscription, about 36 MiB for the idle gateway, and up to three times
    // CACHE_MAX_BYTES for a full cache of Amplify answers.
    const subscriptionsMiB = (loaded.config.live.maxSubscriptions * 50) / 1024;
    const cacheMiB = (3 * (loaded.config.cache?.maxBytes ?? 0)) / 1024 / 1024;
    expect(36 + cacheMiB + subscriptionsMiB).toBeLessThanOrEqual(heapMiB);
  });

  it('give pods time to leave the endpoints and drain before they are killed', () => {
    const preStopSeconds = Number(at(container, 'lifecycle', 'preStop', 'sleep', 'seconds'));
    expect(preStopSeconds).toBeGreaterThanOrEqual(3);
    const drainMs = Number(configData.SHUTDOWN_TIMEOUT_MS);
    expect(drainMs).toBeGreaterThan(0);
    expect(Number(podSpec.terminationGracePeriodSeconds) * 1000).toBeGreaterThan(
      preStopSeconds * 1000 + drainMs,
    );
  });

  it('run as a ServiceAccount that documents its IRSA role', () => {
    const account = one('ServiceAccount');
    expect(podSpec.serviceAccountName).toBe(at(account, 'metadata', 'name'));
    expect(at(account, 'metadata', 'annotations', 'eks.amazonaws.com/role-arn')).toMatch(
      /^arn:aws:iam::\d{12}:role\/[\w+=,.@-]+$/,
    );
  });

  it('name the image that kustomization.yaml rewrites', () => {
    const images = list(kustomization.images);
    expect(images.map((i) => at(i, 'name'))).toContain(container.image);
  });
});
