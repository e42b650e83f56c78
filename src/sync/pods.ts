// The sync engine for pods: apply one virtual pod to the host — create, update, delete, add an
// ephemeral container — synchronously, idempotently, and never touching a host pod that is not
// this virtual cluster's. The webhook calls it while the virtual write is being admitted; the
// reconciler calls it to repair what a write path missed. It is the only code that writes host pods.
import { VcnetError } from '../errors.ts';
import { isAlreadyExists, isConflict, isNotFound, toApiStatus, type ApiStatus, type KubeTransport } from '../kube/index.ts';
import type { Logger } from '../observability/logger.ts';
import {
  ephemeralContainerToHost, hostMarkerLabels, KINDS, notManagedReason, podToHost, podUpdateToHost, POD_UID, serviceAccountTokenRequests,
  toVirtualMessage, toVirtualStatusDetails, type NameMapping, type ObjectMeta, type Pod, type PodTranslateOptions, type Translator,
} from '../translate/index.ts';
import type { PodFactsSource } from './facts.ts';
import type { ReferenceSync } from './refs.ts';
import type { SyncSettings } from './options.ts';

/** Host pod annotation: `bootstrap` while the pod's token volumes hold bootstrap tokens (facts.ts), `bound` after. */
export const TOKENS_ANNOTATION = 'vcnet.dev/service-account-tokens';

/** A refusal by the host, in virtual words, with the host's HTTP code and reason kept. */
export class HostRefusal extends Error {
  readonly code: number;
  readonly reason: string;
  /** The host's Status details in virtual words (kind, the virtual name, causes): kubectl prints them. */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  constructor(code: number, reason: string, message: string, opts?: { cause?: unknown; details?: Readonly<Record<string, unknown>> }) {
    super(message, opts?.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'HostRefusal';
    this.code = code;
    this.reason = reason;
    this.details = opts?.details;
  }
}

/** The refusal of a host write as the virtual client should read it: host names turned into virtual ones. */
function hostRefusal(status: ApiStatus, what: string, mapping: NameMapping, cause: unknown): HostRefusal {
  const details = status.details === undefined ? undefined : toVirtualStatusDetails(status.details, mapping);
  return new HostRefusal(status.code, status.reason, `the host cluster refused ${what}: ${toVirtualMessage(status.message, [mapping])}`, {
    cause, ...(details !== undefined ? { details } : {}),
  });
}

/**
 * A failure of a host call made for a virtual object (`kind` as in messages: `pod`, `service`), as
 * the virtual client should read it. vcnet's own errors and refusals already made pass through; an
 * unreachable, timed-out or overloaded host (502/503/504; toApiStatus classifies network failures as
 * 503/504) is VCN_ERR_SYNC_HOST_UNAVAILABLE; anything else is the host's refusal in virtual words.
 */
export function hostCallError(err: unknown, tr: Translator, kind: string, vObj: { readonly metadata: ObjectMeta }, hName: string): Error {
  if (err instanceof VcnetError || err instanceof HostRefusal) return err;
  const status = toApiStatus(err);
  const vName = vObj.metadata.name ?? '';
  const vNamespace = vObj.metadata.namespace ?? '';
  const what = `${kind} ${vNamespace}/${vName}`;
  if (status.code === 502 || status.code === 503 || status.code === 504) {
    return new VcnetError('VCN_ERR_SYNC_HOST_UNAVAILABLE', [what, status.message], { cause: err });
  }
  const mapping: NameMapping = { host: { name: hName, namespace: tr.hostNamespace }, virtual: { name: vName, namespace: vNamespace } };
  return hostRefusal(status, what, mapping, err);
}

export interface PodSyncOptions {
  readonly tr: Translator;
  readonly settings: SyncSettings;
  readonly podOptions: PodTranslateOptions;
  readonly facts: PodFactsSource;
  readonly refs: ReferenceSync;
  readonly host: KubeTransport;
  readonly logger: Logger;
}

export interface WriteOptions {
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
}

export interface SyncOutcome {
  /** What the host pod cannot do as the user asked; shown to the client as admission warnings. */
  readonly warnings: readonly string[];
}

function podRef(p: Pod): string {
  return `${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`;
}

export class PodSync {
  readonly #o: PodSyncOptions;

