// The sync side of `vcnet serve`: caches, the pod sync engine, its admission webhook on the virtual
// kube-apiserver, and — in the replica that holds the Lease — the pod reconciler, the node mirror and
// the event copier. Started after the certificates, before the proxy takes traffic.
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import type { KeyPair } from '../certs/index.ts';
import type { VcnetConfig } from '../config/index.ts';
import { KubeTransport, kubeClients, loadKubeConfig, type KubeClients } from '../kube/index.ts';
import type { Logger } from '../observability/logger.ts';
import {
  EventSync, LeaderElector, NodeMirror, PodFactsSource, PodReconciler, PodSync, ReferenceSync, ServiceCIDRs, ServiceReconciler, ServiceSync,
  SyncMetrics, podTranslateOptionsFromConfig, syncSettingsFromConfig, type SyncSettings,
} from '../sync/index.ts';
import { APP_MANAGED_BY, APP_MANAGED_BY_VALUE, Translator, virtualPodOf } from '../translate/index.ts';
import {
  podSyncHook, podWebhookSpec, registerWebhooks, serviceSyncHook, serviceWebhookSpec, startWebhookServer, unregisterWebhooks,
  type AdmissionRequest, type HookContext, type MutatingHook, type ValidatingDecision, type ValidatingHook, type WebhookServer,
} from '../webhook/index.ts';

export interface SyncRuntime {
  readonly settings: SyncSettings;
  readonly translator: Translator;
  readonly podSync: PodSync;
  readonly reconciler: PodReconciler;
  readonly serviceSync: ServiceSync;
  readonly services: ServiceReconciler;
  readonly webhook: WebhookServer;
  readonly virtual: KubeClients;
  readonly host: KubeClients;
  /** Undefined while the caches fill; then the reason sync is not ready, if any. */
  ready(): Promise<string | undefined>;
  setServingCert(pair: KeyPair): void;
  close(): Promise<void>;
}

