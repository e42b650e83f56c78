// Container environment, virtual -> host (§2.1 references and downward API, §2.2 environment
// variables of /work/shared/reference/vcluster-networking.md). The host pod runs with
// enableServiceLinks=false, because the host kubelet would otherwise inject the HOST namespace's
// services; vcnet computes the virtual ones itself and writes them into each container's env.
import { POD_LABELS, POD_NAME, POD_NAMESPACE, POD_SERVICE_ACCOUNT_NAME, POD_UID } from './keys.ts';
import { compareBytes, hostLabelKey } from './labels.ts';
import type { Translator } from './names.ts';
import type { PodReferences } from './pod-refs.ts';
import type { Container, EnvFromSource, EnvVar, ObjectFieldSelector, ServiceLinkSource, ServicePort } from './pod-types.ts';

/** The port vCluster and Kubernetes give the `kubernetes` Service; KUBERNETES_* always name it. */
const KUBERNETES_PORT = 443;

const annotationPath = (key: string): string => `metadata.annotations['${key}']`;

/**
 * Downward API fields whose host value would be the host pod's, not the virtual pod's: they are read
 * from the annotations podToHost writes instead. status.podIP, status.hostIP and spec.nodeName stay,
 * because the host values are the real ones.
 */
const FIELD_PATHS: ReadonlyMap<string, string> = new Map([
  ['metadata.name', annotationPath(POD_NAME)],
  ['metadata.namespace', annotationPath(POD_NAMESPACE)],
  ['metadata.uid', annotationPath(POD_UID)],
  ['spec.serviceAccountName', annotationPath(POD_SERVICE_ACCOUNT_NAME)],
  ['metadata.labels', annotationPath(POD_LABELS)],
]);

const LABEL_PATH = /^metadata\.labels\['(.+)'\]$/;

/** Host fieldPath of a virtual downward API fieldPath (the §2.1 rewrite table). */
export function toHostFieldPath(tr: Translator, fieldPath: string): string {
  const label = LABEL_PATH.exec(fieldPath);
  if (label !== null) return `metadata.labels['${hostLabelKey(tr, label[1] as string)}']`;
  return FIELD_PATHS.get(fieldPath) ?? fieldPath;
}

export function toHostFieldRef(tr: Translator, ref: ObjectFieldSelector): ObjectFieldSelector {
  return { ...ref, fieldPath: toHostFieldPath(tr, ref.fieldPath) };
}

/** `host:port`, with the brackets an IPv6 address needs in a URL (Go's net.JoinHostPort). */
function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Kubernetes' env name of a Service or port name: upper case, `-` -> `_`. */
function envName(s: string): string {
  return s.toUpperCase().replaceAll('-', '_');
}

/**
 * The Docker-link variables the kubelet derives from one Service (kubelet's envvars.FromServices):
 * `<SVC>_SERVICE_HOST`, `<SVC>_SERVICE_PORT` (first port), `<SVC>_SERVICE_PORT_<NAME>` (named ports),
 * `<SVC>_PORT` (first port as a URL) and, per port, `<SVC>_PORT_<port>_<PROTO>` with its `_PROTO`,
 * `_PORT` and `_ADDR` variants.
 */
function serviceVariables(name: string, ip: string, ports: readonly ServicePort[]): Array<[string, string]> {
  const prefix = envName(name);
  const first = ports[0];
  if (first === undefined) return [];
  const out: Array<[string, string]> = [
    [`${prefix}_SERVICE_HOST`, ip],
    [`${prefix}_SERVICE_PORT`, String(first.port)],
  ];
  for (const p of ports) {
    if (p.name) out.push([`${prefix}_SERVICE_PORT_${envName(p.name)}`, String(p.port)]);
  }
  ports.forEach((p, i) => {
    const proto = p.protocol || 'TCP';
    const url = `${proto.toLowerCase()}://${joinHostPort(ip, p.port)}`;
    if (i === 0) out.push([`${prefix}_PORT`, url]);
    const portPrefix = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
    out.push(
      [portPrefix, url],
      [`${portPrefix}_PROTO`, proto.toLowerCase()],
      [`${portPrefix}_PORT`, String(p.port)],
      [`${portPrefix}_ADDR`, ip],
    );
  });
  return out;
}

