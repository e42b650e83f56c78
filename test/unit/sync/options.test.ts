import t from 'tap';
import { createHash } from 'node:crypto';
import { checkToleration } from '../../../src/config/checks.ts';
import { defaultConfig, mergeConfig, parseConfig } from '../../../src/config/index.ts';
import type { DeepPartial, VcnetConfig } from '../../../src/config/index.ts';
import { VcnetError } from '../../../src/errors.ts';
import {
  imageReference, podTranslateOptionsFromConfig, syncSettingsFromConfig, webhookBaseURL,
} from '../../../src/sync/options.ts';
import { DEFAULT_POD_TRANSLATE_OPTIONS, parseToleration } from '../../../src/translate/index.ts';
import type { PodTranslateOptions } from '../../../src/translate/index.ts';

function config(overrides: DeepPartial<VcnetConfig>): VcnetConfig {
  return mergeConfig(defaultConfig(), overrides);
}

/** A config with pod sync's required fields set, so the settings can be built. */
const SERVING = { vcnet: { host: { namespace: 'vc-ns', kubeconfig: '/etc/vcnet/host.kubeconfig' } } } as const;

t.test('the default config gives vCluster\'s default pod translation options', async (t) => {
  t.same(podTranslateOptionsFromConfig(defaultConfig()), DEFAULT_POD_TRANSLATE_OPTIONS);
});

t.test('podTranslateOptionsFromConfig maps each field', async (t) => {
  const cases: Array<{ name: string; config: DeepPartial<VcnetConfig>; expected: (o: PodTranslateOptions) => unknown; value: unknown }> = [
    { name: 'turns the /etc/hosts rewrite off', config: { sync: { toHost: { pods: { rewriteHosts: { enabled: false } } } } }, expected: (o) => o.rewriteHosts.enabled, value: false },
    {
      name: 'joins the image as registry/repository:tag',
      config: { sync: { toHost: { pods: { rewriteHosts: { initContainer: { image: { registry: 'registry.example.com:5000', repository: 'tools/busybox', tag: '1.36' } } } } } } },
      expected: (o) => o.rewriteHosts.initContainer.image,
      value: 'registry.example.com:5000/tools/busybox:1.36',
    },
    {
      name: 'writes no leading / for an empty registry',
      config: { sync: { toHost: { pods: { rewriteHosts: { initContainer: { image: { registry: '', repository: 'library/alpine', tag: '3.20' } } } } } } },
      expected: (o) => o.rewriteHosts.initContainer.image,
      value: 'library/alpine:3.20',
    },
    {
      name: 'passes the resources and leaves out the empty ones',
      config: { sync: { toHost: { pods: { rewriteHosts: { initContainer: { resources: { limits: { cpu: '', memory: '128Mi' }, requests: { cpu: '10m', memory: '' } } } } } } } },
      expected: (o) => o.rewriteHosts.initContainer.resources,
      value: { limits: { memory: '128Mi' }, requests: { cpu: '10m' } },
    },
    {
      name: 'passes translateImage',
      config: { sync: { toHost: { pods: { translateImage: { 'nginx:1.25': 'mirror.example/nginx:1.25' } } } } },
      expected: (o) => o.translateImage,
      value: { 'nginx:1.25': 'mirror.example/nginx:1.25' },
    },
    {
      name: 'passes enforceTolerations',
      config: { sync: { toHost: { pods: { enforceTolerations: ['dedicated=vcluster:NoSchedule', '*'] } } } },
      expected: (o) => o.enforceTolerations,
      value: ['dedicated=vcluster:NoSchedule', '*'],
    },
    { name: 'passes useSecretsForSATokens', config: { sync: { toHost: { pods: { useSecretsForSATokens: true } } } }, expected: (o) => o.useSecretsForSATokens, value: true },
    { name: 'passes runtimeClassName', config: { sync: { toHost: { pods: { runtimeClassName: 'gvisor' } } } }, expected: (o) => o.runtimeClassName, value: 'gvisor' },
    { name: 'passes priorityClassName', config: { sync: { toHost: { pods: { priorityClassName: 'low' } } } }, expected: (o) => o.priorityClassName, value: 'low' },
    { name: 'takes the cluster domain from networking', config: { networking: { advanced: { clusterDomain: 'corp.internal' } } }, expected: (o) => o.clusterDomain, value: 'corp.internal' },
    {
      name: 'takes the workload service account from controlPlane.advanced',
      config: { controlPlane: { advanced: { workloadServiceAccount: { name: 'workloads' } } } },
      expected: (o) => o.workloadServiceAccount,
      value: 'workloads',
    },
    {
      name: 'pins pods to the node labels when node sync is on',
      config: { sync: { fromHost: { nodes: { enabled: true, selector: { labels: { pool: 'vcluster' } } } } } },
      expected: (o) => o.nodeSelectorLabels,
      value: { pool: 'vcluster' },
    },
    {
      name: 'ignores the node labels when node sync is off',
      config: { sync: { fromHost: { nodes: { enabled: false, selector: { labels: { pool: 'vcluster' } } } } } },
      expected: (o) => o.nodeSelectorLabels,
      value: {},
    },
    {
      name: 'pins nothing when every node is synced',
      config: { sync: { fromHost: { nodes: { enabled: true, selector: { all: true } } } } },
      expected: (o) => o.nodeSelectorLabels,
      value: {},
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const options = podTranslateOptionsFromConfig(config(c.config));
      t.same(c.expected(options), c.value);
    });
  }
});

