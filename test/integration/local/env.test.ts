// `vcnet up` / `vcnet down` underneath: detached planes recorded in state.json, stopped by pid.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { ensureBinaries } from '../../../src/local/build.ts';
import { downEnv, readEnvState, recordProcess, spawnDetached, upEnv } from '../../../src/local/env.ts';
import { findKubectl } from '../../../src/local/kubectl.ts';
import { isPidAlive, isSameProcess, runCapture } from '../../../src/local/process.ts';

t.setTimeout(240_000);

const binaries = await ensureBinaries({ build: false, log: (m) => t.comment(m) });
const stateDir = mkdtempSync(join(tmpdir(), 'vcnet-it-env-'));
t.teardown(async () => {
  await downEnv({ stateDir, log: () => {} });
  rmSync(stateDir, { recursive: true, force: true });
});

const state = await upEnv({ stateDir, binaries, log: (m) => t.comment(m) });

t.test('upEnv leaves detached processes, state.json and working kubeconfigs', async (t) => {
  t.same(state.processes.map((p) => p.name).sort(), [
    'etcd', 'etcd', 'kube-apiserver', 'kube-apiserver', 'kube-controller-manager', 'kube-controller-manager', 'kube-scheduler', 'kwok',
  ]);
  for (const p of state.processes) t.ok(isSameProcess(p), `${p.name} pid ${p.pid} is running`);
  t.same(readEnvState(stateDir), state, 'state.json holds what upEnv returned');
  const kubectl = findKubectl();
  const nodes = await runCapture(kubectl, ['--kubeconfig', state.kubeconfigs.host, 'get', 'nodes', '-o', 'name']);
  t.match(nodes.stdout, /node\/kwok-node-0/);
  const ns = await runCapture(kubectl, ['--kubeconfig', state.kubeconfigs.virtualDirect, 'get', 'namespace', 'default', '-o', 'name']);
  t.equal(ns.stdout, 'namespace/default\n');
  t.equal(state.endpoints['host.kube-apiserver'], state.host.url);
  t.equal(state.endpoints['virtual.kube-apiserver'], state.virtual.url);
});

t.test('a second upEnv refuses while the environment is up', async (t) => {
  await t.rejects(upEnv({ stateDir, binaries, log: () => {} }), /already up.*run 'vcnet down' first/);
});

t.test('downEnv stops recorded extra processes first, never a pid that is now another program, and is idempotent', async (t) => {
  const sleeper = spawnDetached('sleeper', '/bin/sleep', ['300'], join(stateDir, 'sleeper.log'));
  recordProcess(stateDir, sleeper, { sleeper: 'none' });
  // A live process of ours recorded under another binary stands for a pid reused after a reboot.
  const bystander = spawn('/bin/sleep', ['300'], { stdio: 'ignore' });
  t.teardown(() => { bystander.kill('SIGKILL'); });
  recordProcess(stateDir, { name: 'impostor', pid: bystander.pid!, logFile: '/dev/null', binary: '/nonexistent/kube-apiserver' });

  const { stopped } = await downEnv({ stateDir, log: (m) => t.comment(m) });
  t.equal(stopped[0], 'sleeper', 'processes recorded last stop first');
  t.equal(stopped.length, 9, 'the sleeper and the 8 control-plane processes');
  t.notOk(stopped.includes('impostor'));
  t.ok(isPidAlive(bystander.pid!), 'the unrelated process still runs');
  for (const p of [...state.processes, sleeper]) t.notOk(isPidAlive(p.pid), `${p.name} pid ${p.pid} is gone`);
  t.notOk(existsSync(join(stateDir, 'state.json')));
  t.notOk(existsSync(state.dir), 'data dir removed');
  t.same(await downEnv({ stateDir, log: () => {} }), { stopped: [] });
});
