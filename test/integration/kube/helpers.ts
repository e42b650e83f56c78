// Helpers for the kube/ integration tests: a TCP proxy that can cut connections, an event recorder,
// and polling. The API servers are real; only the wire between them and the reflector is ours.
import net from 'node:net';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../../src/kube/client.ts';
import type { Reflector } from '../../../src/kube/watch.ts';
import type { ApiStatus } from '../../../src/kube/errors.ts';

export interface CutProxy {
  /** A kubeconfig like the original one, whose server is this proxy. */
  kubeConfig: KubeConfig;
  /** Connections currently open from the client side. */
  openConnections(): number;
  /** Destroys every open connection and refuses new ones until restore(). */
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** A plain TCP relay on 127.0.0.1 in front of the API server of `kubeconfigPath` (TLS passes through). */
export async function startCutProxy(kubeconfigPath: string): Promise<CutProxy> {
  const kc = loadKubeConfig(kubeconfigPath);
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error(`${kubeconfigPath} has no current cluster`);
  const upstream = new URL(cluster.server);
  const pairs = new Set<{ client: net.Socket; server: net.Socket }>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) { client.destroy(); return; }
    const upstreamSocket = net.connect(Number(upstream.port), upstream.hostname);
    const pair = { client, server: upstreamSocket };
    pairs.add(pair);
    const end = (): void => { client.destroy(); upstreamSocket.destroy(); pairs.delete(pair); };
    client.on('error', end).on('close', end);
    upstreamSocket.on('error', end).on('close', end);
    client.pipe(upstreamSocket).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const proxied = loadKubeConfig(kubeconfigPath);
  const proxiedCluster = proxied.getCurrentCluster();
  // The API server's certificate names 127.0.0.1, which the proxy also listens on.
  (proxiedCluster as { server: string }).server = `${upstream.protocol}//127.0.0.1:${port}`;
  return {
    kubeConfig: proxied,
    openConnections: () => pairs.size,
    cut: () => { refusing = true; for (const p of pairs) { p.client.destroy(); p.server.destroy(); } pairs.clear(); },
    restore: () => { refusing = false; },
    close: () => new Promise<void>((resolve) => {
      for (const p of pairs) { p.client.destroy(); p.server.destroy(); }
      server.close(() => resolve());
    }),
  };
}

export interface Recorded {
  type: 'add' | 'update' | 'delete';
  name: string;
  resourceVersion: string;
  oldResourceVersion: string | undefined;
  data: Record<string, string> | undefined;
}

/** Records a reflector's events in order. */
export function record<T extends KubernetesObject & { data?: Record<string, string> }>(r: Reflector<T>): { events: Recorded[]; errors: ApiStatus[]; lists: string[] } {
  const out = { events: [] as Recorded[], errors: [] as ApiStatus[], lists: [] as string[] };
  const push = (type: Recorded['type'], obj: T, old: T | undefined): void => {
    out.events.push({
      type, name: obj.metadata?.name ?? '', resourceVersion: obj.metadata?.resourceVersion ?? '',
      oldResourceVersion: old?.metadata?.resourceVersion, data: obj.data,
    });
  };
  r.on('add', (obj) => push('add', obj, undefined));
  r.on('update', (obj, old) => push('update', obj, old));
  r.on('delete', (obj, old) => push('delete', obj, old));
  r.on('error', (status) => out.errors.push(status));
  r.on('listed', (rv) => out.lists.push(rv));
  return out;
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `key -> resourceVersion` of a reflector's store, keys sorted, to compare with a fresh LIST. */
export function storeState(r: Reflector<KubernetesObject>): Record<string, string> {
  return sortedState([...r.store].map(([k, v]) => [k, v.metadata?.resourceVersion ?? '']));
}

/** `key -> resourceVersion` of LISTed items, keys sorted. */
export function listState(items: readonly KubernetesObject[]): Record<string, string> {
  return sortedState(items.map((o) => [`${o.metadata?.namespace}/${o.metadata?.name}`, o.metadata?.resourceVersion ?? '']));
}

function sortedState(entries: Array<[string, string]>): Record<string, string> {
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}

export const sameState = (a: Record<string, string>, b: Record<string, string>): boolean => JSON.stringify(a) === JSON.stringify(b);
