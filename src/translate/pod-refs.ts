// The objects a virtual pod refers to by name (Secrets, ConfigMaps, PVCs, ...). The translation
// rewrites each name to its host name and records the pair, so the caller can sync exactly the
// referenced objects to the host before the pod (vCluster syncs only referenced Secrets and
// ConfigMaps unless `sync.toHost.secrets.all` / `configMaps.all` is set, §2.1, §8).
import type { Translator } from './names.ts';
import type { Container, Pod } from './pod-types.ts';
import type { NamespacedName } from './types.ts';

export type PodReferenceKind =
  | 'ConfigMap' | 'Secret' | 'PersistentVolumeClaim' | 'Endpoints' | 'ResourceClaim' | 'ResourceClaimTemplate';

export interface PodReference {
  readonly kind: PodReferenceKind;
  readonly virtual: NamespacedName;
  readonly host: NamespacedName;
}

/** Collects references in first-seen order, once per kind and name. */
export class PodReferences {
  readonly #tr: Translator;
  readonly #vNamespace: string;
  readonly #seen = new Map<string, PodReference>();

  constructor(tr: Translator, vNamespace: string) {
    this.#tr = tr;
    this.#vNamespace = vNamespace;
  }

  /** Records a reference and returns the host name to write in its place ('' stays ''). */
  add(kind: PodReferenceKind, vName: string): string {
    if (vName === '') return '';
    const hName = this.#tr.hostName(vName, this.#vNamespace);
    const key = `${kind}/${vName}`;
    if (!this.#seen.has(key)) {
      this.#seen.set(key, {
        kind,
        virtual: { name: vName, namespace: this.#vNamespace },
        host: { name: hName, namespace: this.#tr.hostNamespace },
      });
    }
    return hName;
  }

  list(): PodReference[] {
    return [...this.#seen.values()];
  }
}

/** The ConfigMaps and Secrets of the host namespace a HOST pod uses, by host name. */
export interface HostPodReferences {
  readonly configMaps: ReadonlySet<string>;
  readonly secrets: ReadonlySet<string>;
}

/**
 * What a host pod refers to, read from its spec: volumes (configMap, secret, projected, and the
 * secretRef of the volume plugins), env valueFrom, envFrom and imagePullSecrets of every container
 * kind. The sync engine uses it to tell which host ConfigMaps and Secrets are still needed, so it can
 * remove the ones nothing refers to any more (vCluster syncs only referenced ones, §2.1).
 */
export function hostPodReferences(hPod: Pick<Pod, 'spec'>): HostPodReferences {
  const configMaps = new Set<string>();
  const secrets = new Set<string>();
  const add = (set: Set<string>, name: string | undefined): void => { if (name) set.add(name); };
  const spec = hPod.spec;
  for (const v of spec.volumes ?? []) {
    add(configMaps, v.configMap?.name);
    add(secrets, v.secret?.secretName);
    for (const s of v.projected?.sources ?? []) {
      add(configMaps, s.configMap?.name);
      add(secrets, s.secret?.name);
    }
    for (const plugin of [v.iscsi, v.rbd, v.flexVolume, v.cinder, v.cephfs, v.scaleIO, v.storageos]) add(secrets, plugin?.secretRef?.name);
    add(secrets, v.azureFile?.secretName);
    add(secrets, v.csi?.nodePublishSecretRef?.name);
  }
  for (const s of spec.imagePullSecrets ?? []) add(secrets, s.name);
  const containers: readonly Container[] = [...spec.containers ?? [], ...spec.initContainers ?? [], ...spec.ephemeralContainers ?? []];
  for (const c of containers) {
    for (const e of c.env ?? []) {
      add(configMaps, e.valueFrom?.configMapKeyRef?.name);
      add(secrets, e.valueFrom?.secretKeyRef?.name);
    }
    for (const e of c.envFrom ?? []) {
      add(configMaps, e.configMapRef?.name);
      add(secrets, e.secretRef?.name);
    }
  }
  return { configMaps, secrets };
}