  constructor(opts: PodSyncOptions) {
    this.#o = opts;
  }

  get translator(): Translator {
    return this.#o.tr;
  }

  hostName(vPod: Pod): string {
    return this.#o.tr.hostName(vPod.metadata.name ?? '', vPod.metadata.namespace ?? '');
  }

  #path(hName = ''): string {
    return `/api/v1/namespaces/${this.#o.tr.hostNamespace}/pods${hName === '' ? '' : `/${hName}`}`;
  }

  /** The host pod for `vPod`, with the references to sync first. `boundTokens`: see PodFactsSource.tokens. */
  async desired(vPod: Pod, opts: { boundTokens: boolean; dryRun?: boolean; signal?: AbortSignal }): Promise<ReturnType<typeof podToHost>> {
    const vNamespace = vPod.metadata.namespace ?? '';
    const facts = this.#o.facts.facts(vNamespace, `pod ${podRef(vPod)}`);
    const requests = serviceAccountTokenRequests(vPod, this.#o.podOptions.clusterDomain);
    // A dry run must not mint tokens: it has no side effects anywhere.
    const tokens = opts.dryRun
      ? Object.fromEntries(requests.map((r) => [r.key, 'dry-run']))
      : await this.#o.facts.tokens(requests, vNamespace, opts.boundTokens, opts.signal);
    const result = podToHost(this.#o.tr, vPod, { ...facts, serviceAccountTokens: tokens }, this.#o.podOptions);
    if (requests.length > 0) {
      (result.hPod.metadata.annotations as Record<string, string>)[TOKENS_ANNOTATION] = opts.boundTokens ? 'bound' : 'bootstrap';
    }
    return result;
  }

  /**
   * Creates the host pod of a virtual pod that is being created. Idempotent: a host pod that is
   * already this virtual pod's twin (same virtual UID) is success. A host pod of the same name from
   * an earlier virtual pod is deleted and the create refused as retryable; a host pod vcnet does not
   * manage is never touched.
   */
  async create(vPod: Pod, opts: WriteOptions = {}): Promise<SyncOutcome> {
    const started = Date.now();
    const desired = await this.desired(vPod, { boundTokens: false, ...opts });
    const query = opts.dryRun ? { dryRun: 'All' } : {};
    const signal = opts.signal ? { signal: opts.signal } : {};
    await this.#refused(vPod, () => this.#o.refs.ensure(desired.references, opts));
    if (desired.tokenSecret !== undefined) await this.#refused(vPod, () => this.#writeTokenSecret(desired.tokenSecret!, vPod.metadata.namespace ?? '', opts));
    try {
      await this.#o.host.request('POST', this.#path(), { query, body: desired.hPod, ...signal });
    } catch (err) {
      if (!isAlreadyExists(err)) throw this.#hostError(vPod, err, desired.hPod.metadata.name ?? '');
      await this.#existing(vPod, desired.hPod.metadata.name ?? '', opts);
    }
    this.#o.logger.debug({ virtual: podRef(vPod), host: `${this.#o.tr.hostNamespace}/${desired.hPod.metadata.name}`, ms: Date.now() - started, dryRun: opts.dryRun === true }, 'host pod created');
    return { warnings: desired.warnings };
  }

  /** A host pod of that name exists already: ours for this virtual pod (fine), stale, or foreign. */
  async #existing(vPod: Pod, hName: string, opts: WriteOptions): Promise<void> {
    const current = await this.#o.host.request<Pod>('GET', this.#path(hName), opts.signal ? { signal: opts.signal } : {})
      .catch((err: unknown) => { throw this.#hostError(vPod, err, hName); });
    const why = notManagedReason(this.#o.tr, current.metadata, KINDS.Pod);
    if (why !== undefined) throw new VcnetError('VCN_ERR_SYNC_HOST_CONFLICT', [`pod ${this.#o.tr.hostNamespace}/${hName}`, why]);
    const twinOf = current.metadata.annotations?.[POD_UID] ?? '';
    if (twinOf === (vPod.metadata.uid ?? '') && twinOf !== '') return;
    // The twin of an earlier virtual pod of the same name: that virtual pod is gone (names are
    // unique), so its host pod is an orphan. Delete it and let the client retry.
    if (!opts.dryRun && current.metadata.deletionTimestamp === undefined) {
      await this.#deleteHost(hName, current.metadata.uid ?? '', undefined).catch(() => undefined);
    }
    throw new VcnetError('VCN_ERR_SYNC_HOST_TERMINATING', ['pod']);
  }

  async #writeTokenSecret(secret: { name: string; namespace: string; stringData: Readonly<Record<string, string>> }, vNamespace: string, opts: WriteOptions): Promise<void> {
    const body = {
      apiVersion: 'v1', kind: 'Secret',
      metadata: { name: secret.name, namespace: secret.namespace, labels: hostMarkerLabels(this.#o.tr, vNamespace) },
      stringData: secret.stringData,
    };
    const query = opts.dryRun ? { dryRun: 'All' } : {};
    const base = `/api/v1/namespaces/${secret.namespace}/secrets`;
    try {
      await this.#o.host.request('POST', base, { query, body });
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      await this.#o.host.request('PATCH', `${base}/${secret.name}`, { query, body: { stringData: secret.stringData }, contentType: 'application/merge-patch+json' });
    }
  }

  /**
   * Applies a change of the virtual pod (`vOld -> vNew`; vOld undefined for a resync) to the host pod.
   * A missing host pod is created (a pod that existed before vcnet, or whose create was missed).
   */
  async update(vOld: Pod | undefined, vNew: Pod, opts: WriteOptions = {}): Promise<SyncOutcome> {
    const hName = this.hostName(vNew);
    const signal = opts.signal ? { signal: opts.signal } : {};
    for (let attempt = 0; ; attempt++) {
      let hPod: Pod;
      try {
        hPod = await this.#o.host.request<Pod>('GET', this.#path(hName), signal);
      } catch (err) {
        if (isNotFound(err) && vNew.metadata.deletionTimestamp === undefined) return this.create(vNew, opts);
        if (isNotFound(err)) return { warnings: [] };
        throw this.#hostError(vNew, err, hName);
      }
      const why = notManagedReason(this.#o.tr, hPod.metadata, KINDS.Pod);
      if (why !== undefined) throw new VcnetError('VCN_ERR_SYNC_HOST_CONFLICT', [`pod ${this.#o.tr.hostNamespace}/${hName}`, why]);
      const next = podUpdateToHost(this.#o.tr, vOld, vNew, hPod, this.#o.podOptions, this.#o.facts.namespaceLabels(vNew.metadata.namespace ?? ''));
      if (next === undefined) return { warnings: [] };
      try {
        await this.#o.host.request('PUT', this.#path(hName), { query: opts.dryRun ? { dryRun: 'All' } : {}, body: next, ...signal });
        return { warnings: [] };
      } catch (err) {
        if (isConflict(err) && attempt < 4) continue;
        throw this.#hostError(vNew, err, hName);
      }
    }
  }

  /**
   * Adds the virtual pod's new ephemeral containers (`kubectl debug`) to the host pod through its
   * `ephemeralcontainers` subresource, translated like the pod's other containers.
   */
  async addEphemeralContainers(vPod: Pod, opts: WriteOptions = {}): Promise<SyncOutcome> {
    const hName = this.hostName(vPod);
    const signal = opts.signal ? { signal: opts.signal } : {};
    const facts = this.#o.facts.facts(vPod.metadata.namespace ?? '', `pod ${podRef(vPod)}`);
    for (let attempt = 0; ; attempt++) {
      const hPod = await this.#o.host.request<Pod>('GET', this.#path(hName), signal).catch((err: unknown) => { throw this.#hostError(vPod, err, hName); });
      const why = notManagedReason(this.#o.tr, hPod.metadata, KINDS.Pod);
      if (why !== undefined) throw new VcnetError('VCN_ERR_SYNC_HOST_CONFLICT', [`pod ${this.#o.tr.hostNamespace}/${hName}`, why]);
      const have = new Set((hPod.spec.ephemeralContainers ?? []).map((c) => c.name));
      const added = (vPod.spec.ephemeralContainers ?? []).filter((c) => !have.has(c.name));
      if (added.length === 0) return { warnings: [] };
      const warnings: string[] = [];
      const containers = added.map((c) => {
        const r = ephemeralContainerToHost(this.#o.tr, vPod, c, facts, this.#o.podOptions);
        warnings.push(...r.warnings);
        return { ref: r.references, container: r.hContainer };
      });
      await this.#refused(vPod, () => this.#o.refs.ensure(containers.flatMap((c) => c.ref), opts));
      const next = { ...hPod, spec: { ...hPod.spec, ephemeralContainers: [...hPod.spec.ephemeralContainers ?? [], ...containers.map((c) => c.container)] } };
      try {
        await this.#o.host.request('PUT', `${this.#path(hName)}/ephemeralcontainers`, { query: opts.dryRun ? { dryRun: 'All' } : {}, body: next, ...signal });
        return { warnings };
      } catch (err) {
        if (isConflict(err) && attempt < 4) continue;
        throw this.#hostError(vPod, err, hName);
      }
    }
  }

  /**
   * Deletes the host pod of a virtual pod that is being deleted, with the same grace period and a UID
   * precondition, so a newer host pod of the same name is never hit. Gone already is success.
   */
  async delete(vPod: Pod, gracePeriodSeconds: number | undefined, opts: WriteOptions = {}): Promise<void> {
    const hName = this.hostName(vPod);
    const hPod = await this.#o.host.getIfExists<Pod>(this.#path(hName), opts.signal ? { signal: opts.signal } : {});
    if (hPod === undefined || notManagedReason(this.#o.tr, hPod.metadata, KINDS.Pod) !== undefined) return;
    const twinOf = hPod.metadata.annotations?.[POD_UID] ?? '';
    if (vPod.metadata.uid !== undefined && twinOf !== '' && twinOf !== vPod.metadata.uid) return;
    if (opts.dryRun) return;
    await this.#deleteHost(hName, hPod.metadata.uid ?? '', gracePeriodSeconds);
  }

  /** DELETE with a UID precondition; NotFound and a failed precondition (another pod now) are success. */
  async #deleteHost(hName: string, hUid: string, gracePeriodSeconds: number | undefined): Promise<void> {
    await this.#o.host.deleteIfSame(this.#path(hName), { uid: hUid }, { gracePeriodSeconds });
  }

  /** Deletes a host pod found without a virtual twin (the reconciler's garbage collection). */
  async deleteOrphan(hPod: Pod): Promise<void> {
    await this.#deleteHost(hPod.metadata.name ?? '', hPod.metadata.uid ?? '', undefined);
  }

  async #refused<T>(vPod: Pod, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof VcnetError) throw err;
      throw this.#hostError(vPod, err, '');
    }
  }

  /** A host failure as the virtual client should read it. */
  #hostError(vPod: Pod, err: unknown, hName: string): Error {
    return hostCallError(err, this.#o.tr, 'pod', vPod, hName);
  }
}
