// ServiceCIDRs: the host cluster's service ranges, and the virtual kube-apiserver's kept covering them.
//
// Why: a virtual Service gets exactly its host twin's ClusterIP (DESIGN.md, reference §3.1), so the
// virtual kube-apiserver must accept every address the host allocates. vCluster starts the virtual
// API server with the host's range, which it detects once (probe Services and a binary search),
// caches in the annotation `vcluster.loft.sh/service-cidr` on the host Service HNS/<vcluster> and
// never detects again; when the host's range is extended, the virtual cluster refuses the host's new
// addresses as "not in the valid range" (loft-sh/vcluster#1289, reference §10 item 6).
//
// vcnet instead:
//   1. detects the host's ranges: the host's ServiceCIDR objects (networking.k8s.io/v1, Kubernetes
//      >= 1.33), watched; when they cannot be listed (forbidden, or an older host), a dry-run probe
//      that leaves nothing behind (service-cidr-probe.ts), redone for an address no range holds;
//   2. takes `networking.serviceCIDR` first when it is set, warning when it does not contain the
//      host's primary range;
//   3. caches the detected primary ranges in vCluster's annotation, so vCluster tooling reads them;
//   4. makes the virtual cluster's ServiceCIDRs cover every host range: one `vcnet-host-<range>`
//      ServiceCIDR for each range the virtual cluster lacks, deleted again when the host drops it;
//   5. offers ensureCovers(ips) to the Service sync, which resolves once the virtual kube-apiserver
//      accepts those addresses, detecting again once if the host has a range vcnet does not know.
//
// The pure decisions live in service-cidr-rules.ts, the probe in service-cidr-probe.ts, the names
// and the label of vcnet's virtual ServiceCIDRs in src/translate/service-cidr.ts; this file does the
// watching, the writes and the timing.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { VcnetError } from '../errors.ts';
import { Backoff, isAlreadyExists, isNotFound, KubeApiError, Reflector, toApiStatus, type ApiStatus, type KubeTransport } from '../kube/index.ts';
import type { Logger } from '../observability/logger.ts';
import { APP_MANAGED_BY, APP_MANAGED_BY_VALUE, SERVICE_CIDR, virtualServiceCIDRName, type ServiceCIDRObject } from '../translate/index.ts';
import type { SyncSettings } from './options.ts';
import {
  coveredBy, hostRangesFromServiceCIDRs, minimalRanges, parseRangeList, planVirtualServiceCIDRs, primaryRanges,
  rangeContainsRange, rangeTexts, rangesOf, serviceCIDRReadiness, withConfigured, type Range,
} from './service-cidr-rules.ts';
import { probeHostRanges } from './service-cidr-probe.ts';

export interface ServiceCIDRsOptions {
  readonly virtual: { readonly kubeConfig: KubeConfig; readonly transport: KubeTransport };
  readonly host: { readonly kubeConfig: KubeConfig; readonly transport: KubeTransport };
  readonly settings: SyncSettings;
  /** `networking.serviceCIDR`; '' means detect. Validated by the config (checkServiceCIDR). */
  readonly configured: string;
  readonly logger: Logger;
}

/** Where the host ranges came from. */
export type HostRangeSource = 'servicecidrs' | 'probe' | 'cache';

const SERVICECIDRS = '/apis/networking.k8s.io/v1/servicecidrs';
const SERVICECIDR_RESOURCE = { group: 'networking.k8s.io', version: 'v1', plural: 'servicecidrs' } as const;
/** Probing for the range of an address is not repeated sooner than this. */
const PROBE_AGAIN_MS = 10_000;
/** How long ensureCovers waits for a virtual ServiceCIDR it needs to become usable: under the webhook's 10 s. */
const READY_TIMEOUT_MS = 8000;
/**
 * A virtual ServiceCIDR without a Ready condition counts as usable once it has been seen this long:
 * the API server already allocates from it, and no kube-controller-manager may be there to set the
 * condition; the wait covers the API server's own informer catching up.
 */