t.test('imageReference follows vCluster\'s Image.String()', async (t) => {
  const rows: Array<[{ registry: string; repository: string; tag: string }, string]> = [
    [{ registry: 'mirror.gcr.io', repository: 'library/alpine', tag: '3.20' }, 'mirror.gcr.io/library/alpine:3.20'],
    [{ registry: '', repository: 'library/alpine', tag: '3.20' }, 'library/alpine:3.20'],
    [{ registry: '', repository: 'alpine', tag: '3.20' }, 'alpine:3.20'],
    [{ registry: 'mirror.gcr.io', repository: 'alpine', tag: '3.20' }, 'mirror.gcr.io/library/alpine:3.20'],
    [{ registry: 'localhost:5000', repository: 'a/b', tag: '' }, 'localhost:5000/a/b'],
    [{ registry: '', repository: 'busybox', tag: '' }, 'busybox'],
  ];
  for (const [image, ref] of rows) t.equal(imageReference(image), ref, JSON.stringify(image));
});

t.test('errors of podTranslateOptions come through as VCN_ERR_CONFIG_INVALID', async (t) => {
  // parseConfig never lets such a value through; a config object built by hand can.
  const base = defaultConfig();
  const bad = {
    ...base,
    sync: { ...base.sync, toHost: { ...base.sync.toHost, pods: { ...base.sync.toHost.pods, enforceTolerations: ['ok', 'a:b:c'] } } },
  } as VcnetConfig;
  t.throws(() => podTranslateOptionsFromConfig(bad), {
    name: 'VcnetError',
    code: 'VCN_ERR_CONFIG_INVALID',
    message: /^invalid configuration: sync\.toHost\.pods\.enforceTolerations\[1\]: "a:b:c" is not a toleration/,
  });
});

t.test('the config check of a toleration agrees with the translation that builds it', async (t) => {
  const specs = [
    '*', 'key', 'key=value', 'key=', 'key:NoSchedule', 'key=value:NoExecute', 'k=:PreferNoSchedule',
    'example.com/key=v:NoSchedule', 'a/b', '', '=v', ':NoSchedule', 'key:', 'key:noschedule', 'a:b:c', 'a=b=c',
    'key=-v', 'key=v-', 'bad key', '*:NoSchedule', '**', 'Key_1.x=Val_1.x:NoExecute', 'k'.repeat(64), `k=${'v'.repeat(64)}`,
  ];
  for (const spec of specs) {
    let translated: string | undefined;
    try {
      parseToleration(spec, 'f');
    } catch (err) {
      translated = (err as Error).message;
    }
    const checked = checkToleration(spec);
    t.equal(checked === undefined, translated === undefined, `${JSON.stringify(spec)}: both ${translated === undefined ? 'accept' : 'refuse'} it`);
    if (checked !== undefined && translated !== undefined) {
      // Same wording, except for the field prefix the translation adds.
      t.equal(`invalid configuration: f: ${checked}`, translated, `${JSON.stringify(spec)}: same reason`);
    }
  }
  t.test('only a malformed key prefix is refused by the config alone, which is stricter', async (t) => {
    for (const spec of ['a..b/key', 'a.-b/key=v']) {
      t.doesNotThrow(() => parseToleration(spec), `the translation takes ${spec}`);
      t.match(checkToleration(spec), /is not a valid label key/, `the config refuses ${spec}`);
    }
  });
});

