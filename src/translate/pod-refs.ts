// The objects a virtual pod refers to by name (Secrets, ConfigMaps, PVCs, ...). The translation
// rewrites each name to its host name and records the pair, so the caller can sync exactly the
// referenced objects to the host before the pod (vCluster syncs only referenced Secrets and
// ConfigMaps unless `sync.toHost.secrets.all` / `configMaps.all` is set, §2.1, §8).
import type { Translator } from './names.ts';
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