const UNKNOWN_READY_AFTER_MS = 2000;
/** ensureCovers re-checks at least this often while waiting (for UNKNOWN_READY_AFTER_MS to pass). */
const RECHECK_MS = 200;

/** The reflector only reads name and resourceVersion; the wire shape is ServiceCIDRObject. */
type WatchedServiceCIDR = ServiceCIDRObject & KubernetesObject;

/** A detection always has a range: one that finds none fails instead (see #detect and #watchHost). */
interface Detection {
  readonly ranges: Range[];
  readonly source: HostRangeSource;
}

export class ServiceCIDRs {
  readonly #o: ServiceCIDRsOptions;
  readonly #log: Logger;
  readonly #configured: Range[];

  #running = false;
  #starting: Promise<void> | undefined;
  #hostWatch: Reflector<WatchedServiceCIDR> | undefined;
  #virtualWatch: Reflector<WatchedServiceCIDR> | undefined;
  /** False when the virtual kube-apiserver has no ServiceCIDR API (or vcnet may not read it). */
  #virtualAPI = true;

  #detected: Detection | undefined;
  #detecting: Promise<void> | undefined;
  /** When vcnet last probed for the range of an address (probe mode). */
  readonly #probedFor = new Map<string, number>();
  /** The cache annotation value last written (or found). */
  #cached: string | undefined;
  /** The ranges vcnet works with (ranges()); empty only before the first detection without `networking.serviceCIDR`. */
  #ranges: Range[];

  /** Virtual ServiceCIDRs vcnet created that the watch may not show yet. */
  readonly #created = new Map<string, ServiceCIDRObject>();
  /** When each virtual ServiceCIDR name was first seen without a Ready condition. */
  readonly #firstSeen = new Map<string, number>();
  /** The last failure to create each virtual ServiceCIDR, for ensureCovers' message. */
  readonly #failures = new Map<string, string>();
  readonly #warned = new Set<string>();

  #reconciling: Promise<void> | undefined;
  #again = false;
  #retry: NodeJS.Timeout | undefined;
  readonly #backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  #waiters = new Set<() => void>();