export async function startSync(config: VcnetConfig, deps: { serving: KeyPair; ca: KeyPair; registry: Registry; logger: Logger }): Promise<SyncRuntime> {
  const inCluster = config.vcnet.host.kubeconfig === '' && isInCluster();
  const settings = syncSettingsFromConfig(config, { inCluster });
  const podOptions = podTranslateOptionsFromConfig(config);
  const logger = deps.logger.child({ component: 'sync' });
  const tr = new Translator({ vcluster: settings.vcluster, hostNamespace: settings.hostNamespace });
  const virtualKc = loadKubeConfig(config.vcnet.virtual.kubeconfig);
  // No host access (no kubeconfig, not in a pod): loading the empty path fails with its usual error.
  const hostKc = hostKubeConfigFor(config) ?? loadKubeConfig(config.vcnet.host.kubeconfig);
  const virtual = kubeClients(virtualKc);
  const host = kubeClients(hostKc);
  const vt = new KubeTransport(virtualKc);
  const ht = new KubeTransport(hostKc);
  const vSide = { kubeConfig: virtualKc, transport: vt };
  const hSide = { kubeConfig: hostKc, transport: ht };
  const metrics = new SyncMetrics(deps.registry);

  const facts = new PodFactsSource({ virtual: vSide, host: hSide, settings, logger });
  const refs = new ReferenceSync({ tr, virtual: vSide, host: hSide, logger });
  const podSync = new PodSync({ tr, settings, podOptions, facts, refs, host: ht, logger });
  const nodes = new NodeMirror({
    virtual, host, hostKubeConfig: hostKc, logger, registry: deps.registry,
    // vcnet always mirrors the nodes its pods run on (binding needs them); `sync.fromHost.nodes`
    // widens that to every node or to nodes with labels.
    options: {
      vcluster: settings.vcluster,
      all: settings.nodes.enabled && settings.nodes.all,
      labels: settings.nodes.enabled ? settings.nodes.labels : {},
      clearImageStatus: settings.nodes.clearImageStatus,
    },
  });
  const reconciler = new PodReconciler({ tr, settings, podOptions, sync: podSync, refs, facts, virtual: vSide, host: hSide, nodes, metrics, logger });
  // Every replica keeps the virtual service ranges covering the host's: the webhook needs it anywhere.
  const cidrs = new ServiceCIDRs({ virtual: vSide, host: hSide, settings, configured: config.networking.serviceCIDR, logger });
  const serviceSync = new ServiceSync({ tr, host: ht, virtual: vt, logger, cidrs });
  const services = new ServiceReconciler({ tr, settings, sync: serviceSync, facts, virtual: vSide, host: hSide, metrics, logger });
  // An EventSync runs once; each term as leader gets a new one.
  const newEventSync = (): EventSync => new EventSync({
    virtual, host, hostKubeConfig: hostKc, hostNamespace: settings.hostNamespace, logger, registry: deps.registry,
    lookup: (hostPodName: string) => {
      const hPod = reconciler.hPods.get(settings.hostNamespace, hostPodName);
      const v = hPod === undefined ? undefined : virtualPodOf(tr, hPod);
      return v === undefined ? undefined : { ...v, ...(hPod?.metadata.uid ? { hostUid: hPod.metadata.uid } : {}) };
    },
  });
  let events: EventSync | undefined;

  reconciler.hPods.reflector.on('add', (p) => { if (p.metadata.name) events?.requeuePod(p.metadata.name); });

  let cachesSynced = false;
  const started = Date.now();
  const podsOn = settings.pods.enabled;
  const servicesOn = settings.services.enabled;
  await Promise.all([facts.start(), refs.start(), ...(podsOn ? [reconciler.start()] : []), ...(servicesOn ? [services.start(), cidrs.start()] : [])]);
  cachesSynced = true;
  logger.info({ ms: Date.now() - started }, 'sync caches filled');

  // The webhooks: served first, then registered, so the API server never calls a closed port. Each
  // configuration is live once a dry run of its probe object reaches its hook.
  const probes = { pods: 0, services: 0 };
  const podHook = withProbe(podSyncHook(podSync, metrics), () => probes.pods++);
  const serviceHook = withProbe(serviceSyncHook(serviceSync, metrics), () => probes.services++);
  const webhook = await startWebhookServer({
    host: config.vcnet.webhook.bindAddress, port: config.vcnet.webhook.port, servingCert: deps.serving,
    logger, registry: deps.registry, hooks: [...(podsOn ? [podHook] : []), ...(servicesOn ? [serviceHook] : [])],
  });
  const hookOptions = { failurePolicy: config.vcnet.webhook.failurePolicy, timeoutSeconds: config.vcnet.webhook.timeoutSeconds };
  const registration = {
    name: `vcnet-${settings.vcluster}`,
    endpoint: { url: config.vcnet.webhook.url === '' ? webhook.url : config.vcnet.webhook.url },
    caBundle: deps.ca.certPem,
    labels: { [APP_MANAGED_BY]: APP_MANAGED_BY_VALUE },
  };
  const [validating, mutating] = await Promise.all([
    podsOn
      ? registerWebhooks(virtualKc, { ...registration, type: 'validating', webhooks: [podWebhookSpec(hookOptions)] })
      : unregisterWebhooks(virtualKc, 'validating', registration.name).then(() => undefined),
    servicesOn
      ? registerWebhooks(virtualKc, { ...registration, type: 'mutating', webhooks: [serviceWebhookSpec(hookOptions)] })
      : unregisterWebhooks(virtualKc, 'mutating', registration.name).then(() => undefined),
  ]);
  // The API server picks configurations up through an informer: wait until a dry run reaches us.
  const live = (kind: 'pods' | 'services', body: unknown) => async (): Promise<boolean> => {
    const before = probes[kind];
    await vt.request('POST', `/api/v1/namespaces/default/${kind}`, { query: { dryRun: 'All' }, body }).catch(() => undefined);
    return probes[kind] > before;
  };
  await Promise.all([
    validating?.waitUntilLive(live('pods', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: PROBE }, spec: { containers: [{ name: 'probe', image: 'probe' }] },
    }), { timeoutMs: 30_000, intervalMs: 100 }),
    mutating?.waitUntilLive(live('services', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: PROBE }, spec: { ports: [{ port: 1 }] },
    }), { timeoutMs: 30_000, intervalMs: 100 }),
  ]);
  logger.info({ url: webhook.url }, 'sync webhooks registered on the virtual kube-apiserver');

  // One Lease per host namespace (one virtual cluster per host namespace, as with vCluster); its name
  // is fixed so the host Role can grant exactly it (manifests/role.yaml).
  const elector = new LeaderElector({
    clients: host, namespace: settings.hostNamespace, name: RECONCILER_LEASE,
    identity: `${hostname()}-${process.pid}`, leaseDurationMs: settings.leaseDurationMs, logger, registry: deps.registry,
  });
  // Only the Lease holder writes: the reconciler, the node mirror and the event copier stop when it
  // loses the Lease and start again if it wins it back.
  elector.onStartedLeading(async () => {
    logger.info('this replica holds the Lease: reconciling');
    if (podsOn) {
      try {
        await nodes.start();
        events = newEventSync().start();
      } catch (err) {
        logger.error({ err }, 'starting the node mirror failed; reconciling without it');
      }
      reconciler.setLeading(true);
    }
    if (servicesOn) services.setLeading(true);
  });
  elector.onStoppedLeading(async () => {
    logger.warn('this replica no longer holds the Lease: reconciling stops');
    reconciler.setLeading(false);
    services.setLeading(false);
    const stopping = events;
    events = undefined;
    await Promise.allSettled([nodes.stop(), stopping?.stop()]);
  });
  elector.start();

  return {
    settings, translator: tr, podSync, reconciler, serviceSync, services, webhook, virtual, host,
    async ready() {
      if (!cachesSynced) return 'sync caches are filling';
      return undefined;
    },
    setServingCert(pair) {
      webhook.setServingCert(pair);
    },
    async close() {
      await elector.stop();
      reconciler.setLeading(false);
      services.setLeading(false);
      await webhook.close();
      await cidrs.stop();
      // Connections first, so that nothing in flight holds up the stops below.
      vt.close();
      ht.close();
      await Promise.allSettled([reconciler.stop(), services.stop(), facts.stop(), refs.stop(), nodes.stop(), events?.stop()]);
    },
  };
}

