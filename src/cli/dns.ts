// The DNS side of `vcnet serve` (docs/dns.md): the index of the virtual cluster's Services,
// EndpointSlices and Pods, the resolveDNS rules with the host Services they name, the forwarder to
// the host cluster's DNS or the upstreams, and the UDP+TCP server in front of them. The rules follow
// the config file while vcnet runs; everything else in it needs a restart.
import { watch, type FSWatcher } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { loadConfigFile, type ResolveDNSRule, type VcnetConfig } from '../config/index.ts';
import {
  ClusterIndex, ClusterResolver, DnsCache, DnsServer, Forwarder, HostServiceIndex, RuleResolver, RuleSet,
  createResolverChain, forwardUpstreams,
} from '../dns/index.ts';
import { loadKubeConfig } from '../kube/index.ts';
import { startHealthServer } from '../observability/health.ts';
import { processRegistry } from '../observability/metrics.ts';
import { createLogger, type Logger } from '../observability/logger.ts';
import { hostKubeConfigFor } from './sync.ts';

export interface DnsRuntime {
  readonly server: DnsServer;
  readonly index: ClusterIndex;
  /** Applies new resolveDNS rules (and watches the host namespaces they name) without a restart. */
  setRules(rules: readonly ResolveDNSRule[]): Promise<void>;
  close(): Promise<void>;
}

export interface DnsDeps {
  readonly logger: Logger;
  readonly registry: Registry;
  /** The host cluster, for rules that name host Services; undefined when vcnet has no host access. */
  readonly hostKubeConfig: KubeConfig | undefined;
  /** The config file, watched for rule changes; undefined for a config built in code. */
  readonly configFile?: string | undefined;
}

