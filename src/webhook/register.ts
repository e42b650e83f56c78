// Registering vcnet's webhooks with a cluster: Mutating/ValidatingWebhookConfiguration objects built
// from a spec (pure, below) and written create-or-update. Field semantics follow
// k8s.io/api admissionregistration/v1 and
// https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AdmissionregistrationV1Api, type KubeConfig, type V1LabelSelector, type V1LabelSelectorRequirement,
  type V1MutatingWebhookConfiguration, type V1RuleWithOperations, type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { isAlreadyExists, isConflict, isNotFound, toApiStatus } from '../kube/index.ts';
import { SYSTEM_NAMESPACES as SYNC_SYSTEM_NAMESPACES } from '../sync/reconciler.ts';

/**
 * Namespaces no vcnet webhook ever sees: if the webhook is down, the controllers that could repair it
 * (and kube-system's own leases) must keep working.
 */
export const SYSTEM_NAMESPACES: readonly string[] = [...SYNC_SYSTEM_NAMESPACES];
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/**
 * Where the API server reaches the webhook server. `url` (https://127.0.0.1:<port>) for local control
 * planes: a `service` reference resolves to a ClusterIP, unreachable without kube-proxy.
 */
export type WebhookEndpoint =
  | { readonly url: string }
  | { readonly service: { readonly namespace: string; readonly name: string; readonly port?: number } };

export interface WebhookSpec {
  /** Fully qualified, at least three DNS labels (`pods.sync.vcnet.dev`); unique within the configuration. */
  readonly name: string;
  /** The hook's path on the webhook server (the plugin's `path`). */
  readonly path: string;
  readonly rules: readonly V1RuleWithOperations[];
  /** Default `Fail`, as in admissionregistration/v1. */
  readonly failurePolicy?: 'Fail' | 'Ignore';
  /** 1–30, default 10. */
  readonly timeoutSeconds?: number;
  /** ANDed with the exclusion of SYSTEM_NAMESPACES and `excludeNamespaces`. */
  readonly namespaceSelector?: V1LabelSelector;
  /** More namespaces to leave alone, typically vcnet's own. */
  readonly excludeNamespaces?: readonly string[];
  readonly objectSelector?: V1LabelSelector;
}

export interface WebhookConfigurationSpec {
  readonly type: 'mutating' | 'validating';
  /** The configuration object's name. */
  readonly name: string;
  readonly endpoint: WebhookEndpoint;
  /**
   * PEM CA certificate(s) the serving certificate chains to. During a CA rotation pass the old and the
   * new CA together: the API server trusts every certificate in the bundle.
   */
  readonly caBundle: string | readonly string[];
  readonly webhooks: readonly WebhookSpec[];
  readonly labels?: Readonly<Record<string, string>>;
}

type WebhookConfiguration = V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration;

/** The configuration object for `spec`. Throws a TypeError naming the field when the spec is unusable. */
export function webhookConfiguration(spec: WebhookConfigurationSpec): WebhookConfiguration {
  validateSpec(spec);
  const caBundle = Buffer.from(caBundlePem(spec.caBundle), 'utf8').toString('base64');
  const webhooks = spec.webhooks.map((w) => {
    const common = {
      name: w.name,
      clientConfig: { ...clientConfig(spec.endpoint, w.path), caBundle },
      rules: w.rules.map((r) => ({ ...r })),
      failurePolicy: w.failurePolicy ?? 'Fail',
      // dryRun requests reach the webhook (None would also do; NoneOnDryRun documents that the
      // sync hooks have side effects outside dry runs and must skip them then).
      sideEffects: 'NoneOnDryRun',
      admissionReviewVersions: ['v1'],
      timeoutSeconds: w.timeoutSeconds ?? 10,
      matchPolicy: 'Equivalent',
      namespaceSelector: namespaceSelector(w),
      ...(w.objectSelector !== undefined ? { objectSelector: w.objectSelector } : {}),
    };
    return spec.type === 'mutating' ? { ...common, reinvocationPolicy: 'Never' } : common;
  });
  const metadata = { name: spec.name, ...(spec.labels !== undefined ? { labels: { ...spec.labels } } : {}) };
  return spec.type === 'mutating'
    ? { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata, webhooks }
    : { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata, webhooks };
}

