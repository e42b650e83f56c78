// Every label and annotation key vcnet reads or writes, in one place. The `vcluster.loft.sh/*` keys
// are vCluster's own (pkg/util/translate/types.go, pkg/controllers/resources/pods/translate), kept
// byte for byte so host-side tooling written for vCluster keeps working and a vCluster user can switch.
// Section numbers refer to /work/shared/reference/vcluster-networking.md.

// ---- Labels on host objects (§1.2) ----

/** Marker label: the vCluster name on namespaced host objects, SafeConcat(HNS, "x", VC) on cluster-scoped ones. */
export const MANAGED_BY = 'vcluster.loft.sh/managed-by';
/** The virtual namespace of a namespaced host object. Also the pod annotation POD_NAMESPACE (same key). */
export const NAMESPACE_LABEL = 'vcluster.loft.sh/namespace';
/** Kept when already present on the host; objects carrying it are left alone by the generic syncers. */
export const CONTROLLED_BY = 'vcluster.loft.sh/controlled-by';
/** The CONTROLLED_BY value on objects made by service replication (§6). */
export const CONTROLLED_BY_REPLICATION = 'vcluster';
/** Set by the vCluster Helm chart on its own pods and Service, hence never copied raw from a tenant. */
export const RELEASE_LABEL = 'release';

/**
 * The four virtual label keys that are hashed on the host (since vCluster v0.21) so a tenant cannot
 * impersonate the control plane (`release=<VC>`) or spoof the marker labels.
 */
export const TRANSLATED_LABEL_KEYS: readonly string[] = Object.freeze([RELEASE_LABEL, NAMESPACE_LABEL, MANAGED_BY, CONTROLLED_BY]);
/** Prefix of hashed label keys: SafeConcat(LABEL_PREFIX, VC, "x", sha256hex(key)[0:10]). */
export const LABEL_PREFIX = 'vcluster.loft.sh/label';
/** Prefix of the virtual-namespace labels copied onto host pods: SafeConcat(NS_LABEL_PREFIX, VC, "x", sha256hex(key)[0:10]). */
export const NS_LABEL_PREFIX = 'vcluster.loft.sh/ns-label';

/** Labels on the per-node kubelet Services (`networking.advanced.proxyKubelets.byIP`, §8). */
export const BELONGS_TO = 'vcluster.loft.sh/belongs-to';
export const NODE_LABEL = 'vcluster.loft.sh/node';

// ---- Annotations on every synced host object (§1.3) ----

export const OBJECT_NAME = 'vcluster.loft.sh/object-name';
/** Absent on cluster-scoped objects. */
export const OBJECT_NAMESPACE = 'vcluster.loft.sh/object-namespace';
export const OBJECT_UID = 'vcluster.loft.sh/object-uid';
/** Go GVK string of the virtual object, e.g. `/v1, Kind=Pod` (see gvkString in meta.ts). */
export const OBJECT_KIND = 'vcluster.loft.sh/object-kind';
/** The host object's own name and namespace: a copy that betrays a rename or a move. */
export const OBJECT_HOST_NAME = 'vcluster.loft.sh/object-host-name';
export const OBJECT_HOST_NAMESPACE = 'vcluster.loft.sh/object-host-namespace';
/** Newline-separated, sorted keys of the annotations copied from the virtual object. */
export const MANAGED_ANNOTATIONS = 'vcluster.loft.sh/managed-annotations';
/** The same for labels, where used. */
export const MANAGED_LABELS = 'vcluster.loft.sh/managed-labels';

/**
 * The annotations vcnet owns on every synced host object. A virtual object can never set them on the
 * host (they are recomputed), and they are never copied back to the virtual side.
 */
export const OBJECT_ANNOTATIONS: readonly string[] = Object.freeze([
  OBJECT_NAME, OBJECT_NAMESPACE, OBJECT_UID, OBJECT_KIND, OBJECT_HOST_NAME, OBJECT_HOST_NAMESPACE,
  MANAGED_ANNOTATIONS, MANAGED_LABELS,
]);

// ---- Other annotations vCluster honours or writes (§1.3, §3, §8) ----

/** `"true"` on a virtual Secret or ConfigMap syncs it even when nothing references it. */
export const FORCE_SYNC = 'vcluster.loft.sh/force-sync';
/** `"true"` on host Services created host-first; protects them for a short grace while the virtual write lands. */
export const BLOCK_DELETION = 'vcluster.loft.sh/block-deletion';
/** Cache of the detected host service CIDR, on the vCluster's own host Service. */
export const SERVICE_CIDR = 'vcluster.loft.sh/service-cidr';
/** Marks objects imported by vCluster Pro's importer. */
export const OBJECT_IMPORTED = 'vcluster.loft.sh/object-imported';

