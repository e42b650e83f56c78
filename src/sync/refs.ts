// ConfigMaps and Secrets that synced pods refer to (§2.1 "References rewritten to host names"): each
// is copied to the host under its translated name before the pod that needs it, kept equal to the
// virtual object while it exists, and removed from the host once no host pod refers to it any more.
// Only referenced objects are synced, as vCluster does unless `sync.toHost.{configMaps,secrets}.all`.
import { VcnetError } from '../errors.ts';
import { isAlreadyExists, isNotFound, type KubeTransport } from '../kube/index.ts';
import type { Logger } from '../observability/logger.ts';
import {
  hostMarkerSelector, KINDS, notManagedReason, toHostObjectMeta, virtualRefOf, type PodReference, type Translator,
} from '../translate/index.ts';
import { Informer, type WireObject } from './informers.ts';

export type RefKind = 'ConfigMap' | 'Secret';
const PLURAL: Record<RefKind, string> = { ConfigMap: 'configmaps', Secret: 'secrets' };
/** The fields that carry a ConfigMap's or Secret's content. */
const CONTENT: Record<RefKind, readonly string[]> = { ConfigMap: ['data', 'binaryData', 'immutable'], Secret: ['data', 'type', 'immutable'] };

export interface ReferenceSyncOptions {
  readonly tr: Translator;
  readonly virtual: { readonly kubeConfig: import('@kubernetes/client-node').KubeConfig; readonly transport: KubeTransport };
  readonly host: { readonly kubeConfig: import('@kubernetes/client-node').KubeConfig; readonly transport: KubeTransport };
  readonly logger: Logger;
}

export class ReferenceSync {
  readonly virtual: Record<RefKind, Informer>;
  readonly host: Record<RefKind, Informer>;
  readonly #opts: ReferenceSyncOptions;
  /** When each host copy was last needed by a pod write, so garbage collection spares copies in use by a write in flight. */
  readonly #lastEnsured = new Map<string, number>();

  constructor(opts: ReferenceSyncOptions) {
    this.#opts = opts;
    const selector = hostMarkerSelector(opts.tr);
    const make = (cluster: 'virtual' | 'host', kind: RefKind): Informer => new Informer(
      cluster === 'virtual' ? opts.virtual.kubeConfig : opts.host.kubeConfig,
      {
        cluster, resource: { version: 'v1', plural: PLURAL[kind] },
        ...(cluster === 'host' ? { namespace: opts.tr.hostNamespace, labelSelector: selector } : {}),
      },
      opts.logger,
    );
    this.virtual = { ConfigMap: make('virtual', 'ConfigMap'), Secret: make('virtual', 'Secret') };
    this.host = { ConfigMap: make('host', 'ConfigMap'), Secret: make('host', 'Secret') };
  }