t.test('syncSettingsFromConfig', async (t) => {
  t.test('resolves the defaults', async (t) => {
    t.same(syncSettingsFromConfig(config(SERVING)), {
      vcluster: 'vcluster',
      hostNamespace: 'vc-ns',
      kubeService: 'vcluster',
      dnsService: 'kube-dns-x-kube-system-x-vcluster',
      orphanGraceMs: 30_000,
      resyncMs: 300_000,
      leaseDurationMs: 15_000,
      pods: { enabled: true },
      services: { enabled: true, endpoints: true, endpointSlices: true },
      nodes: { enabled: false, all: false, labels: {}, clearImageStatus: false },
    });
  });

  t.test('takes each field', async (t) => {
    const settings = syncSettingsFromConfig(config({
      vcnet: {
        name: 'team-a',
        host: { namespace: 'team-a-ns', kubeconfig: 'host.kubeconfig', service: 'vcnet', dnsService: 'vcnet-dns' },
        sync: { orphanGraceSeconds: 5, resyncSeconds: 60, leaseDurationSeconds: 30 },
      },
      sync: {
        toHost: { endpoints: { enabled: false } },
        fromHost: { nodes: { enabled: true, selector: { labels: { pool: 'a' } }, clearImageStatus: true } },
      },
    }));
    t.same(settings, {
      vcluster: 'team-a',
      hostNamespace: 'team-a-ns',
      kubeService: 'vcnet',
      dnsService: 'vcnet-dns',
      orphanGraceMs: 5000,
      resyncMs: 60_000,
      leaseDurationMs: 30_000,
      pods: { enabled: true },
      services: { enabled: true, endpoints: false, endpointSlices: true },
      nodes: { enabled: true, all: false, labels: { pool: 'a' }, clearImageStatus: true },
    });
  });

  t.test('the default names follow vcnet.name, hashed like vCluster beyond 63 characters', async (t) => {
    const name = `v${'x'.repeat(39)}`;
    const settings = syncSettingsFromConfig(config({ ...SERVING, vcnet: { ...SERVING.vcnet, name } }));
    const full = `kube-dns-x-kube-system-x-${name}`;
    t.equal(settings.kubeService, name);
    t.equal(settings.dnsService, `${full.slice(0, 52)}-${createHash('sha256').update(full).digest('hex').slice(0, 10)}`);
    t.equal(settings.dnsService.length, 63);
  });

  t.test('refuses pod sync without a host namespace and kubeconfig, naming both', async (t) => {
    let error: unknown;
    try {
      syncSettingsFromConfig(defaultConfig());
    } catch (err) {
      error = err;
    }
    t.ok(error instanceof VcnetError, 'a VcnetError');
    t.match(error, {
      code: 'VCN_ERR_CONFIG_INVALID',
      status: 400,
      message: 'invalid configuration: vcnet.host.namespace: must be set while sync.toHost.pods.enabled is true, to name the host namespace the objects are synced to; ' +
        'vcnet.host.kubeconfig: must be set while sync.toHost.pods.enabled is true, to reach the host cluster',
    });
  });

  const rows: Array<{ name: string; config: DeepPartial<VcnetConfig>; inCluster?: boolean; error?: RegExp }> = [
    { name: 'names only the namespace when the kubeconfig is set', config: { vcnet: { host: { kubeconfig: 'h' } } }, error: /^invalid configuration: vcnet\.host\.namespace: must be set[^;]*$/ },
    { name: 'names only the kubeconfig when the namespace is set', config: { vcnet: { host: { namespace: 'ns' } } }, error: /^invalid configuration: vcnet\.host\.kubeconfig: must be set while sync\.toHost\.pods\.enabled is true[^;]*$/ },
    { name: 'takes in-cluster credentials instead of a kubeconfig', config: { vcnet: { host: { namespace: 'ns' } } }, inCluster: true },
    { name: 'still needs the namespace in-cluster', config: {}, inCluster: true, error: /^invalid configuration: vcnet\.host\.namespace: must be set[^;]*$/ },
    { name: 'needs neither without pod, service or node sync', config: { sync: { toHost: { pods: { enabled: false }, services: { enabled: false } } } } },
    {
      name: 'needs both for service sync alone',
      config: { sync: { toHost: { pods: { enabled: false } } } },
      error: /^invalid configuration: vcnet\.host\.namespace: must be set while sync\.toHost\.services\.enabled is true, to name the host namespace the objects are synced to; vcnet\.host\.kubeconfig: must be set while sync\.toHost\.services\.enabled is true/,
    },
    {
      name: 'needs the kubeconfig for node sync alone',
      config: { sync: { toHost: { pods: { enabled: false }, services: { enabled: false } }, fromHost: { nodes: { enabled: true } } } },
      error: /^invalid configuration: vcnet\.host\.kubeconfig: must be set while sync\.fromHost\.nodes\.enabled is true, to reach the host cluster$/,
    },
  ];
  for (const r of rows) {
    t.test(r.name, async (t) => {
      const run = (): unknown => syncSettingsFromConfig(config(r.config), r.inCluster === undefined ? {} : { inCluster: r.inCluster });
      if (r.error === undefined) t.doesNotThrow(run);
      else t.throws(run, { code: 'VCN_ERR_CONFIG_INVALID', message: r.error });
    });
  }

  t.test('endpoints and endpoint slices follow services', async (t) => {
    const on = syncSettingsFromConfig(config({ ...SERVING }));
    t.same(on.services, { enabled: true, endpoints: true, endpointSlices: true }, 'all on by default, as in vCluster');
    const off = syncSettingsFromConfig(config({ ...SERVING, sync: { toHost: { services: { enabled: false } } } }));
    t.same(off.services, { enabled: false, endpoints: false, endpointSlices: false }, 'no endpoint copies without service sync');
    const noSlices = syncSettingsFromConfig(config({ ...SERVING, sync: { toHost: { endpointSlices: { enabled: false } } } }));
    t.same(noSlices.services, { enabled: true, endpoints: true, endpointSlices: false });
  });

  t.test('the labels are a copy the caller may keep', async (t) => {
    const c = config({ ...SERVING, sync: { fromHost: { nodes: { enabled: true, selector: { labels: { pool: 'a' } } } } } });
    const settings = syncSettingsFromConfig(c);
    settings.nodes.labels['pool'] = 'b';
    t.same(c.sync.fromHost.nodes.selector.labels, { pool: 'a' });
  });
});

t.test('webhookBaseURL', async (t) => {
  const rows: Array<[DeepPartial<VcnetConfig>, string]> = [
    [{}, 'https://127.0.0.1:9443'],
    [{ vcnet: { webhook: { port: 10443 } } }, 'https://127.0.0.1:10443'],
    [{ vcnet: { webhook: { url: 'https://vcnet.vc-ns.svc:9443' } } }, 'https://vcnet.vc-ns.svc:9443'],
    [{ vcnet: { webhook: { url: 'https://vcnet.vc-ns.svc:9443/' } } }, 'https://vcnet.vc-ns.svc:9443'],
  ];
  for (const [overrides, url] of rows) t.equal(webhookBaseURL(config(overrides)), url, JSON.stringify(overrides));
});

t.test('a config file parses into options and settings end to end', async (t) => {
  const c = parseConfig({
    sync: { toHost: { pods: { enforceTolerations: ['gpu:NoSchedule'] } } },
    vcnet: { host: { namespace: 'ns', kubeconfig: 'k' } },
  });
  t.same(podTranslateOptionsFromConfig(c).enforceTolerations, ['gpu:NoSchedule']);
  t.equal(syncSettingsFromConfig(c).hostNamespace, 'ns');
});
