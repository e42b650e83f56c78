// Helpers of the pod sync tests: kubectl with JSON answers, polling, and the host twin of a virtual pod.
import { Translator } from '../../src/translate/names.ts';
import { LOCAL_HOST_NAMESPACE, LOCAL_VCLUSTER } from '../../src/cli/up.ts';
import type { Pod } from '../../src/translate/pod.ts';
import { kubectl } from './env.ts';

/** The shared environment's names (src/cli/up.ts). */
export const sharedTranslator = new Translator({ vcluster: LOCAL_VCLUSTER, hostNamespace: LOCAL_HOST_NAMESPACE });

export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `kubectl get ... -o json`, parsed; undefined when kubectl fails (NotFound). */
export async function getJson<T>(kubeconfig: string, args: string[]): Promise<T | undefined> {
  const r = await kubectl(kubeconfig, ['get', ...args, '-o', 'json']);
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout) as T;
}

export async function listPods(kubeconfig: string, namespace: string, selector?: string): Promise<Pod[]> {
  const list = await getJson<{ items: Pod[] }>(kubeconfig, ['pods', '-n', namespace, ...(selector ? ['-l', selector] : [])]);
  return list?.items ?? [];
}

/** Host pods of the given virtual namespace (by the vcluster.loft.sh/namespace label). */
export async function hostPodsOf(hostKubeconfig: string, vNamespace: string, hostNamespace = LOCAL_HOST_NAMESPACE): Promise<Pod[]> {
  return listPods(hostKubeconfig, hostNamespace, `vcluster.loft.sh/namespace=${vNamespace}`);
}

export function isReady(p: Pod): boolean {
  return p.status?.phase === 'Running' && (p.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}
