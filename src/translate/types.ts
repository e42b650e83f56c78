// Minimal wire types for the metadata the translators read and write: JSON as it comes off the wire
// (timestamps are RFC 3339 strings, not Date objects as in @kubernetes/client-node), readonly so a
// translator can never edit its input in place. Field docs are abridged from
// k8s.io/apimachinery/pkg/apis/meta/v1/types.go.

/** apiVersion and kind of an object, e.g. `{ apiVersion: 'v1', kind: 'Pod' }`. */
export interface TypeMeta {
  /** `group/version`, or just `version` for the core group ("v1"). */
  readonly apiVersion: string;
  readonly kind: string;
}

/** A reference from an object to its owner (metav1.OwnerReference). */
export interface OwnerReference {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  /** If true, this reference points to the managing controller. */
  readonly controller?: boolean;
  /** If true, the owner cannot be deleted from storage until this reference is removed. */
  readonly blockOwnerDeletion?: boolean;
}

/** One entry of metadata.managedFields (server-side apply bookkeeping); vcnet only ever drops these. */
export interface ManagedFieldsEntry {
  readonly manager?: string;
  readonly operation?: string;
  readonly apiVersion?: string;
  readonly time?: string;
  readonly fieldsType?: string;
  readonly fieldsV1?: unknown;
  readonly subresource?: string;
}

/** metav1.ObjectMeta as JSON. */
export interface ObjectMeta {
  readonly name?: string;
  /** Prefix the API server uses to generate a unique name when name is empty. */
  readonly generateName?: string;
  readonly namespace?: string;
  readonly selfLink?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly generation?: number;
  /** RFC 3339 timestamp string. */
  readonly creationTimestamp?: string;
  /** RFC 3339 timestamp string; set when graceful deletion was requested. */
  readonly deletionTimestamp?: string;
  readonly deletionGracePeriodSeconds?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly ownerReferences?: readonly OwnerReference[];
  readonly finalizers?: readonly string[];
  readonly managedFields?: readonly ManagedFieldsEntry[];
}

/** The operators a metav1.LabelSelectorRequirement may use. */
export type LabelSelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

/** One requirement of a label selector (metav1.LabelSelectorRequirement). */
export interface LabelSelectorRequirement {
  readonly key: string;
  readonly operator: LabelSelectorOperator;
  /** Non-empty for In and NotIn, empty for Exists and DoesNotExist. */
  readonly values?: readonly string[];
}

/**
 * metav1.LabelSelector: the requirements are ANDed. An empty selector matches everything; a
 * missing (undefined) selector matches nothing, which is why translators keep undefined as undefined.
 */
export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
  readonly matchExpressions?: readonly LabelSelectorRequirement[];
}

/** A name in a namespace; `namespace` is '' for cluster-scoped objects. */
export interface NamespacedName {
  readonly name: string;
  readonly namespace: string;
}
