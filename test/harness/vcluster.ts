// A virtual cluster of a test's own: a fresh virtual control plane and a `vcnet serve` process with
// its own vCluster name and host namespace, on the shared host plane. For tests that must stop,
// kill or cut something (which would disturb every other test on the shared vcnet).
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeLocalVcnetConfig, waitForVcnet } from '../../src/cli/up.ts';
import { issueCert } from '../../src/certs/index.ts';
import { freshDir, startControlPlane, type ControlPlane } from '../../src/local/controlplane.ts';
import { writeKubeconfig } from '../../src/local/kubeconfig.ts';
import { freePorts } from '../../src/local/net.ts';
import { spawnLogged, stopProcesses, type SpawnedProcess } from '../../src/local/process.ts';
import { testEnv, tempDir, uniqueName } from './env.ts';
import { startRelay, type Relay } from './relay.ts';

const MAIN = resolve(import.meta.dirname, '../../src/cli/main.ts');

export interface TestVcluster {
  readonly name: string;
  readonly hostNamespace: string;
  readonly plane: ControlPlane;
  /** Admin through this vcnet's proxy. */
  readonly kubeconfig: string;
  /** Admin on this virtual kube-apiserver, directly. */
  readonly virtualKubeconfig: string;
  /** Present with `hostRelay`: vcnet reaches the host kube-apiserver through it. */
  readonly relay: Relay | undefined;
  readonly logFile: string;
  /** The running vcnet process (undefined after kill). */
  vcnet(): SpawnedProcess | undefined;
  /** SIGKILL: no shutdown of any kind. */
  kill(): Promise<void>;
  /** Starts vcnet again with the same configuration and waits until it is ready. */
  start(): Promise<void>;
}

export async function startTestVcluster(
  t: { teardown(fn: () => void | Promise<void>): void },
  opts: { hostRelay?: boolean; sync?: Record<string, unknown> } = {},
): Promise<TestVcluster> {
  const env = await testEnv();
  const dir = tempDir(t, 'vcnet-vc-');
  const name = uniqueName('vc').replace(/[^a-z0-9-]/g, '');
  const hostNamespace = `${name}-host`;
  const plane = await startControlPlane({
    name: 'virtual', role: 'virtual', dir: freshDir('vcnet-test-virtual-'), binaries: env.state.binaries,
    serviceCIDR: env.state.virtual.serviceCIDR, removeDirOnStop: true,
  });
  t.teardown(() => plane.stop());

  let relay: Relay | undefined;
  let hostKubeconfig = env.hostKubeconfig;
  if (opts.hostRelay === true) {
    const url = new URL(env.state.host.url);
    relay = await startRelay({ host: url.hostname, port: Number(url.port) });
    t.teardown(() => relay?.close());
    const admin = await issueCert(env.state.host.ca, { commonName: 'admin', organizations: ['system:masters'], usages: ['client'] });
    hostKubeconfig = writeKubeconfig(join(dir, 'host-relay.kubeconfig'), {
      name: 'host-relay', server: `https://127.0.0.1:${relay.port}`, caPem: env.state.host.caPem, userName: 'admin', user: admin,
    });
  }

  const [proxyPort, healthPort, webhookPort] = await freePorts(3) as [number, number, number];
  const { stop: _stop, ...virtualInfo } = plane;
  const configFile = await writeLocalVcnetConfig(dir, { ...env.state, virtual: virtualInfo, kubeconfigs: { host: hostKubeconfig, virtualDirect: plane.adminKubeconfig } }, {
    proxyPort, healthPort, webhookPort, certsDir: join(dir, 'certs'), writtenBy: 'test/harness/vcluster.ts',
    vcluster: name, hostNamespace,
    ...(opts.sync !== undefined ? { extra: opts.sync } : {}),
  });
  const logFile = join(dir, 'vcnet.log');
  let proc: SpawnedProcess | undefined;
  const start = async (): Promise<void> => {
    proc = spawnLogged({ name: 'vcnet', binary: process.execPath, args: [MAIN, 'serve', '--config', configFile], logFile, port: proxyPort });
    await waitForVcnet(`http://127.0.0.1:${healthPort}`, () => proc?.exit === undefined, logFile);
  };
  await start();
  t.teardown(async () => { if (proc !== undefined) await stopProcesses([proc], { timeoutMs: 5_000 }); });

  const admin = await issueCert(plane.ca, { commonName: 'admin', organizations: ['system:masters'], usages: ['client'] });
  const kubeconfig = writeKubeconfig(join(dir, 'admin.kubeconfig'), {
    name, server: `https://127.0.0.1:${proxyPort}`, caPem: await import('node:fs').then((fs) => fs.readFileSync(join(dir, 'certs', 'vcnet-ca.crt'), 'utf8')),
    userName: 'admin', user: admin,
  });
  writeFileSync(join(dir, 'name'), name);
  return {
    name, hostNamespace, plane, kubeconfig, virtualKubeconfig: plane.adminKubeconfig, relay, logFile,
    vcnet: () => proc,
    async kill() {
      if (proc === undefined) return;
      process.kill(proc.pid, 'SIGKILL');
      await stopProcesses([proc], { timeoutMs: 5_000 });
      proc = undefined;
    },
    start,
  };
}