/**
 * The variables every virtual container gets, by name: service links for each virtual Service of
 * the pod's namespace that has a ClusterIP when `enableServiceLinks` (Kubernetes' default: true),
 * then the eight KUBERNETES_* variables for the vCluster's API Service at `kubeIP`, always, winning
 * over a same-named service link (as the kubelet's master-service variables do).
 */
export function serviceLinkEnv(
  services: readonly ServiceLinkSource[],
  enableServiceLinks: boolean | undefined,
  kubeIP: string,
): ReadonlyMap<string, string> {
  const env = new Map<string, string>();
  if (enableServiceLinks ?? true) {
    // Sorted by name so the result never depends on the order the caller listed the services in.
    const sorted = [...services].sort((a, b) => compareBytes(a.metadata.name ?? '', b.metadata.name ?? ''));
    for (const svc of sorted) {
      const ip = svc.spec?.clusterIP ?? '';
      if (ip === '' || ip === 'None' || !svc.metadata.name) continue;
      for (const [k, v] of serviceVariables(svc.metadata.name, ip, svc.spec?.ports ?? [])) env.set(k, v);
    }
  }
  const url = `tcp://${joinHostPort(kubeIP, KUBERNETES_PORT)}`;
  const port = String(KUBERNETES_PORT);
  env.set('KUBERNETES_SERVICE_HOST', kubeIP);
  env.set('KUBERNETES_SERVICE_PORT', port);
  env.set('KUBERNETES_SERVICE_PORT_HTTPS', port);
  env.set('KUBERNETES_PORT', url);
  env.set(`KUBERNETES_PORT_${port}_TCP`, url);
  env.set(`KUBERNETES_PORT_${port}_TCP_ADDR`, kubeIP);
  env.set(`KUBERNETES_PORT_${port}_TCP_PORT`, port);
  env.set(`KUBERNETES_PORT_${port}_TCP_PROTO`, 'tcp');
  return env;
}

function toHostEnvVar(tr: Translator, refs: PodReferences, e: EnvVar): EnvVar {
  const from = e.valueFrom;
  if (from === undefined) return e;
  const hFrom = { ...from };
  if (from.fieldRef !== undefined) hFrom.fieldRef = toHostFieldRef(tr, from.fieldRef);
  if (from.configMapKeyRef?.name) hFrom.configMapKeyRef = { ...from.configMapKeyRef, name: refs.add('ConfigMap', from.configMapKeyRef.name) };
  if (from.secretKeyRef?.name) hFrom.secretKeyRef = { ...from.secretKeyRef, name: refs.add('Secret', from.secretKeyRef.name) };
  return { ...e, valueFrom: hFrom };
}

function toHostEnvFrom(refs: PodReferences, e: EnvFromSource): EnvFromSource {
  const out = { ...e };
  if (e.configMapRef?.name) out.configMapRef = { ...e.configMapRef, name: refs.add('ConfigMap', e.configMapRef.name) };
  if (e.secretRef?.name) out.secretRef = { ...e.secretRef, name: refs.add('Secret', e.secretRef.name) };
  return out;
}

/**
 * A container's env and envFrom on the host: ConfigMap and Secret names translated (and recorded in
 * `refs`), downward API paths rewritten, and the generated variables the container does not define
 * itself prepended in name order, so the container's own variables can use them as `$(VAR)`.
 */
export function toHostContainerEnv<C extends Container>(
  tr: Translator,
  refs: PodReferences,
  vContainer: C,
  generated: ReadonlyMap<string, string>,
): C {
  const own = vContainer.env ?? [];
  const defined = new Set(own.map((e) => e.name));
  const extra: EnvVar[] = [...generated]
    .filter(([name]) => !defined.has(name))
    .sort(([a], [b]) => compareBytes(a, b))
    .map(([name, value]) => ({ name, value }));
  const hContainer: C = { ...vContainer, env: [...extra, ...own.map((e) => toHostEnvVar(tr, refs, e))] };
  if (vContainer.envFrom !== undefined) {
    return { ...hContainer, envFrom: vContainer.envFrom.map((e) => toHostEnvFrom(refs, e)) };
  }
  return hContainer;
}
