// `vcnet serve`: wires config, certificates, the proxy and the health/metrics server together.
import { readFileSync } from 'node:fs';
import { CertStore, CertRotator, servingSANs, certInfo, issueCert, type CertSpec, type KeyPair } from '../certs/index.ts';
import type { VcnetConfig } from '../config/index.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { ProxyMetrics } from '../observability/metrics.ts';
import { startHealthServer } from '../observability/health.ts';
import { startProxy, type ProxyServer } from '../proxy/server.ts';
import { upstreamFromKubeconfig, upstreamFromKubeConfig, probeUpstream, closeUpstream } from '../proxy/upstream.ts';
import type { RedirectOptions } from '../proxy/redirector.ts';
import { startDns, type DnsRuntime } from './dns.ts';
import { hostKubeConfigFor, startSync, type SyncRuntime } from './sync.ts';

export const SERVING_CA = 'vcnet-ca';
export const SERVING_CERT = 'proxy-serving';

export interface Serving {
  readonly proxy: ProxyServer;
  readonly healthUrl: string;
  readonly rotator: CertRotator;
  readonly ca: KeyPair;
  readonly logger: Logger;
  /** The sync engines, webhooks and reconcilers; undefined when neither pods nor services are synced. */
  readonly sync: SyncRuntime | undefined;
  /** The DNS server; undefined with `vcnet.dns.enabled: false`. */
  readonly dns: DnsRuntime | undefined;
  close(graceMs?: number): Promise<void>;
}

/** The serving certificate's spec, derived from config: SANs for loopback, the Service and extraSANs. */
export function servingSpec(config: VcnetConfig): CertSpec {
  const sans = servingSANs({
    serviceName: 'vcnet',
    namespace: config.vcnet.host.namespace === '' ? undefined : config.vcnet.host.namespace,
    clusterDomain: config.networking.advanced.clusterDomain,
    extraSANs: [...config.controlPlane.proxy.extraSANs],
  });
  return { commonName: 'vcnet', ...sans, usages: ['server'], validityDays: config.vcnet.certs.validityDays };
}

async function servingCA(store: CertStore, config: VcnetConfig): Promise<KeyPair> {
  return store.ensureCA(SERVING_CA, 'vcnet-ca', { validityDays: Math.max(3650, config.vcnet.certs.validityDays) });
}

/** For `vcnet certs`: the CA and serving certificate, created or reused (or, with renew, re-issued). */
export async function ensureServingCert(config: VcnetConfig, renew: boolean): Promise<{ ca: KeyPair; pair: KeyPair }> {
  const store = new CertStore(config.vcnet.certs.dir);
  const ca = await servingCA(store, config);
  if (renew) {
    const pair = await issueCert(ca, servingSpec(config));
    store.save(SERVING_CERT, pair);
    return { ca, pair };
  }
  const { pair } = await store.ensureCert(SERVING_CERT, ca, servingSpec(config), { renewBeforeDays: config.vcnet.certs.renewBeforeDays });
  return { ca, pair };
}

export interface ServeOptions {
  logger?: Logger;
  checkIntervalMs?: number;
  /**
   * Subresource redirects to host pods without the pod sync (tests of the proxy alone). With the
   * pod sync on, serve redirects to the host it syncs to, and this is ignored.
   */
  redirect?: RedirectOptions;
  /** The file the config came from: the DNS server re-reads its resolveDNS rules when it changes. */
  configFile?: string;
}

export async function serve(config: VcnetConfig, opts: ServeOptions = {}): Promise<Serving> {
  const logger = opts.logger ?? createLogger(config.vcnet.logLevel);
  const v = config.vcnet;
  if (v.virtual.kubeconfig === '') {
    throw new Error('vcnet.virtual.kubeconfig is required: vcnet needs a kubeconfig of its own for the virtual kube-apiserver');
  }
  const upstream = upstreamFromKubeconfig(v.virtual.kubeconfig);
  const clientCA = v.proxy.clientCAFile === '' ? undefined : readFileSync(v.proxy.clientCAFile, 'utf8');

  const store = new CertStore(v.certs.dir);
  const ca = await servingCA(store, config);
  const rotator = new CertRotator({
    store, name: SERVING_CERT, ca, spec: servingSpec(config),
    renewBeforeDays: v.certs.renewBeforeDays,
    // Once a minute: renewals are due days ahead, but `vcnet certs --renew` should take effect soon.
    checkIntervalMs: opts.checkIntervalMs ?? 60_000,
  });
  const serving = await rotator.start();

  const metrics = new ProxyMetrics(undefined, { defaultMetrics: true });
  const setExpiry = (pair: KeyPair): void => {
    metrics.certExpiry.set({ certificate: SERVING_CERT }, certInfo(pair.certPem).notAfter.getTime() / 1000);
  };
  setExpiry(serving);
  metrics.certExpiry.set({ certificate: SERVING_CA }, certInfo(ca.certPem).notAfter.getTime() / 1000);

  // Sync first: by the time the proxy takes traffic, pod writes already reach the host.
  const sync = config.sync.toHost.pods.enabled || config.sync.toHost.services.enabled
    ? await startSync(config, { serving, ca, registry: metrics.registry, logger })
    : undefined;

  const dns = v.dns.enabled
    ? await startDns(config, {
      logger, registry: metrics.registry, configFile: opts.configFile,
      hostKubeConfig: sync?.host.kubeConfig ?? hostKubeConfigFor(config),
    })
    : undefined;

  // pods/log|exec|attach|portforward of virtual pods go to their host pods (docs/pods.md).
  const hostUpstream = sync !== undefined ? upstreamFromKubeConfig(sync.host.kubeConfig) : undefined;
  const redirect: RedirectOptions | undefined = sync !== undefined && hostUpstream !== undefined
    ? { host: hostUpstream, translator: sync.translator }
    : opts.redirect;

  const proxy = await startProxy({
    ...(redirect !== undefined ? { redirect } : {}),
    upstream,
    servingCert: serving,
    clientCA,
    host: config.controlPlane.proxy.bindAddress,
    port: config.controlPlane.proxy.port,
    maxBodyBytes: v.proxy.maxRequestBodyBytes,
    impersonationCacheSeconds: v.proxy.impersonationCacheSeconds,
    logger,
    metrics,
  });
  rotator.on('renewed', (pair: KeyPair) => {
    proxy.setServingCert(pair);
    sync?.setServingCert(pair);
    setExpiry(pair);
    logger.info({ serial: certInfo(pair.certPem).serial, notAfter: certInfo(pair.certPem).notAfter }, 'serving certificate renewed and swapped in');
  });
  rotator.on('error', (err: unknown) => logger.error({ err }, 'serving certificate renewal failed; the current certificate stays in use'));

  const health = await startHealthServer({
    host: v.observability.bindAddress,
    port: v.observability.port,
    registry: metrics.registry,
    logger,
    checks: {
      upstream: () => probeUpstream(upstream),
      ...(sync !== undefined ? { sync: () => sync.ready() } : {}),
    },
  });
  logger.info({ proxy: proxy.url, health: health.url, upstream: upstream.url.origin }, 'vcnet is serving');

  return {
    proxy, healthUrl: health.url, rotator, ca, logger, sync, dns,
    async close(graceMs = 10_000) {
      rotator.stop();
      await health.close();
      await proxy.close(graceMs);
      await Promise.all([sync?.close(), dns?.close()]);
      if (hostUpstream !== undefined) closeUpstream(hostUpstream);
      closeUpstream(upstream);
    },
  };
}
