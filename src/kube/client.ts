// Typed API clients for one cluster, built once from its kubeconfig. vcnet talks to two clusters —
// the virtual one and the host — so the caller builds two sets and names them vClients/hClients.
import { existsSync } from 'node:fs';
import {
  AuthorizationV1Api, CoordinationV1Api, CoreV1Api, DiscoveryV1Api, KubeConfig, KubernetesObjectApi, NetworkingV1Api,
} from '@kubernetes/client-node';

export interface KubeClients {
  readonly kubeConfig: KubeConfig;
  /** The API server URL of the current context, for messages and logs. */
  readonly server: string;
  readonly core: CoreV1Api;
  readonly networking: NetworkingV1Api;
  readonly discovery: DiscoveryV1Api;
  readonly coordination: CoordinationV1Api;
  readonly authorization: AuthorizationV1Api;
  /** Any object by apiVersion/kind (server-side apply, CRDs). */
  readonly objects: KubernetesObjectApi;
}

export interface ClusterClients {
  readonly virtual: KubeClients;
  readonly host: KubeClients;
}

/** Reads a kubeconfig file, with errors that name the file and what is missing. */
export function loadKubeConfig(path: string): KubeConfig {
  if (!existsSync(path)) throw new Error(`kubeconfig ${path} does not exist`);
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (err) {
    throw new Error(`kubeconfig ${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  if (kc.getCurrentCluster() === null) {
    throw new Error(`kubeconfig ${path} has no cluster for its current context "${kc.getCurrentContext()}"`);
  }
  return kc;
}

/** The clients for one cluster, from a kubeconfig path or an already loaded KubeConfig. */
export function kubeClients(source: string | KubeConfig): KubeClients {
  const kc = typeof source === 'string' ? loadKubeConfig(source) : source;
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error(`the kubeconfig has no cluster for its current context "${kc.getCurrentContext()}"`);
  return Object.freeze({
    kubeConfig: kc,
    server: cluster.server,
    core: kc.makeApiClient(CoreV1Api),
    networking: kc.makeApiClient(NetworkingV1Api),
    discovery: kc.makeApiClient(DiscoveryV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
    authorization: kc.makeApiClient(AuthorizationV1Api),
    objects: KubernetesObjectApi.makeApiClient(kc),
  });
}

/** Both clusters' clients. */
export function clusterClients(kubeconfigs: { virtual: string | KubeConfig; host: string | KubeConfig }): ClusterClients {
  return Object.freeze({ virtual: kubeClients(kubeconfigs.virtual), host: kubeClients(kubeconfigs.host) });
}
