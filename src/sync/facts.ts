// What the pod translation needs to know beyond the virtual pod (PodFacts in src/translate/pod.ts),
// read from caches so the synchronous write path costs no extra round trip in the steady state:
//   - the ClusterIPs of the host Services in front of vcnet's proxy (KUBERNETES_SERVICE_HOST, the
//     kubernetes host alias) and of vcnet's DNS (the pods' nameserver), and the former's UID as owner;
//   - the virtual Services of the pod's namespace (service-link variables) and its labels;
//   - the host's Kubernetes minor version;
//   - service-account tokens from the virtual API server (see tokens()).
import { VcnetError } from '../errors.ts';
import { KubeTransport } from '../kube/index.ts';
import type { Logger } from '../observability/logger.ts';
import type { PodFacts, ServiceAccountTokenRequest } from '../translate/index.ts';
import { Informer, type WireObject } from './informers.ts';
import type { SyncSettings } from './options.ts';

interface ServiceObject extends WireObject {
  spec?: { clusterIP?: string; ports?: Array<{ name?: string; port: number; protocol?: string }> };
}

interface TokenRequestStatus {
  status?: { token?: string; expirationTimestamp?: string };
}

/**
 * A token vcnet requests while the virtual pod is still being admitted, so the host pod can start at
 * once: the API server cannot bind a token to a pod it has not stored yet, so this one is bound to
 * nothing, short-lived, and shared by the pods of one service account and audience set. The
 * reconciler replaces it by pod-bound tokens as soon as the virtual pod exists (BOUND_TOKENS).
 */
export const BOOTSTRAP_TOKEN_SECONDS = 2 * 60 * 60;
/** A cached bootstrap token is handed out while it has at least this much life left. */
const BOOTSTRAP_MIN_REMAINING_MS = 60 * 60 * 1000;

export interface FactsSourceOptions {
  readonly virtual: { readonly kubeConfig: import('@kubernetes/client-node').KubeConfig; readonly transport: KubeTransport };
  readonly host: { readonly kubeConfig: import('@kubernetes/client-node').KubeConfig; readonly transport: KubeTransport };
  readonly settings: SyncSettings;
  readonly logger: Logger;
}

export class PodFactsSource {
  readonly namespaces: Informer;
  readonly services: Informer<ServiceObject>;
  readonly hostServices: Informer<ServiceObject>;
  readonly #opts: FactsSourceOptions;
  #hostMinor: number | undefined;
  readonly #bootstrap = new Map<string, { token: string; expiresAt: number }>();

  constructor(opts: FactsSourceOptions) {
    this.#opts = opts;
    this.namespaces = new Informer(opts.virtual.kubeConfig, { cluster: 'virtual', resource: { version: 'v1', plural: 'namespaces' } }, opts.logger);
    this.services = new Informer<ServiceObject>(opts.virtual.kubeConfig, { cluster: 'virtual', resource: { version: 'v1', plural: 'services' } }, opts.logger);
    this.hostServices = new Informer<ServiceObject>(opts.host.kubeConfig, {
      cluster: 'host', resource: { version: 'v1', plural: 'services' }, namespace: opts.settings.hostNamespace,
    }, opts.logger);
  }

  async start(): Promise<void> {
    for (const i of [this.namespaces, this.services, this.hostServices]) i.start();
    await Promise.all([this.namespaces.synced(), this.services.synced(), this.hostServices.synced()]);
    const version = await this.#opts.host.transport.getJson<{ minor?: string }>('/version').catch(() => undefined);
    const minor = Number.parseInt(version?.minor ?? '', 10);
    this.#hostMinor = Number.isFinite(minor) ? minor : undefined;
  }

  async stop(): Promise<void> {
    await Promise.all([this.namespaces.stop(), this.services.stop(), this.hostServices.stop()]);
  }