  constructor(opts: ServiceCIDRsOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'service-cidr' });
    const configured = parseRangeList(opts.configured);
    if (configured === undefined) throw new VcnetError('VCN_ERR_CONFIG_INVALID', [`networking.serviceCIDR: "${opts.configured}" is not a CIDR list`]);
    this.#configured = configured;
    this.#ranges = minimalRanges(configured);
  }

  /**
   * Detects the host's ranges, makes the virtual ServiceCIDRs cover them, then keeps watching.
   * Resolves once the ranges are known: at once with `networking.serviceCIDR` set (detection goes
   * on in the background when the host cannot be asked yet), otherwise when the host answered.
   */
  start(): Promise<void> {
    if (this.#starting !== undefined) return this.#starting;
    this.#running = true;
    this.#starting = (async () => {
      await this.#startVirtual();
      await this.#firstDetection();
      // A failure here is logged and retried with backoff; the ranges are known, which is what
      // ensureCovers needs to answer.
      await this.#reconcileNow().catch(() => undefined);
    })();
    this.#starting.catch(() => undefined);
    return this.#starting;
  }

  /** Stops watching and retrying. Virtual ServiceCIDRs stay: the Services using them must keep their addresses. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#starting = undefined;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#wake();
    const watches = [this.#hostWatch, this.#virtualWatch];
    this.#hostWatch = undefined;
    this.#virtualWatch = undefined;
    await Promise.all(watches.map((w) => w?.stop()));
    await this.#reconciling?.catch(() => undefined);
  }

  /**
   * The host's service ranges as vcnet works with them, primary first: `networking.serviceCIDR` when
   * set (it wins), then the detected host ranges it does not contain. The virtual cluster is made to
   * cover every one of them.
   */
  ranges(): readonly string[] {
    return rangeTexts(this.#ranges);
  }

  /** The host's ranges as last detected, primary first, and where they came from; undefined before the first detection. */
  hostRanges(): { ranges: readonly string[]; source: HostRangeSource } | undefined {
    const d = this.#detected;
    return d === undefined ? undefined : { ranges: rangeTexts(d.ranges), source: d.source };
  }

  /** The ranges the virtual kube-apiserver allocates from now, as vcnet sees them. */
  virtualRanges(): readonly string[] {
    return rangeTexts(this.#usableVirtual());
  }

  /**
   * Resolves once the virtual kube-apiserver accepts every address in `ips` (a host Service's
   * ClusterIPs; '' and 'None' are skipped): each is inside a virtual ServiceCIDR that is Ready
   * (including those vcnet creates now for host ranges the virtual cluster lacks). An address
   * outside every known host range makes vcnet detect the host's ranges once more (the host may
   * have just been extended). Throws VCN_ERR_SYNC_SERVICE_CIDR when an address is still outside
   * every range, VCN_ERR_SYNC_NOT_READY when a needed virtual ServiceCIDR is not usable in time,
   * and the signal's reason when it aborts.
   */
  async ensureCovers(ips: readonly string[], signal?: AbortSignal): Promise<void> {
    const wanted = ips.filter((ip) => ip !== '' && ip !== 'None');
    if (wanted.length === 0) return;
    signal?.throwIfAborted();
    if (!this.#running || this.#ranges.length === 0) {
      throw new VcnetError('VCN_ERR_SYNC_NOT_READY', [`service IP ${wanted.join(', ')}`, 'the service ranges of the host cluster are not known yet']);
    }
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let redetected = false;
    let kicked = false;
    for (;;) {
      const virtual = this.#usableVirtual();
      const missing = wanted.filter((ip) => !coveredBy(virtual, ip));
      if (missing.length === 0) return;
      const unknown = missing.filter((ip) => !coveredBy(this.#ranges, ip));
      if (!this.#virtualAPI && unknown.length === 0) {
        // Inside a host range, but vcnet cannot add ServiceCIDRs to the virtual cluster.
        throw new VcnetError('VCN_ERR_SYNC_SERVICE_CIDR', [missing[0] as string, this.#describe(virtual), this.#describe(this.#ranges)]);
      }
      if (unknown.length > 0) {
        if (!redetected && this.#running) {
          redetected = true;
          await this.#detectAndApply(unknown);
          signal?.throwIfAborted();
          continue;
        }
        throw new VcnetError('VCN_ERR_SYNC_SERVICE_CIDR', [unknown[0] as string, this.#describe(virtual), this.#describe(this.#ranges)]);
      }
      // Inside a host range: its virtual ServiceCIDR is being made, or is not usable yet. One
      // reconcile is enough to ask for; a failing one retries with backoff on its own.
      if (!kicked) { kicked = true; this.#kick(); }
      const left = deadline - Date.now();
      if (left <= 0 || !this.#running) {
        const ip = missing[0] as string;
        throw new VcnetError('VCN_ERR_SYNC_NOT_READY', [`service IP ${ip}`, this.#pendingReason(ip)]);
      }
      await this.#changed(Math.min(left, RECHECK_MS), signal);
    }
  }

  // ---- detection ----

  async #firstDetection(): Promise<void> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 15_000 });
    for (;;) {
      try {
        await this.#detectAndApply([]);
        return;
      } catch (err) {
        if (!this.#running) throw err;
        const status = toApiStatus(err);
        if (this.#configured.length > 0) {
          // networking.serviceCIDR is enough to start; the host is asked again on the next need.
          this.#log.warn({ code: status.code, reason: status.reason, configured: rangeTexts(this.#configured) },
            `cannot detect the host cluster's service ranges yet (${status.message}); using networking.serviceCIDR ${rangeTexts(this.#configured).join(',')} until the host answers`);
          this.#kick(backoff.next());
          return;
        }
        const retryInMs = backoff.next();
        this.#log.warn({ code: status.code, reason: status.reason, retryInMs }, `cannot detect the host cluster's service ranges yet: ${status.message}`);
        await this.#changed(retryInMs);
        if (!this.#running) throw new Error('stopped before the host cluster\'s service ranges were detected', { cause: err });
      }
    }
  }

  /**
   * Detects and applies the result, then reconciles. Concurrent callers share one detection: a
   * caller that finds one running waits for it and starts another only if its addresses are still
   * unknown. Probing for the same addresses again within PROBE_AGAIN_MS is skipped, so a burst of
   * Services with an address no range holds costs one probe series, not one each.
   */
  async #detectAndApply(lookFor: readonly string[]): Promise<void> {
    const known = (): boolean => lookFor.every((ip) => coveredBy(this.#ranges, ip));
    while (this.#detecting !== undefined) {
      await this.#detecting.catch(() => undefined);
      if (lookFor.length === 0 || known()) return;
    }
    if (this.#detected?.source === 'probe' && lookFor.length > 0) {
      const now = Date.now();
      if (lookFor.every((ip) => now - (this.#probedFor.get(ip) ?? 0) < PROBE_AGAIN_MS)) return;
      for (const ip of lookFor) this.#probedFor.set(ip, now);
    }
    this.#detecting = (async () => { this.#apply(await this.#detect(lookFor)); })();
    try {
      await this.#detecting;
    } finally {
      this.#detecting = undefined;
    }
    await this.#reconcileNow().catch(() => undefined);
  }

  async #detect(lookFor: readonly string[]): Promise<Detection> {
    let listed: { items: ServiceCIDRObject[]; metadata?: { resourceVersion?: string } } | undefined;
    try {
      listed = await this.#o.host.transport.request('GET', SERVICECIDRS);
    } catch (err) {
      const status = toApiStatus(err);
      if (status.code !== 403 && status.code !== 404) throw err;
      this.#once(`list-${status.code}`, 'info', { code: status.code }, status.code === 403
        ? 'vcnet may not list the host\'s ServiceCIDRs (manifests/clusterrole.yaml grants it); detecting the host\'s service ranges with dry-run probes instead, which may miss ranges added later'
        : 'the host has no ServiceCIDR API (Kubernetes < 1.33, or turned off); detecting its service ranges with dry-run probes');
    }
    if (listed !== undefined) {
      const ranges = hostRangesFromServiceCIDRs(listed.items);
      if (ranges.length > 0) {
        this.#watchHost(listed.items, listed.metadata?.resourceVersion ?? '');
        return { ranges, source: 'servicecidrs' };
      }
      this.#log.warn('the host lists no usable ServiceCIDR; probing its service ranges instead');
    }
    try {
      const ranges = await probeHostRanges({ transport: this.#o.host.transport, namespace: this.#o.settings.hostNamespace, lookFor, logger: this.#log });
      if (ranges.length > 0) {
        // A probe sees one range at a time and may miss some: keep every range known before, in
        // front (the primary stays first when a probe for one address found only its range).
        const merged = minimalRanges([...(this.#detected?.ranges ?? []), ...ranges]);
        return { ranges: merged, source: 'probe' };
      }
      this.#log.warn('the probe of the host\'s service ranges named no range');
    } catch (err) {
      if (!(err instanceof KubeApiError) || err.status.code !== 403) throw err;
      this.#once('probe-403', 'warn', { code: 403 }, `vcnet may not create Services in ${this.#o.settings.hostNamespace} (even as a dry run), so it cannot probe the host's service ranges: ${err.status.message}`);
    }
    const cached = await this.#readCache();
    if (cached !== undefined && cached.length > 0) return { ranges: cached, source: 'cache' };
    throw new KubeApiError({ code: 503, reason: 'ServiceUnavailable', message: 'no way to learn the host cluster\'s service ranges worked (ServiceCIDRs, dry-run probe, the cache annotation)', details: undefined, retryable: true });
  }

  // ---- applying a detection ----

  #apply(d: Detection): void {
    const before = this.ranges().join(',');
    this.#detected = d;
    this.#ranges = withConfigured(this.#configured, d.ranges);
    this.#checkConfigured(d);
    if (this.ranges().join(',') !== before) {
      this.#log.info({ ranges: this.ranges(), host: rangeTexts(d.ranges), source: d.source }, `service ranges: ${this.ranges().join(', ')} (host: ${rangeTexts(d.ranges).join(', ')}, from ${d.source})`);
    }
    if (d.source !== 'cache') void this.#writeCache(d.ranges);
  }

  /**
   * `networking.serviceCIDR` wins (it stays first and is never removed), but a configured range that
   * does not contain the host's primary range of its family is probably a mistake: say so once per
   * pair. Not refused, because the host may legitimately be bigger (the virtual kube-apiserver's flag
   * names a part of it) and vcnet covers the rest with virtual ServiceCIDRs.
   */
  #checkConfigured(d: Detection): void {
    if (this.#configured.length === 0 || d.source === 'cache') return;
    for (const hostPrimary of primaryRanges(d.ranges)) {
      const mine = this.#configured.find((c) => c.family === hostPrimary.family);
      if (mine !== undefined && rangeContainsRange(mine, hostPrimary)) continue;
      const configured = rangeTexts(this.#configured).join(',');
      this.#once(`configured-${configured}-${hostPrimary.text}`, 'warn', { configured, host: hostPrimary.text, source: d.source },
        `networking.serviceCIDR ${configured} does not contain the host cluster's primary service range ${hostPrimary.text} (from ${d.source}). ` +
        'vcnet keeps the configured range first and also covers the host\'s ranges with virtual ServiceCIDRs, so Services keep working; ' +
        'but the virtual kube-apiserver\'s --service-cluster-ip-range should normally be the host\'s range: check both');
    }
  }

  /** vCluster's cache: the primary range of each family (what its --service-cluster-ip-range takes), on the host Service HNS/<vcnet.host.service>. */
  async #writeCache(ranges: readonly Range[]): Promise<void> {
    const value = rangeTexts(primaryRanges(ranges)).join(',');
    if (this.#cached === value) return;
    const path = this.#kubeServicePath();
    try {
      const svc = await this.#o.host.transport.request<ServiceMeta>('GET', path);
      this.#cached = svc.metadata?.annotations?.[SERVICE_CIDR];
      if (this.#cached === value) return;
      await this.#o.host.transport.request('PATCH', path, {
        body: { metadata: { annotations: { [SERVICE_CIDR]: value } } }, contentType: 'application/merge-patch+json',
      });
      this.#cached = value;
      this.#log.info({ service: `${this.#o.settings.hostNamespace}/${this.#o.settings.kubeService}`, annotation: SERVICE_CIDR, value }, 'cached the host\'s service range on the vCluster Service');
    } catch (err) {
      if (isNotFound(err)) {
        this.#once('cache-404', 'debug', {}, `no host Service ${this.#o.settings.hostNamespace}/${this.#o.settings.kubeService} to cache the service range on`);
        return;
      }
      const status = toApiStatus(err);
      this.#log.warn({ code: status.code, reason: status.reason }, `cannot cache the host's service range on ${this.#o.settings.hostNamespace}/${this.#o.settings.kubeService}: ${status.message}`);
    }
  }

  async #readCache(): Promise<Range[] | undefined> {
    const svc = await this.#o.host.transport.getIfExists<ServiceMeta>(this.#kubeServicePath());
    const text = svc?.metadata?.annotations?.[SERVICE_CIDR];
    return text === undefined ? undefined : parseRangeList(text);
  }

  #kubeServicePath(): string {
    const s = this.#o.settings;
    return `/api/v1/namespaces/${encodeURIComponent(s.hostNamespace)}/services/${encodeURIComponent(s.kubeService)}`;
  }

  /** Watches the host's ServiceCIDRs from the LIST just made; every change re-applies the host's ranges. */
  #watchHost(items: readonly ServiceCIDRObject[], resourceVersion: string): void {
    if (this.#hostWatch !== undefined || !this.#running) return;
    const w = new Reflector<WatchedServiceCIDR>(this.#o.host.kubeConfig, {
      resource: SERVICECIDR_RESOURCE,
      ...(resourceVersion !== '' ? { resume: { resourceVersion, objects: withKind(items) } } : {}),
    });
    w.on('error', (status, retryInMs) => this.#watchFailed('host', status, retryInMs));
    const onChange = (): void => {
      const ranges = hostRangesFromServiceCIDRs(w.store.values());
      if (ranges.length === 0) return;
      if (rangeTexts(ranges).join(',') === rangeTexts(this.#detected?.ranges ?? []).join(',')) return;
      this.#apply({ ranges, source: 'servicecidrs' });
      this.#kick();
    };
    w.on('add', onChange);
    w.on('update', onChange);
    w.on('delete', onChange);
    this.#hostWatch = w;
    w.start();
  }

  // ---- the virtual side ----

  async #startVirtual(): Promise<void> {
    let listed: { items: ServiceCIDRObject[]; metadata?: { resourceVersion?: string } } | undefined;
    const backoff = new Backoff({ initialMs: 500, maxMs: 15_000 });
    while (listed === undefined) {
      try {
        listed = await this.#o.virtual.transport.request('GET', SERVICECIDRS);
      } catch (err) {
        const status = toApiStatus(err);
        if (status.code === 403 || status.code === 404) {
          this.#virtualAPI = false;
          this.#log.error({ code: status.code }, status.code === 404
            ? 'the virtual kube-apiserver has no ServiceCIDR API (it needs Kubernetes >= 1.33): vcnet cannot extend its service ranges, so its --service-cluster-ip-range must be exactly the host\'s'
            : `vcnet may not list ServiceCIDRs in the virtual cluster (${status.message}): it cannot extend the virtual service ranges; grant it get, list, watch, create and delete on servicecidrs.networking.k8s.io (manifests/README.md)`);
          return;
        }
        if (!this.#running) throw err;
        const retryInMs = backoff.next();
        this.#log.warn({ code: status.code, reason: status.reason, retryInMs }, `cannot list the virtual cluster's ServiceCIDRs yet: ${status.message}`);
        await this.#changed(retryInMs);
        if (!this.#running) throw new Error('stopped before the virtual ServiceCIDRs were listed', { cause: err });
      }
    }
    const w = new Reflector<WatchedServiceCIDR>(this.#o.virtual.kubeConfig, {
      resource: SERVICECIDR_RESOURCE,
      resume: { resourceVersion: listed.metadata?.resourceVersion ?? '', objects: withKind(listed.items) },
    });
    w.on('error', (status, retryInMs) => this.#watchFailed('virtual', status, retryInMs));
    const onChange = (obj: ServiceCIDRObject): void => {
      const name = obj.metadata.name ?? '';
      // The watch has it now: its state there is the truth.
      this.#created.delete(name);
      this.#wake();
      this.#kick();
    };
    w.on('add', onChange);
    w.on('update', onChange);
    w.on('delete', onChange);
    this.#virtualWatch = w;
    w.start();
  }

  /** The virtual ServiceCIDRs as vcnet knows them: the watch, plus what it created that the watch does not show yet. */
  #virtualObjects(): ServiceCIDRObject[] {
    const objs = new Map<string, ServiceCIDRObject>();
    for (const o of this.#virtualWatch?.store.values() ?? []) objs.set(o.metadata.name ?? '', o);
    for (const [name, o] of this.#created) if (!objs.has(name)) objs.set(name, o);
    return [...objs.values()];
  }

  /**
   * The ranges the virtual kube-apiserver allocates from: its ServiceCIDRs that are Ready, or have
   * no Ready condition yet and were seen a moment ago (UNKNOWN_READY_AFTER_MS). Without the
   * ServiceCIDR API, the ranges vcnet was told or detected stand for its flag.
   */
  #usableVirtual(): Range[] {
    if (!this.#virtualAPI) return primaryRanges(this.#ranges);
    const now = Date.now();
    const usable: Range[] = [];
    for (const o of this.#virtualObjects()) {
      const name = o.metadata.name ?? '';
      const readiness = serviceCIDRReadiness(o);
      if (readiness === 'unknown') {
        const seen = this.#firstSeen.get(name) ?? now;
        this.#firstSeen.set(name, seen);
        if (now - seen < UNKNOWN_READY_AFTER_MS) continue;
      } else {
        this.#firstSeen.delete(name);
      }
      if (readiness === 'ready' || readiness === 'unknown') usable.push(...rangesOf(o));
    }
    return minimalRanges(usable);
  }

  /** Runs a reconcile now, or once more after the one running; retries with backoff on failure (after `delayMs` when given). */
  #kick(delayMs?: number): void {
    if (!this.#running) return;
    if (delayMs !== undefined) {
      if (this.#retry !== undefined) return;
      this.#retry = setTimeout(() => { this.#retry = undefined; void this.#retryDetectionThenReconcile(); }, delayMs);
      this.#retry.unref();
      return;
    }
    void this.#reconcileNow().catch(() => undefined);
  }

  async #retryDetectionThenReconcile(): Promise<void> {
    if (!this.#running) return;
    if (this.#detected === undefined) {
      try {
        await this.#detectAndApply([]);
        if (this.#detected === undefined) throw new Error('the detection it waited for failed');
      } catch (err) {
        const status = toApiStatus(err);
        this.#log.warn({ code: status.code, reason: status.reason }, `cannot detect the host cluster's service ranges yet: ${status.message}`);
        this.#kick(this.#backoff.next());
        return;
      }
    }
    await this.#reconcileNow().catch(() => undefined);
  }

  /** One reconcile at a time; a request during one runs one more afterwards. Failures are retried with backoff. */
  #reconcileNow(): Promise<void> {
    if (this.#reconciling !== undefined) {
      this.#again = true;
      return this.#reconciling;
    }
    this.#reconciling = (async () => {
      try {
        do {
          this.#again = false;
          await this.#reconcileOnce();
        } while (this.#again && this.#running);
        this.#backoff.reset();
      } catch (err) {
        const status = toApiStatus(err);
        const retryInMs = this.#backoff.next();
        this.#log.warn({ code: status.code, reason: status.reason, retryInMs }, `keeping the virtual service ranges in step with the host failed: ${status.message}`);
        this.#kick(retryInMs);
        throw err;
      } finally {
        this.#reconciling = undefined;
      }
    })();
    return this.#reconciling;
  }

  async #reconcileOnce(): Promise<void> {
    if (!this.#running || !this.#virtualAPI || this.#ranges.length === 0) return;
    // Only the host's ServiceCIDRs are its complete list: a probe may miss a range, and the cache
    // holds only the primary ones, so deleting what they lack could take a range in use away.
    const plan = planVirtualServiceCIDRs(this.#ranges, this.#virtualObjects(), { deleteStale: this.#detected?.source === 'servicecidrs' });
    for (const c of plan.conflicts) {
      this.#failures.set(c.name, `the virtual ServiceCIDR ${c.name} exists but was not made by vcnet, and does not hold ${c.range.text}`);
      this.#once(`conflict-${c.name}`, 'warn', { name: c.name, range: c.range.text }, `the virtual ServiceCIDR ${c.name} was not made by vcnet (no ${APP_MANAGED_BY}=${APP_MANAGED_BY_VALUE} label), so vcnet leaves it alone and the host range ${c.range.text} stays uncovered`);
    }
    for (const body of plan.create) {
      const name = body.metadata.name ?? '';
      try {
        const created = await this.#o.virtual.transport.request<ServiceCIDRObject>('POST', SERVICECIDRS, { body });
        this.#failures.delete(name);
        if (!this.#virtualWatch?.store.has(name)) this.#created.set(name, created);
        this.#log.info({ name, cidrs: body.spec?.cidrs }, `created the virtual ServiceCIDR ${name}, so the virtual cluster accepts the host's ${body.spec?.cidrs?.join(',')}`);
      } catch (err) {
        if (isAlreadyExists(err)) {
          // The watch is behind: take the object as it is; the next plan decides with it.
          const existing = await this.#o.virtual.transport.request<ServiceCIDRObject>('GET', `${SERVICECIDRS}/${encodeURIComponent(name)}`).catch(() => undefined);
          if (existing !== undefined && !this.#virtualWatch?.store.has(name)) this.#created.set(name, existing);
          continue;
        }
        this.#failures.set(name, `creating the virtual ServiceCIDR ${name} failed: ${toApiStatus(err).message}`);
        throw err;
      }
    }
    for (const obj of plan.delete) {
      const name = obj.metadata.name ?? '';
      // Preconditions: delete exactly the object vcnet decided on, never a newer one of that name.
      // Already gone, or another object by now: nothing was deleted, so nothing to log.
      const path = `${SERVICECIDRS}/${encodeURIComponent(name)}`;
      if (!await this.#o.virtual.transport.deleteIfSame(path, { uid: obj.metadata.uid, resourceVersion: obj.metadata.resourceVersion })) continue;
      this.#created.delete(name);
      // kube-controller-manager keeps it (Ready=False, Terminating) while virtual Services still use
      // its addresses, so nothing in use loses its range.
      this.#log.info({ name, cidrs: obj.spec?.cidrs }, `deleted the virtual ServiceCIDR ${name}: the host no longer has ${obj.spec?.cidrs?.join(',')}`);
    }
  }

  #pendingReason(ip: string): string {
    const range = this.#ranges.find((r) => coveredBy([r], ip));
    if (range === undefined) return 'no service range holds it';
    const name = virtualServiceCIDRName(range.text);
    const failure = this.#failures.get(name);
    if (failure !== undefined) return failure;
    const obj = this.#virtualObjects().find((o) => o.metadata.name === name);
    if (obj === undefined) return `the virtual ServiceCIDR ${name} for the host range ${range.text} is being created`;
    const readiness = serviceCIDRReadiness(obj);
    return readiness === 'terminating'
      ? `the virtual ServiceCIDR ${name} for the host range ${range.text} is still being deleted; it is made again once it is gone`
      : `the virtual ServiceCIDR ${name} for the host range ${range.text} is not Ready yet`;
  }

  #describe(ranges: readonly Range[]): string {
    return ranges.length === 0 ? 'none known' : rangeTexts(ranges).join(', ');
  }

  // ---- waiting ----

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = new Set();
    for (const w of waiters) w();
  }

  /** Resolves on the next change of the virtual ServiceCIDRs, after `ms`, or when stopped; rejects when `signal` aborts. */
  #changed(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => { done(); reject(signal?.reason); };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #watchFailed(cluster: 'host' | 'virtual', status: ApiStatus, retryInMs: number): void {
    this.#log.warn({ cluster, code: status.code, reason: status.reason, retryInMs }, `watch of ${cluster} ServiceCIDRs failed: ${status.message}`);
  }

  /** Logs a message once per key (conditions that last, such as a missing permission). */
  #once(key: string, level: 'debug' | 'info' | 'warn', fields: Record<string, unknown>, msg: string): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.#log[level](fields, msg);
  }
}

/** LIST items carry no kind; the reflector's watch events do. One shape for the store. */
function withKind(items: readonly ServiceCIDRObject[]): WatchedServiceCIDR[] {
  return items.map((o) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', ...o }) as WatchedServiceCIDR);
}

interface ServiceMeta {
  metadata?: { annotations?: Record<string, string> };
}