export async function startDns(config: VcnetConfig, deps: DnsDeps): Promise<DnsRuntime> {
  const log = deps.logger.child({ component: 'dns' });
  const dns = config.vcnet.dns;
  const clusterDomain = config.networking.advanced.clusterDomain;
  const fallbackHostCluster = config.networking.advanced.fallbackHostCluster;
  let rules = config.networking.resolveDNS;
  if (deps.hostKubeConfig === undefined && RuleSet.hostNamespaces(rules).size > 0) {
    throw new Error('networking.resolveDNS names host Services, but vcnet has no host cluster access: set vcnet.host.kubeconfig');
  }

  const index = new ClusterIndex({ kubeConfig: loadKubeConfig(config.vcnet.virtual.kubeconfig), logger: log });
  const hostServices = deps.hostKubeConfig === undefined ? undefined : new HostServiceIndex(deps.hostKubeConfig, {
    onError: (namespace, err) => log.warn({ err, namespace }, 'dns: watching host Services for resolveDNS failed; retrying'),
  });
  const forwarder = new Forwarder({
    upstreams: forwardUpstreams({ fallbackHostCluster, upstreams: dns.upstreams, hostClusterDNS: dns.hostClusterDNS }),
    timeoutMs: dns.upstreamTimeoutSeconds * 1000,
    cache: new DnsCache(dns.cache),
    self: [{ host: dns.bindAddress, port: dns.port }],
  });
  if (forwarder.refused.length > 0) log.warn({ refused: forwarder.refused }, 'dns: upstreams that are vcnet itself are not used (they would loop)');
  if (forwarder.upstreams.length === 0) log.warn('dns: no upstream resolver: names outside the cluster zone get SERVFAIL');

  let ruleResolver: RuleResolver | undefined;
  const chain = createResolverChain({
    rules: (follow) => {
      ruleResolver = new RuleResolver({ rules, clusterDomain, hostServices: hostServices ?? NO_HOST, follow });
      return ruleResolver;
    },
    cluster: (follow) => new ClusterResolver({ index, clusterDomain, follow, fallthrough: fallbackHostCluster }),
    forward: forwarder,
    fallbackHostCluster,
    clusterDomain,
  });

  const started = Date.now();
  await Promise.all([index.start(), hostServices?.setNamespaces(RuleSet.hostNamespaces(rules))]);
  const server = new DnsServer({
    host: dns.bindAddress, port: dns.port, resolver: chain, logger: log, registry: deps.registry,
    isOwnQuery: (id, name) => forwarder.seesOwnQuery(id, name),
  });
  await server.listen();
  log.info({ address: server.address(), ms: Date.now() - started, upstreams: forwarder.upstreams, rules: rules.length }, 'dns: serving the virtual cluster\'s names');
  void forwarder.probeForLoops().then(() => {
    if (forwarder.looping.length > 0) log.error({ looping: forwarder.looping }, 'dns: these upstreams send vcnet\'s queries back to vcnet (a loop); they are no longer asked');
  }).catch((err: unknown) => log.warn({ err }, 'dns: the loop probe failed'));

  const setRules = async (next: readonly ResolveDNSRule[]): Promise<void> => {
    const namespaces = RuleSet.hostNamespaces(next);
    if (namespaces.size > 0 && hostServices === undefined) throw new Error('the new resolveDNS rules name host Services, but vcnet has no host cluster access');
    await hostServices?.setNamespaces(namespaces);
    ruleResolver?.setRules(next);
    rules = next;
    log.info({ rules: next.length }, 'dns: resolveDNS rules applied');
  };

  // Rule changes without a restart (vCluster needs one, #3247): the file is re-read when it changes;
  // an invalid file is logged and the running rules stay.
  let watcher: FSWatcher | undefined;
  let reload: NodeJS.Timeout | undefined;
  if (deps.configFile !== undefined) {
    const file = deps.configFile;
    watcher = watch(file, () => {
      clearTimeout(reload);
      reload = setTimeout(() => {
        let next: VcnetConfig;
        try {
          next = loadConfigFile(file);
        } catch (err) {
          log.error({ err: err instanceof Error ? err.message : String(err), file }, 'dns: the changed config file is invalid; the resolveDNS rules stay as they were');
          return;
        }
        if (JSON.stringify(next.networking.resolveDNS) === JSON.stringify(rules)) return;
        setRules(next.networking.resolveDNS).catch((err: unknown) => log.error({ err }, 'dns: applying the new resolveDNS rules failed; the old ones stay'));
      }, 200);
      reload.unref();
    });
    watcher.unref();
  }

  return {
    server, index, setRules,
    async close() {
      watcher?.close();
      clearTimeout(reload);
      await server.close();
      await Promise.allSettled([index.stop(), hostServices?.setNamespaces([])]);
    },
  };
}

/** Without host access no rule may name a host Service (startDns refuses such rules). */
const NO_HOST = { lookup: () => ({ state: 'unknown' as const }) };

/**
 * `vcnet dns`: the DNS server alone, in a process of its own, with the health and metrics port
 * (`vcnet.observability`). Run beside a `vcnet serve` whose `vcnet.dns.enabled` is false, it answers
 * on an event loop no proxied request shares, and scales apart from the proxy.
 */
export async function runDns(config: VcnetConfig, opts: { configFile?: string } = {}): Promise<{ logger: Logger; close(): Promise<void> }> {
  const logger = createLogger(config.vcnet.logLevel);
  if (config.vcnet.virtual.kubeconfig === '') {
    throw new Error('vcnet.virtual.kubeconfig is required: the DNS server indexes the virtual cluster\'s Services, EndpointSlices and Pods');
  }
  const registry = processRegistry();
  const dns = await startDns(config, { logger, registry, configFile: opts.configFile, hostKubeConfig: hostKubeConfigFor(config) });
  const v = config.vcnet.observability;
  // Ready once startDns returns: the index has listed everything and the sockets are bound.
  const health = await startHealthServer({ host: v.bindAddress, port: v.port, registry, logger, checks: {} });
  logger.info({ dns: dns.server.address(), health: health.url }, 'vcnet dns is serving');
  return {
    logger,
    async close() {
      await health.close();
      await dns.close();
    },
  };
}
