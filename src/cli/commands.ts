// serve, kubeconfig, certs, build and version. (up/down live in up.ts.)
import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import pkg from '../../package.json' with { type: 'json' };
import { CertStore, certInfo, issueCert, type KeyPair } from '../certs/index.ts';
import { defaultConfig, loadConfigFile, mergeConfig, type VcnetConfig } from '../config/index.ts';
import { ensureBinaries, KUBE_VERSION, ETCD_VERSION, KWOK_VERSION } from '../local/build.ts';
import { serve, SERVING_CA, SERVING_CERT } from './serve.ts';
import { kubeconfigYaml, writeKubeconfig, type KubeconfigUser } from '../local/kubeconfig.ts';
import { readEndpoints, STATE_DIR } from './paths.ts';
import { readEnvState } from '../local/env.ts';
import type { Command } from './command.ts';
import type { Logger } from '../observability/logger.ts';

/** --config, then flags on top. */
export function configFrom(values: Record<string, unknown>): VcnetConfig {
  const path = values['config'] as string | undefined;
  const base = path === undefined ? defaultConfig() : loadConfigFile(resolve(path));
  const overrides: Record<string, unknown> = {};
  const set = (keys: string[], v: unknown): void => {
    if (v === undefined) return;
    let o = overrides;
    for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
    o[keys[keys.length - 1] as string] = v;
  };
  set(['controlPlane', 'proxy', 'bindAddress'], values['bind-address']);
  set(['controlPlane', 'proxy', 'port'], values['port'] === undefined ? undefined : Number(values['port']));
  set(['vcnet', 'virtual', 'kubeconfig'], values['virtual-kubeconfig'] === undefined ? undefined : resolve(values['virtual-kubeconfig'] as string));
  set(['vcnet', 'proxy', 'clientCAFile'], values['client-ca'] === undefined ? undefined : resolve(values['client-ca'] as string));
  set(['vcnet', 'certs', 'dir'], values['certs-dir'] === undefined ? undefined : resolve(values['certs-dir'] as string));
  set(['vcnet', 'observability', 'port'], values['metrics-port'] === undefined ? undefined : Number(values['metrics-port']));
  set(['vcnet', 'logLevel'], values['log-level']);
  return mergeConfig(base, overrides as never);
}

/** --config as an absolute path, for commands that follow the file's changes (resolveDNS rules). */
function configFileOption(values: Record<string, unknown>): { configFile?: string } {
  const file = values['config'] as string | undefined;
  return file === undefined ? {} : { configFile: resolve(file) };
}

const CONFIG_FLAGS = {
  config: { type: 'string', short: 'c' },
  'bind-address': { type: 'string' },
  port: { type: 'string' },
  'virtual-kubeconfig': { type: 'string' },
  'client-ca': { type: 'string' },
  'certs-dir': { type: 'string' },
  'metrics-port': { type: 'string' },
  'log-level': { type: 'string' },
} satisfies Command['options'];

export const serveCommand: Command = {
  summary: 'Runs the vcnet proxy, its webhooks and sync, and (with vcnet.dns.enabled) the DNS server, until SIGTERM or SIGINT.',
  options: CONFIG_FLAGS,
  async run(values: Record<string, unknown>): Promise<number> {
    const s = await serve(configFrom(values), configFileOption(values));
    await untilSignal(s.logger, () => s.close());
    return 0;
  },
};

const DNS_FLAGS = {
  config: { type: 'string', short: 'c' },
  'virtual-kubeconfig': { type: 'string' },
  'metrics-port': { type: 'string' },
  'log-level': { type: 'string' },
} satisfies Command['options'];

export const dnsCommand: Command = {
  summary: 'Runs only vcnet\'s DNS server (vcnet.dns.*, whatever vcnet.dns.enabled says) with its health and metrics port, until SIGTERM or SIGINT: DNS in pods of its own, beside a vcnet serve with vcnet.dns.enabled: false (docs/dns.md).',
  options: DNS_FLAGS,
  async run(values: Record<string, unknown>): Promise<number> {
    const { runDns } = await import('./dns.ts');
    const d = await runDns(configFrom(values), configFileOption(values));
    await untilSignal(d.logger, () => d.close());
    return 0;
  },
};

