// A watch through vcnet stays open through long idle periods: nothing on the path (Node's server,
// the upstream agent, fastify) may time it out. This uses the `vcnet serve` process that
// `vcnet up` started, i.e. the real CLI.
import t from 'tap';
import { spawn } from 'node:child_process';
import { testEnv, kubectl, uniqueName } from '../../harness/env.ts';

const IDLE_MS = 125_000;
const env = await testEnv();

t.test(`kubectl get -w still receives events after ${IDLE_MS / 1000} s of silence`, { timeout: IDLE_MS + 90_000 }, async (t) => {
  const ns = uniqueName('idle-watch');
  await kubectl(env.virtualKubeconfig, ['create', 'namespace', ns]);
  t.teardown(async () => { await kubectl(env.virtualKubeconfig, ['delete', 'namespace', ns, '--wait=false']); });

  const watch = spawn(env.kubectl, ['--kubeconfig', env.proxyKubeconfig, '-n', ns, 'get', 'configmaps', '-w', '-o', 'name', '--request-timeout=0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { watch.kill('SIGKILL'); });
  let out = '';
  let err = '';
  watch.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  watch.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const waitFor = async (name: string, ms: number): Promise<number> => {
    const start = Date.now();
    while (!out.includes(`configmap/${name}`)) {
      if (watch.exitCode !== null) throw new Error(`the watch ended (exit ${watch.exitCode}): ${err}`);
      if (Date.now() - start > ms) throw new Error(`no event for ${name} within ${ms} ms; got: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return Date.now() - start;
  };

  await kubectl(env.virtualKubeconfig, ['-n', ns, 'create', 'configmap', 'first']);
  await waitFor('first', 20_000);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  t.equal(watch.exitCode, null, 'the watch is still open after the idle period');
  await kubectl(env.virtualKubeconfig, ['-n', ns, 'create', 'configmap', 'after-idle']);
  const lag = await waitFor('after-idle', 10_000);
  t.ok(lag < 10_000, `the event after the idle period arrived (${lag} ms)`);
});