/** Several PEM CAs as one bundle, each ending in a newline. */
export function caBundlePem(cas: string | readonly string[]): string {
  const list = typeof cas === 'string' ? [cas] : cas;
  return list.map((pem) => pem.trim() + '\n').join('');
}

function clientConfig(endpoint: WebhookEndpoint, path: string): { url: string } | { service: { namespace: string; name: string; port: number; path: string } } {
  if ('url' in endpoint) return { url: endpoint.url.replace(/\/+$/, '') + path };
  return { service: { namespace: endpoint.service.namespace, name: endpoint.service.name, port: endpoint.service.port ?? 443, path } };
}

function namespaceSelector(w: WebhookSpec): V1LabelSelector {
  const excluded: V1LabelSelectorRequirement = {
    key: NAMESPACE_NAME_LABEL, operator: 'NotIn', values: [...new Set([...SYSTEM_NAMESPACES, ...(w.excludeNamespaces ?? [])])],
  };
  const extra = w.namespaceSelector ?? {};
  return {
    ...(extra.matchLabels !== undefined ? { matchLabels: { ...extra.matchLabels } } : {}),
    matchExpressions: [...(extra.matchExpressions ?? []), excluded],
  };
}

function validateSpec(spec: WebhookConfigurationSpec): void {
  const where = `webhook configuration "${String(spec?.name)}"`;
  if (spec.type !== 'mutating' && spec.type !== 'validating') throw new TypeError(`${where}: type must be "mutating" or "validating"`);
  if (typeof spec.name !== 'string' || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(spec.name)) throw new TypeError(`${where}: name must be a DNS subdomain`);
  if ('url' in spec.endpoint) {
    let url: URL;
    try { url = new URL(spec.endpoint.url); } catch { throw new TypeError(`${where}: endpoint.url "${spec.endpoint.url}" is not a URL`); }
    // admissionregistration validation: "'https' is the only allowed URL scheme", no user info, query or fragment.
    if (url.protocol !== 'https:') throw new TypeError(`${where}: endpoint.url must be https:// (the API server only calls https webhooks), got ${spec.endpoint.url}`);
    if (url.username !== '' || url.search !== '' || url.hash !== '') throw new TypeError(`${where}: endpoint.url may not carry user info, a query or a fragment`);
  }
  const cas = typeof spec.caBundle === 'string' ? [spec.caBundle] : spec.caBundle;
  if (cas.length === 0 || cas.some((pem) => !pem.includes('-----BEGIN CERTIFICATE-----'))) {
    throw new TypeError(`${where}: caBundle must hold one or more PEM certificates`);
  }
  if (spec.webhooks.length === 0) throw new TypeError(`${where}: webhooks must not be empty`);
  const names = new Set<string>();
  spec.webhooks.forEach((w, i) => {
    const at = `${where}: webhooks[${i}]`;
    // The API server requires a fully qualified name: at least three segments.
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?){2,}$/.test(w.name)) {
      throw new TypeError(`${at}.name must be fully qualified with at least three segments (e.g. pods.sync.vcnet.dev), got "${w.name}"`);
    }
    if (names.has(w.name)) throw new TypeError(`${at}.name "${w.name}" is used twice`);
    names.add(w.name);
    if (!w.path.startsWith('/')) throw new TypeError(`${at}.path must start with "/", got "${w.path}"`);
    const timeout = w.timeoutSeconds ?? 10;
    if (!Number.isInteger(timeout) || timeout < 1 || timeout > 30) throw new TypeError(`${at}.timeoutSeconds must be an integer from 1 to 30, got ${timeout}`);
    if (w.rules.length === 0) throw new TypeError(`${at}.rules must not be empty`);
  });
}

