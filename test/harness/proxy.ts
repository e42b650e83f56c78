// An in-process vcnet (the real `serve` wiring) in front of one of the shared control planes, with
// its own certificates and ports, so a test can renew certificates, restart or inspect it freely.
import { join } from 'node:path';
import { issueCert } from '../../src/certs/index.ts';
import { parseConfig, type VcnetConfig } from '../../src/config/index.ts';
import { freePorts } from '../../src/local/net.ts';
import { serve, type Serving } from '../../src/cli/serve.ts';
import type { RedirectOptions } from '../../src/proxy/redirector.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { KubeconfigUser } from '../../src/local/kubeconfig.ts';
import { testEnv, tempDir, writeUserKubeconfig, clientCert } from './env.ts';

export interface TestProxy {
  serving: Serving;
  config: VcnetConfig;
  url: string;
  healthUrl: string;
  /** PEM of the CA that signed the proxy's serving certificate. */
  caPem: string;
  dir: string;
  /** A kubeconfig through this proxy for a certificate user (signed by the plane's CA) or a token. */
  kubeconfig(name: string, user: { groups: string[] } | KubeconfigUser): Promise<string>;
}

export async function startTestProxy(
  t: { teardown(fn: () => void | Promise<void>): void },
  opts: {
    upstream?: 'virtual' | 'host'; checkIntervalMs?: number; extraSANs?: string[];
    /** Subresource redirects to host pods (serve's `redirect`), without the pod sync. */
    redirect?: RedirectOptions;
  } = {},
): Promise<TestProxy> {
  const env = await testEnv();
  const plane = env.state[opts.upstream ?? 'virtual'];
  const dir = tempDir(t, 'vcnet-proxy-');
  const identity = await issueCert(plane.ca, { commonName: 'vcnet', organizations: ['system:masters'], usages: ['client'] });
  const identityKubeconfig = writeUserKubeconfig(dir, 'vcnet-identity', plane.url, plane.caPem, identity);
  const [port, healthPort] = await freePorts(2) as [number, number];
  const config = parseConfig({
    // Proxy only: a second pod sync webhook on the shared virtual cluster would take over its pods.
    sync: { toHost: { pods: { enabled: false }, services: { enabled: false } } },
    controlPlane: { proxy: { bindAddress: '127.0.0.1', port, extraSANs: opts.extraSANs ?? [] } },
    vcnet: {
      dns: { enabled: false },
      virtual: { kubeconfig: identityKubeconfig },
      proxy: { clientCAFile: plane.caFile },
      certs: { dir: join(dir, 'certs') },
      observability: { bindAddress: '127.0.0.1', port: healthPort },
      logLevel: 'warn',
    },
  });
  const logger = createLogger(process.env['VCNET_TEST_LOG'] === '1' ? 'debug' : 'warn');
  const serving = await serve(config, {
    logger,
    ...(opts.redirect !== undefined ? { redirect: opts.redirect } : {}),
    ...(opts.checkIntervalMs !== undefined ? { checkIntervalMs: opts.checkIntervalMs } : {}),
  });
  t.teardown(() => serving.close(1000));
  const url = `https://127.0.0.1:${port}`;
  return {
    serving, config, url, healthUrl: serving.healthUrl, caPem: serving.ca.certPem, dir,
    async kubeconfig(name, user) {
      let u: KubeconfigUser;
      if ('groups' in user) u = await clientCert(opts.upstream ?? 'virtual', name, user.groups);
      else u = user;
      return writeUserKubeconfig(dir, name, url, serving.ca.certPem, u);
    },
  };
}
