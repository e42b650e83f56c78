// The host Services the resolveDNS rules answer with (hostService, hostNamespace, vClusterService):
// one Reflector of Services per host namespace the rules name, and no more. Least privilege: vcnet's
// host identity needs `list` and `watch` on `services` in exactly those namespaces (a Role and
// RoleBinding in each), never cluster-wide. When the rules change, setNamespaces starts the reflectors
// of new namespaces and stops those no rule names any longer.
import type { KubeConfig, V1Service } from '@kubernetes/client-node';
import { Reflector } from '../kube/watch.ts';
import { slimMeta } from './cluster-index.ts';

/** What the index knows about one host Service. */
export type HostServiceLookup =
  /** The namespace is not watched yet, or its first LIST has not finished (or failed): answer SERVFAIL. */
  | { readonly state: 'unknown' }
  | { readonly state: 'missing' }
  | { readonly state: 'found'; readonly service: V1Service };

export interface HostServices {
  lookup(namespace: string, name: string): HostServiceLookup;
  /** Runs after every change of what lookup answers; returns an unsubscribe. */
  onChange?(listener: () => void): () => void;
}

export class HostServiceIndex implements HostServices {
  readonly #kc: KubeConfig;
  readonly #reflectors = new Map<string, Reflector<V1Service>>();
  readonly #onError: ((namespace: string, err: unknown) => void) | undefined;
  readonly #listeners = new Set<() => void>();

  constructor(kc: KubeConfig, opts: { onError?: (namespace: string, err: unknown) => void } = {}) {
    this.#kc = kc;
    this.#onError = opts.onError;
  }

  /** Watches exactly these namespaces. Resolves once every newly started reflector has synced (or stopped). */
  async setNamespaces(namespaces: Iterable<string>): Promise<void> {
    const wanted = new Set(namespaces);
    const stopping: Array<Promise<void>> = [];
    for (const [ns, reflector] of this.#reflectors) {
      if (wanted.has(ns)) continue;
      this.#reflectors.delete(ns);
      stopping.push(reflector.stop());
    }
    const started: Array<Reflector<V1Service>> = [];
    for (const ns of wanted) {
      if (this.#reflectors.has(ns)) continue;
      const reflector = new Reflector<V1Service>(this.#kc, { resource: { version: 'v1', plural: 'services' }, namespace: ns, transform: slimHostService });
      reflector.on('error', (status) => this.#onError?.(ns, status));
      for (const event of ['add', 'update', 'delete', 'synced'] as const) reflector.on(event, () => this.#changed());
      this.#reflectors.set(ns, reflector.start());
      started.push(reflector);
    }
    // A namespace no longer watched answers `unknown` from now on.
    if (stopping.length > 0) this.#changed();
    await Promise.all([...stopping, ...started.map((r) => r.waitForSync().catch(() => undefined))]);
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const l of this.#listeners) l();
  }

  lookup(namespace: string, name: string): HostServiceLookup {
    const reflector = this.#reflectors.get(namespace);
    if (reflector === undefined || !reflector.hasSynced) return { state: 'unknown' };
    const service = reflector.store.get(`${namespace}/${name}`);
    return service === undefined ? { state: 'missing' } : { state: 'found', service };
  }

  async stop(): Promise<void> {
    const all = [...this.#reflectors.values()];
    this.#reflectors.clear();
    this.#changed();
    await Promise.all(all.map((r) => r.stop()));
  }
}

/**
 * What the index keeps of a host Service: its identity (the reflector's store and re-list diff need
 * name, namespace, resourceVersion and uid) and the spec fields the rules answer from (rule-resolver.ts
 * #service): type, externalName and the ClusterIPs. Idempotent, as the Reflector's transform must be.
 */
export function slimHostService(svc: V1Service): V1Service {
  const spec = svc.spec;
  return {
    apiVersion: svc.apiVersion, kind: svc.kind,
    metadata: slimMeta(svc.metadata),
    spec: { type: spec?.type, externalName: spec?.externalName, clusterIP: spec?.clusterIP, clusterIPs: spec?.clusterIPs },
  };
}
