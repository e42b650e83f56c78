// Minimal wire types of core/v1 Pod for the pod translation: the fields vcnet reads or rewrites are
// spelled out (docs abridged from k8s.io/api/core/v1/types.go); everything else passes through
// untouched, which the index signatures allow. JSON as it comes off the wire, readonly, like types.ts.
import type { LabelSelector, ObjectMeta } from './types.ts';

/** Selects a field of the pod for the downward API, e.g. `metadata.labels['app']`. */
export interface ObjectFieldSelector {
  readonly apiVersion?: string;
  readonly fieldPath: string;
}

/** A key of a ConfigMap or Secret in the pod's namespace. */
export interface KeySelector {
  readonly name?: string;
  readonly key: string;
  readonly optional?: boolean;
}

export interface EnvVarSource {
  readonly fieldRef?: ObjectFieldSelector;
  readonly configMapKeyRef?: KeySelector;
  readonly secretKeyRef?: KeySelector;
  readonly [field: string]: unknown;
}

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: EnvVarSource;
}

/** A whole ConfigMap or Secret as environment variables. */
export interface EnvFromSource {
  readonly prefix?: string;
  readonly configMapRef?: { readonly name?: string; readonly optional?: boolean };
  readonly secretRef?: { readonly name?: string; readonly optional?: boolean };
}

export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly subPath?: string;
  readonly readOnly?: boolean;
  readonly [field: string]: unknown;
}

/** Quantities as strings, e.g. `{ cpu: '30m', memory: '64Mi' }`. */
export interface ResourceRequirements {
  readonly limits?: Readonly<Record<string, string>>;
  readonly requests?: Readonly<Record<string, string>>;
  readonly [field: string]: unknown;
}

export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly envFrom?: readonly EnvFromSource[];
  readonly volumeMounts?: readonly VolumeMount[];
  readonly resources?: ResourceRequirements;
  readonly securityContext?: Readonly<Record<string, unknown>>;
  readonly [field: string]: unknown;
}

/** A debugging container added through the `ephemeralcontainers` subresource (`kubectl debug`). */
export interface EphemeralContainer extends Container {
  readonly targetContainerName?: string;
}

export interface LocalObjectReference {
  readonly name?: string;
}

export interface KeyToPath {
  readonly key: string;
  readonly path: string;
  readonly mode?: number;
}

export interface DownwardAPIVolumeFile {
  readonly path: string;
  readonly fieldRef?: ObjectFieldSelector;
  readonly resourceFieldRef?: unknown;
  readonly mode?: number;
}

export interface ServiceAccountTokenProjection {
  /** Intended audience of the token; empty means the API server's own audiences. */
  readonly audience?: string;
  readonly expirationSeconds?: number;
  /** Path of the token file relative to the volume's mount point. */
  readonly path: string;
}

/** One source of a `projected` volume; exactly one field is set. */
export interface VolumeProjection {
  readonly secret?: { readonly name?: string; readonly items?: readonly KeyToPath[]; readonly optional?: boolean };
  readonly configMap?: { readonly name?: string; readonly items?: readonly KeyToPath[]; readonly optional?: boolean };
  readonly downwardAPI?: { readonly items?: readonly DownwardAPIVolumeFile[] };
  readonly serviceAccountToken?: ServiceAccountTokenProjection;
  readonly [field: string]: unknown;
}

/** A volume source that names a Secret of the pod's namespace in `secretRef` (iSCSI, RBD, Cinder, ...). */
export interface SecretRefSource {
  readonly secretRef?: LocalObjectReference;
  readonly [field: string]: unknown;
}

export interface Volume {
  readonly name: string;
  readonly configMap?: { readonly name?: string; readonly [field: string]: unknown };
  readonly secret?: { readonly secretName?: string; readonly [field: string]: unknown };
  readonly persistentVolumeClaim?: { readonly claimName: string; readonly readOnly?: boolean };
  /** A generic ephemeral volume: the ephemeral-volume controller creates the PVC `<pod>-<volume>`. */
  readonly ephemeral?: { readonly volumeClaimTemplate?: unknown };
  readonly projected?: { readonly sources?: readonly VolumeProjection[]; readonly defaultMode?: number };
  readonly downwardAPI?: { readonly items?: readonly DownwardAPIVolumeFile[]; readonly defaultMode?: number };
  readonly emptyDir?: { readonly medium?: string; readonly sizeLimit?: string };
  readonly iscsi?: SecretRefSource;
  readonly rbd?: SecretRefSource;
  readonly flexVolume?: SecretRefSource;
  readonly cinder?: SecretRefSource;
  readonly cephfs?: SecretRefSource;
  readonly scaleIO?: SecretRefSource;
  readonly storageos?: SecretRefSource;
  readonly azureFile?: { readonly secretName: string; readonly [field: string]: unknown };
  readonly csi?: { readonly nodePublishSecretRef?: LocalObjectReference; readonly [field: string]: unknown };
  /** `endpoints` names an Endpoints object of the pod's namespace. */
  readonly glusterfs?: { readonly endpoints: string; readonly [field: string]: unknown };
  readonly [field: string]: unknown;
}

