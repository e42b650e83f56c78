// The objects the scenarios read, created directly on the virtual kube-apiserver (so vcnet stays
// idle meanwhile), and their removal when the environment is not the benchmark's own.
import { performance } from 'node:perf_hooks';
import { agentFor, call, pool, type Target } from './client.ts';

export interface Seeded {
  /** Namespace holding the one ConfigMap of the GET scenario. */
  get: string;
  getPath: string;
  /** Namespace holding exactly `listSize` ConfigMaps. */
  list: string;
  listPath: string;
  /** Empty namespace for the watch scenario. */
  watch: string;
  seedSeconds: number;
}

// About the size of a small application config; the GET object and each LIST item are alike.
function configMap(name: string): object {
  return {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name, labels: { app: 'bench', tier: 'config' } },
    data: { 'app.properties': `name=${name}\n${'setting=value\n'.repeat(16)}` },
  };
}

export async function seed(direct: Target, listSize: number): Promise<Seeded> {
  const suffix = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
  const ns = { get: `bench-get-${suffix}`, list: `bench-list-${suffix}`, watch: `bench-watch-${suffix}` };
  const agent = agentFor(direct, 16);
  const t0 = performance.now();
  try {
    for (const n of Object.values(ns)) await call(direct, agent, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } });
    const getPath = `/api/v1/namespaces/${ns.get}/configmaps/bench-object`;
    await call(direct, agent, 'POST', `/api/v1/namespaces/${ns.get}/configmaps`, configMap('bench-object'));

    // The controller manager adds kube-root-ca.crt to every new namespace; it counts towards the
    // total, so the LIST is of the namespace as it is, without a selector.
    const listPath = `/api/v1/namespaces/${ns.list}/configmaps`;
    let existing = 0;
    for (let i = 0; i < 50 && existing === 0; i++) {
      existing = (await call<{ items: unknown[] }>(direct, agent, 'GET', listPath)).items.length;
      if (existing === 0) await new Promise((r) => setTimeout(r, 100));
    }
    const names = Array.from({ length: listSize - existing }, (_, i) => `cm-${String(i).padStart(4, '0')}`);
    await pool(names, 16, async (n) => { await call(direct, agent, 'POST', listPath, configMap(n)); });
    const list = await call<{ items: unknown[] }>(direct, agent, 'GET', listPath);
    if (list.items.length !== listSize) throw new Error(`seeding: expected ${listSize} ConfigMaps in ${ns.list}, the API server lists ${list.items.length}`);
    return { ...ns, getPath, listPath, seedSeconds: (performance.now() - t0) / 1000 };
  } finally {
    agent.destroy();
  }
}

/** Best effort: a reused environment should not keep the benchmark's namespaces. */
export async function removeSeeded(direct: Target, s: Seeded, log: (m: string) => void): Promise<void> {
  const agent = agentFor(direct, 4);
  try {
    for (const n of [s.get, s.list, s.watch]) {
      await call(direct, agent, 'DELETE', `/api/v1/namespaces/${n}`).catch((err: unknown) => log(`could not delete namespace ${n}: ${(err as Error).message}`));
    }
  } finally {
    agent.destroy();
  }
}