/** Runs until SIGTERM or SIGINT, then `close()`. A bug must not vanish silently meanwhile. */
async function untilSignal(logger: Logger, close: () => Promise<void>): Promise<void> {
  // Logged with its stack, as one structured line, then a non-zero exit (Node's default for both)
  // so the kubelet restarts the container.
  process.on('uncaughtException', (err) => { logger.fatal({ err }, 'uncaught exception: exiting'); process.exit(70); });
  process.on('unhandledRejection', (err) => { logger.fatal({ err }, 'unhandled promise rejection: exiting'); process.exit(70); });
  await new Promise<void>((done) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'shutting down');
      close().then(done, (err: unknown) => { logger.error({ err }, 'shutdown failed'); done(); });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

export const certsCommand: Command = {
  summary: 'Creates vcnet\'s CA and serving certificate if missing (reusing valid ones) and prints them. --renew issues a new serving certificate now; a running vcnet serve picks it up without dropping connections.',
  options: { ...CONFIG_FLAGS, renew: { type: 'boolean' } },
  async run(values: Record<string, unknown>): Promise<number> {
    const config = configFrom(values);
    const { ensureServingCert } = await import('./serve.ts');
    const { ca, pair } = await ensureServingCert(config, values['renew'] === true);
    const store = new CertStore(config.vcnet.certs.dir);
    for (const [name, p] of [[SERVING_CA, ca], [SERVING_CERT, pair]] as Array<[string, KeyPair]>) {
      const i = certInfo(p.certPem);
      process.stdout.write(`${store.paths(name).cert}\n  subject:   ${i.subject}\n  serial:    ${i.serial}\n  notAfter:  ${i.notAfter.toISOString()}\n`);
      if (!i.isCA) process.stdout.write(`  DNS SANs:  ${i.dnsNames.join(', ')}\n  IP SANs:   ${i.ipAddresses.join(', ')}\n`);
    }
    return 0;
  },
};

export const kubeconfigCommand: Command = {
  summary: 'Writes a kubeconfig that reaches the virtual cluster through vcnet, for a user identified by a client certificate (issued here from the cluster\'s client CA) or by a bearer token.',
  options: {
    user: { type: 'string', short: 'u' },
    group: { type: 'string', short: 'g', multiple: true },
    token: { type: 'string' },
    server: { type: 'string' },
    'proxy-ca': { type: 'string' },
    'client-ca-cert': { type: 'string' },
    'client-ca-key': { type: 'string' },
    'validity-days': { type: 'string' },
    out: { type: 'string', short: 'o' },
    'state-dir': { type: 'string' },
  },
  async run(values: Record<string, unknown>): Promise<number> {
    const stateDir = resolve((values['state-dir'] as string | undefined) ?? STATE_DIR);
    const endpoints = readEndpoints(stateDir);
    const server = (values['server'] as string | undefined) ?? endpoints?.proxy;
    if (server === undefined) throw new Error(`--server is required (no ${stateDir}/endpoints.json from 'vcnet up' to take it from)`);
    const proxyCaPath = (values['proxy-ca'] as string | undefined) ?? endpoints?.proxyCA;
    if (proxyCaPath === undefined) throw new Error('--proxy-ca is required: the CA that signed vcnet\'s serving certificate');
    const token = values['token'] as string | undefined;
    const userName = (values['user'] as string | undefined) ?? (token !== undefined ? 'token-user' : undefined);
    if (userName === undefined) throw new Error('--user (for a client certificate) or --token is required');
    let user: KubeconfigUser;
    if (token !== undefined) {
      user = { token };
    } else {
      const state = readEnvState(stateDir);
      const caCert = (values['client-ca-cert'] as string | undefined) ?? state?.virtual.caFile;
      const caKey = (values['client-ca-key'] as string | undefined) ?? state?.virtual.caKeyFile;
      if (caCert === undefined || caKey === undefined || !existsSync(caCert) || !existsSync(caKey)) {
        throw new Error('--client-ca-cert and --client-ca-key are required to issue a client certificate (the virtual cluster\'s client CA)');
      }
      const ca = { certPem: readFileSync(caCert, 'utf8'), keyPem: readFileSync(caKey, 'utf8') };
      const groups = (values['group'] as string[] | undefined) ?? [];
      const days = values['validity-days'] === undefined ? 365 : Number(values['validity-days']);
      user = await issueCert(ca, { commonName: userName, organizations: groups, usages: ['client'], validityDays: days });
    }
    const spec = { name: 'vcnet', server, caPem: readFileSync(proxyCaPath, 'utf8'), userName, user };
    const out = values['out'] as string | undefined;
    if (out === undefined) process.stdout.write(kubeconfigYaml(spec));
    else process.stderr.write(`wrote ${writeKubeconfig(resolve(out), spec)}\n`);
    return 0;
  },
};

export const buildCommand: Command = {
  summary: `Builds the pinned control-plane binaries when missing (kube-apiserver, kube-controller-manager, kube-scheduler ${KUBE_VERSION}, etcd ${ETCD_VERSION}, kwok ${KWOK_VERSION}) into the cache, and prints where they are.`,
  options: { 'cache-dir': { type: 'string' } },
  async run(values: Record<string, unknown>): Promise<number> {
    const cacheDir = values['cache-dir'] as string | undefined;
    const bins = await ensureBinaries({ log: (m) => process.stderr.write(`${m}\n`), ...(cacheDir !== undefined ? { cacheDir } : {}) });
    process.stdout.write(`${JSON.stringify(bins, null, 2)}\n`);
    return 0;
  },
};

export const versionCommand: Command = {
  summary: 'Prints the versions of vcnet, Node.js and the pinned control-plane components.',
  options: { output: { type: 'string', short: 'o' } },
  async run(values: Record<string, unknown>): Promise<number> {
    const v = { vcnet: pkg.version, node: process.versions.node, kubernetes: KUBE_VERSION, etcd: ETCD_VERSION, kwok: KWOK_VERSION };
    if (values['output'] === 'json') process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
    else process.stdout.write(Object.entries(v).map(([k, x]) => `${k}: ${x}`).join('\n') + '\n');
    return 0;
  },
};