  /** The facts for a pod in `vNamespace`; throws VCN_ERR_SYNC_NOT_READY when a host Service lacks its ClusterIP. */
  facts(vNamespace: string, what: string): PodFacts {
    const s = this.#opts.settings;
    const kube = this.#hostService(s.kubeService, 'vcnet.host.service', what);
    const dns = this.#hostService(s.dnsService, 'vcnet.host.dnsService', what);
    const services = [...this.services.store.values()].filter((svc) => svc.metadata.namespace === vNamespace);
    return {
      dnsIP: dns.spec?.clusterIP ?? '',
      kubeIP: kube.spec?.clusterIP ?? '',
      services: services.map((svc) => ({ metadata: { name: svc.metadata.name ?? '' }, spec: svc.spec ?? {} })),
      namespaceLabels: this.namespaceLabels(vNamespace),
      ...(this.#hostMinor !== undefined ? { hostMinorVersion: this.#hostMinor } : {}),
      owner: { apiVersion: 'v1', kind: 'Service', name: kube.metadata.name ?? '', uid: kube.metadata.uid ?? '' },
    };
  }

  namespaceLabels(vNamespace: string): Record<string, string> {
    return { ...this.namespaces.get('', vNamespace)?.metadata.labels };
  }

  #hostService(name: string, field: string, what: string): ServiceObject {
    const svc = this.hostServices.get(this.#opts.settings.hostNamespace, name);
    const ip = svc?.spec?.clusterIP ?? '';
    if (svc === undefined || ip === '' || ip === 'None') {
      throw new VcnetError('VCN_ERR_SYNC_NOT_READY', [what,
        `the host Service ${this.#opts.settings.hostNamespace}/${name} (${field}) ${svc === undefined ? 'does not exist' : 'has no ClusterIP'}`]);
    }
    return svc;
  }

  /**
   * Tokens for the projected service-account token volumes, keyed as podToHost expects. `bound`:
   * each bound to the virtual pod, which must exist (the reconciler's case); otherwise bootstrap
   * tokens (see BOOTSTRAP_TOKEN_SECONDS).
   */
  async tokens(requests: readonly ServiceAccountTokenRequest[], vNamespace: string, bound: boolean, signal?: AbortSignal): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    await Promise.all(requests.map(async (r) => {
      out[r.key] = bound ? await this.#requestToken(vNamespace, r, true, signal) : await this.#bootstrapToken(vNamespace, r, signal);
    }));
    return out;
  }

  async #bootstrapToken(vNamespace: string, r: ServiceAccountTokenRequest, signal?: AbortSignal): Promise<string> {
    const key = `${vNamespace}/${r.serviceAccountName}/${[...r.audiences].sort().join(',')}`;
    const cached = this.#bootstrap.get(key);
    if (cached !== undefined && cached.expiresAt - Date.now() > BOOTSTRAP_MIN_REMAINING_MS) return cached.token;
    const token = await this.#requestToken(vNamespace, r, false, signal);
    this.#bootstrap.set(key, { token, expiresAt: Date.now() + BOOTSTRAP_TOKEN_SECONDS * 1000 });
    return token;
  }

  async #requestToken(vNamespace: string, r: ServiceAccountTokenRequest, bound: boolean, signal?: AbortSignal): Promise<string> {
    const body = {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
      spec: {
        audiences: [...r.audiences],
        expirationSeconds: bound ? r.expirationSeconds : BOOTSTRAP_TOKEN_SECONDS,
        ...(bound ? { boundObjectRef: { ...r.boundObjectRef } } : {}),
      },
    };
    const path = `/api/v1/namespaces/${encodeURIComponent(vNamespace)}/serviceaccounts/${encodeURIComponent(r.serviceAccountName)}/token`;
    const res = await this.#opts.virtual.transport.request<TokenRequestStatus>('POST', path, { body, ...(signal ? { signal } : {}) });
    const token = res.status?.token ?? '';
    if (token === '') throw new VcnetError('VCN_ERR_SYNC_NOT_READY', [`the token of service account ${vNamespace}/${r.serviceAccountName}`, 'the virtual API server answered a TokenRequest without a token']);
    return token;
  }
}