export const RECONCILER_LEASE = 'vcnet-reconciler';

const SA_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * vcnet's host cluster: `vcnet.host.kubeconfig`, or the pod's service account when that is empty and
 * vcnet runs in a pod; undefined when it is empty outside a pod (no host access).
 */
export function hostKubeConfigFor(config: VcnetConfig): KubeConfig | undefined {
  if (config.vcnet.host.kubeconfig !== '') return loadKubeConfig(config.vcnet.host.kubeconfig);
  return isInCluster() ? inClusterKubeConfig() : undefined;
}

/** Running in a pod with a service account: an empty `vcnet.host.kubeconfig` means "this cluster". */
function isInCluster(): boolean {
  return (process.env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' && existsSync(SA_TOKEN);
}

function inClusterKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromCluster();
  return kc;
}

/** The dry-run pod and Service whose admission proves a webhook configuration is live. */
const PROBE = 'vcnet-webhook-probe';

/** The hook, answering the dry-run probe object itself (counted) and everything else as before. */
function withProbe<H extends MutatingHook | ValidatingHook>(hook: H, seen: () => void): H {
  const handler = hook.handler as (req: AdmissionRequest, ctx: HookContext) => Promise<ValidatingDecision>;
  const probed = async (req: AdmissionRequest, ctx: HookContext): Promise<ValidatingDecision> => {
    if (req.dryRun === true && req.namespace === 'default' && req.name === PROBE) { seen(); return { kind: 'allow' }; }
    return handler(req, ctx);
  };
  return { ...hook, handler: probed };
}