export interface PodAffinityTerm {
  readonly labelSelector?: LabelSelector;
  readonly namespaces?: readonly string[];
  readonly namespaceSelector?: LabelSelector;
  readonly topologyKey: string;
  readonly matchLabelKeys?: readonly string[];
  readonly mismatchLabelKeys?: readonly string[];
}

export interface WeightedPodAffinityTerm {
  readonly weight: number;
  readonly podAffinityTerm: PodAffinityTerm;
}

export interface PodAffinity {
  readonly requiredDuringSchedulingIgnoredDuringExecution?: readonly PodAffinityTerm[];
  readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly WeightedPodAffinityTerm[];
}

export interface Affinity {
  readonly nodeAffinity?: unknown;
  readonly podAffinity?: PodAffinity;
  readonly podAntiAffinity?: PodAffinity;
}

export interface TopologySpreadConstraint {
  readonly maxSkew: number;
  readonly topologyKey: string;
  readonly whenUnsatisfiable: string;
  readonly labelSelector?: LabelSelector;
  readonly matchLabelKeys?: readonly string[];
  readonly [field: string]: unknown;
}

export type TaintEffect = 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';

export interface Toleration {
  /** Empty with operator Exists: tolerates every taint. */
  readonly key?: string;
  /** Equal (the default) or Exists. */
  readonly operator?: 'Equal' | 'Exists';
  readonly value?: string;
  /** Empty: every effect. */
  readonly effect?: TaintEffect | '';
  readonly tolerationSeconds?: number;
}

export interface PodDNSConfigOption {
  readonly name?: string;
  readonly value?: string;
}

export interface PodDNSConfig {
  readonly nameservers?: readonly string[];
  readonly searches?: readonly string[];
  readonly options?: readonly PodDNSConfigOption[];
}

export type DNSPolicy = 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';

export interface HostAlias {
  readonly ip: string;
  readonly hostnames?: readonly string[];
}

export interface PodResourceClaim {
  readonly name: string;
  readonly resourceClaimName?: string;
  readonly resourceClaimTemplateName?: string;
}

export interface PodSpec {
  readonly volumes?: readonly Volume[];
  readonly initContainers?: readonly Container[];
  readonly containers: readonly Container[];
  readonly ephemeralContainers?: readonly EphemeralContainer[];
  readonly dnsPolicy?: DNSPolicy;
  readonly dnsConfig?: PodDNSConfig;
  readonly hostNetwork?: boolean;
  readonly hostAliases?: readonly HostAlias[];
  readonly hostname?: string;
  readonly subdomain?: string;
  /** The kernel hostname becomes the FQDN (needs a subdomain to differ from hostname). */
  readonly setHostnameAsFQDN?: boolean;
  readonly serviceAccountName?: string;
  /** Deprecated alias of serviceAccountName. */
  readonly serviceAccount?: string;
  readonly automountServiceAccountToken?: boolean;
  /** Whether service-link environment variables are injected; Kubernetes defaults it to true. */
  readonly enableServiceLinks?: boolean;
  readonly nodeName?: string;
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly affinity?: Affinity;
  readonly tolerations?: readonly Toleration[];
  readonly topologySpreadConstraints?: readonly TopologySpreadConstraint[];
  readonly priorityClassName?: string;
  readonly priority?: number;
  readonly preemptionPolicy?: string;
  readonly runtimeClassName?: string;
  readonly imagePullSecrets?: readonly LocalObjectReference[];
  readonly resourceClaims?: readonly PodResourceClaim[];
  /** Pod-level resources (Kubernetes >= 1.34 hosts). */
  readonly resources?: ResourceRequirements;
  readonly readinessGates?: readonly { readonly conditionType: string }[];
  readonly [field: string]: unknown;
}

export interface PodCondition {
  readonly type: string;
  readonly status: string;
  readonly observedGeneration?: number;
  readonly lastProbeTime?: string | null;
  readonly lastTransitionTime?: string | null;
  readonly reason?: string;
  readonly message?: string;
}

export interface ContainerStatus {
  readonly name: string;
  readonly [field: string]: unknown;
}

export interface PodStatus {
  readonly phase?: string;
  readonly conditions?: readonly PodCondition[];
  readonly qosClass?: string;
  readonly observedGeneration?: number;
  readonly podIP?: string;
  readonly podIPs?: readonly { readonly ip: string }[];
  readonly hostIP?: string;
  readonly containerStatuses?: readonly ContainerStatus[];
  readonly initContainerStatuses?: readonly ContainerStatus[];
  readonly ephemeralContainerStatuses?: readonly ContainerStatus[];
  readonly [field: string]: unknown;
}

export interface Pod {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: ObjectMeta;
  readonly spec: PodSpec;
  readonly status?: PodStatus;
}

/** What the service-link environment variables need of a virtual Service in the pod's namespace. */
export interface ServiceLinkSource {
  readonly metadata: { readonly name?: string };
  readonly spec?: {
    /** `None` (headless) or empty (ExternalName) means no variables. */
    readonly clusterIP?: string;
    readonly ports?: readonly ServicePort[];
  };
}

export interface ServicePort {
  readonly name?: string;
  readonly port: number;
  /** TCP (the default), UDP or SCTP. */
  readonly protocol?: string;
}