  #all(): Informer[] {
    return [this.virtual.ConfigMap, this.virtual.Secret, this.host.ConfigMap, this.host.Secret];
  }

  async start(): Promise<void> {
    for (const i of this.#all()) i.start();
    await Promise.all(this.#all().map((i) => i.synced()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#all().map((i) => i.stop()));
  }

  /**
   * Makes sure every ConfigMap and Secret in `refs` has its host copy. A reference to an object that
   * does not exist in the virtual cluster is skipped: the host pod then waits for it exactly as a pod
   * waits for a missing ConfigMap in any cluster, and the copy is made when the object appears.
   */
  async ensure(refs: readonly PodReference[], opts: { dryRun?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    const now = Date.now();
    for (const r of refs) this.#lastEnsured.set(`${r.kind}/${r.host.name}`, now);
    await Promise.all(refs.filter((r): r is PodReference & { kind: RefKind } => r.kind === 'ConfigMap' || r.kind === 'Secret')
      .map((r) => this.syncOne(r.kind, r.virtual.namespace, r.virtual.name, opts)));
  }

  /** The host copy of one virtual object as it should be, or undefined when the virtual object is gone. */
  desired(kind: RefKind, vObj: WireObject): WireObject {
    const meta = toHostObjectMeta(this.#opts.tr, vObj.metadata, KINDS[kind]);
    const out: WireObject = { apiVersion: 'v1', kind, metadata: { ...meta } as WireObject['metadata'] };
    for (const f of CONTENT[kind]) if (vObj[f] !== undefined) out[f] = vObj[f];
    return out;
  }

  /**
   * Brings the host copy of virtual `<vNamespace>/<vName>` in line: created when missing, updated
   * when different, deleted when the virtual object is gone. Never touches a host object vcnet does
   * not manage (VCN_ERR_SYNC_HOST_CONFLICT).
   */
  async syncOne(kind: RefKind, vNamespace: string, vName: string, opts: { dryRun?: boolean; signal?: AbortSignal; deleteIfGone?: boolean } = {}): Promise<void> {
    const tr = this.#opts.tr;
    const hName = tr.hostName(vName, vNamespace);
    const vObj = this.virtual[kind].get(vNamespace, vName);
    const hObj = this.host[kind].get(tr.hostNamespace, hName);
    const base = `/api/v1/namespaces/${tr.hostNamespace}/${PLURAL[kind]}`;
    const query = opts.dryRun ? { dryRun: 'All' } : {};
    const signal = opts.signal ? { signal: opts.signal } : {};
    if (vObj === undefined) {
      if (opts.deleteIfGone && hObj !== undefined && !opts.dryRun) {
        await this.#opts.host.transport.request('DELETE', `${base}/${hName}`, { query: { ...query }, body: { preconditions: { uid: hObj.metadata.uid } }, ...signal })
          .catch((err: unknown) => { if (!isNotFound(err)) throw err; });
      }
      return;
    }
    const want = this.desired(kind, vObj);
    if (hObj !== undefined && sameContent(kind, want, hObj) && sameMeta(want, hObj)) return;
    if (hObj === undefined) {
      try {
        await this.#opts.host.transport.request('POST', base, { query, body: want, ...signal });
        return;
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }
    // Present on the host (the cache may lag behind a write a moment ago): read, check, update.
    const current = await this.#opts.host.transport.request<WireObject>('GET', `${base}/${hName}`, signal);
    const why = notManagedReason(tr, current.metadata, KINDS[kind]);
    if (why !== undefined) throw new VcnetError('VCN_ERR_SYNC_HOST_CONFLICT', [`${kind} ${tr.hostNamespace}/${hName}`, why]);
    if (sameContent(kind, want, current) && sameMeta(want, current)) return;
    if (current['immutable'] === true) {
      // An immutable host copy cannot change: replace it (pods that already mounted it keep their data).
      await this.#opts.host.transport.request('DELETE', `${base}/${hName}`, { query, body: { preconditions: { uid: current.metadata.uid } }, ...signal });
      await this.#opts.host.transport.request('POST', base, { query, body: want, ...signal });
      return;
    }
    const next = { ...want, metadata: { ...want.metadata, resourceVersion: current.metadata.resourceVersion } };
    await this.#opts.host.transport.request('PUT', `${base}/${hName}`, { query, body: next, ...signal });
  }

  /** The virtual object a host copy was made from (trusted annotations only). */
  virtualOf(kind: RefKind, hObj: WireObject): { name: string; namespace: string } | undefined {
    return virtualRefOf(this.#opts.tr, hObj.metadata, KINDS[kind]);
  }

  /** When a pod write last needed this host copy (0: not since start). */
  lastEnsured(kind: RefKind, hName: string): number {
    return this.#lastEnsured.get(`${kind}/${hName}`) ?? 0;
  }

  /** Deletes a host copy nothing refers to any more (UID precondition, so a fresh copy survives). */
  async deleteHost(kind: RefKind, hObj: WireObject): Promise<void> {
    this.#lastEnsured.delete(`${kind}/${hObj.metadata.name ?? ''}`);
    const path = `/api/v1/namespaces/${this.#opts.tr.hostNamespace}/${PLURAL[kind]}/${hObj.metadata.name ?? ''}`;
    await this.#opts.host.transport.deleteIfSame(path, { uid: hObj.metadata.uid });
  }
}

function sameContent(kind: RefKind, a: WireObject, b: WireObject): boolean {
  return CONTENT[kind].every((f) => JSON.stringify(a[f] ?? null) === JSON.stringify(b[f] ?? null));
}

function sameMeta(want: WireObject, have: WireObject): boolean {
  const sub = (w: Record<string, string> | undefined, h: Record<string, string> | undefined): boolean =>
    Object.entries(w ?? {}).every(([k, v]) => h?.[k] === v);
  return sub(want.metadata.labels, have.metadata.labels) && sub(want.metadata.annotations, have.metadata.annotations);
}