// ---- Pod annotations (§2.1, §2.2) ----

/** Virtual pod name, namespace, UID and service account: targets of the downward API rewrite. */
export const POD_NAME = 'vcluster.loft.sh/name';
/** Same key as NAMESPACE_LABEL, used here as an annotation. */
export const POD_NAMESPACE = 'vcluster.loft.sh/namespace';
export const POD_UID = 'vcluster.loft.sh/uid';
export const POD_SERVICE_ACCOUNT_NAME = 'vcluster.loft.sh/service-account-name';
/** The virtual labels as sorted lines `key="json-escaped value"` (labelsAnnotationValue in labels.ts). */
export const POD_LABELS = 'vcluster.loft.sh/labels';
/** The virtual ownerReferences as JSON. */
export const POD_OWNER_REFERENCES = 'vcluster.loft.sh/owner-references';
/** DaemonSet, Job, ReplicaSet or StatefulSet when the virtual owner is an apps/v1 kind. */
export const POD_OWNER_SET_KIND = 'vcluster.loft.sh/owner-set-kind';
/** Prefix of the annotations holding projected service-account tokens: `vcluster.loft.sh/token-<8 chars>`. */
export const POD_TOKEN_PREFIX = 'vcluster.loft.sh/token-';
/** `"true"` once the /etc/hosts rewrite init container was injected. */
export const HOSTS_REWRITTEN = 'vcluster.loft.sh/hosts-rewritten';
/** `"true"` opts a pod out of the /etc/hosts rewrite. */
export const DISABLE_SUBDOMAIN_REWRITE = 'vcluster.loft.sh/disable-subdomain-rewrite';
/** Cluster autoscaler hints derived from the virtual owner. */
export const SAFE_TO_EVICT = 'cluster-autoscaler.kubernetes.io/safe-to-evict';
export const DAEMONSET_POD = 'cluster-autoscaler.kubernetes.io/daemonset-pod';

// ---- Ingress annotations whose values name Secrets (§5) ----

export const NGINX_AUTH_SECRET = 'nginx.ingress.kubernetes.io/auth-secret';
export const NGINX_AUTH_TLS_SECRET = 'nginx.ingress.kubernetes.io/auth-tls-secret';
export const NGINX_PROXY_SSL_SECRET = 'nginx.ingress.kubernetes.io/proxy-ssl-secret';
/** Keys `alb.ingress.kubernetes.io/actions.<service>` and `.../conditions.<service>` name a Service in their suffix. */
export const ALB_ACTIONS_PREFIX = 'alb.ingress.kubernetes.io/actions.';
export const ALB_CONDITIONS_PREFIX = 'alb.ingress.kubernetes.io/conditions.';

// ---- Kubernetes and third-party keys the translation treats specially ----

/** Set by the API server on every Namespace; its ns-label key lets selectors match a namespace by name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
/** Ties an EndpointSlice to its Service (§4). */
export const ENDPOINTSLICE_SERVICE_NAME = 'kubernetes.io/service-name';
/** `"true"` stops the host's EndpointSlice mirroring controller from mirroring an Endpoints object. */
export const ENDPOINTSLICE_SKIP_MIRROR = 'endpointslice.kubernetes.io/skip-mirror';
/** Leader-election record on Endpoints; never synced (§4). */
export const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';
/** Written by Rancher on both sides; never synced, to avoid ping-pong (§3, §5). */
export const RANCHER_PUBLIC_ENDPOINTS = 'field.cattle.io/publicEndpoints';
/**
 * Which controller maintains an EndpointSlice. Each Kubernetes controller only touches slices that
 * carry its own value, and kube-proxy reads every slice of a Service whatever the value (§4).
 */
export const ENDPOINTSLICE_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
/** ENDPOINTSLICE_MANAGED_BY value on the EndpointSlices vcnet writes (host copies, virtual default/kubernetes). */
export const ENDPOINTSLICE_MANAGER_VCNET = 'vcnet.dev';

// ---- vcnet's own objects ----

/**
 * Kubernetes' recommended label for the tool that manages an object, on what vcnet makes for
 * itself: its webhook configurations, the virtual ServiceCIDRs that cover host ranges
 * (service-cidr.ts), the objects `vcnet up` prepares on the host. Not vCluster's MANAGED_BY marker,
 * which names a vCluster on synced host objects.
 */
export const APP_MANAGED_BY = 'app.kubernetes.io/managed-by';
/** The APP_MANAGED_BY value on vcnet's own objects. */
export const APP_MANAGED_BY_VALUE = 'vcnet';