export interface RegisteredWebhooks {
  readonly name: string;
  readonly type: 'mutating' | 'validating';
  /**
   * Resolves once `probe` returns true. The API server reads webhook configurations through an
   * informer, so a new or changed configuration takes effect some time after the write; a probe is a
   * request the webhook visibly answers (e.g. a dry-run create it mutates or denies).
   */
  waitUntilLive(probe: () => Promise<boolean>, opts?: { timeoutMs?: number; intervalMs?: number }): Promise<void>;
  /** Deletes the configuration; already gone is fine. */
  unregister(): Promise<void>;
}

/** Creates the configuration, or replaces the one of the same name. */
export async function registerWebhooks(kc: KubeConfig, spec: WebhookConfigurationSpec): Promise<RegisteredWebhooks> {
  await createOrReplace(configurationCalls(kc, spec.type), spec.name, webhookConfiguration(spec));
  return {
    name: spec.name,
    type: spec.type,
    waitUntilLive: (probe, opts) => waitUntil(probe, `${spec.type} webhook configuration "${spec.name}"`, opts),
    unregister: () => unregisterWebhooks(kc, spec.type, spec.name),
  };
}

/**
 * Deletes a configuration vcnet no longer serves (a sync turned off since the last start): left in
 * place, its failurePolicy Fail would refuse every write it matches. Already gone is fine.
 */
export async function unregisterWebhooks(kc: KubeConfig, type: 'mutating' | 'validating', name: string): Promise<void> {
  try {
    await configurationCalls(kc, type).delete(name);
  } catch (err) {
    if (!isNotFound(err)) throw new Error(`cannot delete ${type} webhook configuration "${name}": ${toApiStatus(err).message}`, { cause: err });
  }
}

/** The admissionregistration.k8s.io/v1 calls for one kind of configuration: the two kinds differ only in their paths. */
function configurationCalls(kc: KubeConfig, type: 'mutating' | 'validating'): Calls {
  const api = kc.makeApiClient(AdmissionregistrationV1Api);
  return type === 'mutating'
    ? {
      create: (body) => api.createMutatingWebhookConfiguration({ body }),
      read: (name) => api.readMutatingWebhookConfiguration({ name }),
      replace: (name, body) => api.replaceMutatingWebhookConfiguration({ name, body }),
      delete: (name) => api.deleteMutatingWebhookConfiguration({ name }),
    }
    : {
      create: (body) => api.createValidatingWebhookConfiguration({ body }),
      read: (name) => api.readValidatingWebhookConfiguration({ name }),
      replace: (name, body) => api.replaceValidatingWebhookConfiguration({ name, body }),
      delete: (name) => api.deleteValidatingWebhookConfiguration({ name }),
    };
}

interface Calls {
  create(body: WebhookConfiguration): Promise<WebhookConfiguration>;
  read(name: string): Promise<WebhookConfiguration>;
  replace(name: string, body: WebhookConfiguration): Promise<WebhookConfiguration>;
  delete(name: string): Promise<unknown>;
}

async function createOrReplace(calls: Calls, name: string, desired: WebhookConfiguration): Promise<void> {
  const fail = (err: unknown): never => {
    throw new Error(`cannot register webhook configuration "${name}": ${toApiStatus(err).message}`, { cause: err });
  };
  try {
    await calls.create(desired);
    return;
  } catch (err) {
    if (!isAlreadyExists(err)) fail(err);
  }
  // Another replica may be writing the same configuration: re-read on conflict, a few times.
  for (let attempt = 0; ; attempt++) {
    try {
      const current = await calls.read(name);
      const rv = current.metadata?.resourceVersion;
      await calls.replace(name, { ...desired, metadata: { ...desired.metadata, ...(rv !== undefined ? { resourceVersion: rv } : {}) } });
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= 4) fail(err);
    }
  }
}

async function waitUntil(probe: () => Promise<boolean>, what: string, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      if (await probe()) return;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      const why = last === undefined ? 'the probe never saw the webhook answer' : `the last probe failed: ${(last as Error).message ?? String(last)}`;
      throw new Error(`${what} did not take effect within ${opts.timeoutMs ?? 30_000} ms: ${why}`, { cause: last });
    }
    await sleep(opts.intervalMs ?? 200);
  }
}
