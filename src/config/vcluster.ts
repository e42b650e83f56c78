// vcluster.yaml fields that vcnet does not (yet) support. A field listed here is still refused like
// any unknown field; the list only lets the error tell a vCluster user "not supported" instead of
// "typo". The schema wins: once a field is added to schema.ts, its entry here is never consulted.
// Where vcnet supports part of a vCluster section (`sync`, `controlPlane.advanced`), the section is
// in the schema and each of its unsupported fields is listed here by its full path.
// Source: loft-sh/vcluster config/config.go (the Config, Sync*, Networking and ControlPlane* structs).

export const VCLUSTER_FIELDS: ReadonlySet<string> = new Set([
  // top level
  'global', 'exportKubeConfig', 'integrations', 'deploy', 'policies', 'privateNodes', 'rbac',
  'plugins', 'experimental', 'external', 'telemetry', 'pro', 'plugin', 'sleepMode', 'logging',
  // networking
  'networking.replicateServices', 'networking.advanced.proxyKubelets',
  // controlPlane
  'controlPlane.endpoint', 'controlPlane.distro', 'controlPlane.standalone', 'controlPlane.backingStore',
  'controlPlane.coredns', 'controlPlane.hostPathMapper', 'controlPlane.ingress', 'controlPlane.service',
  'controlPlane.statefulSet', 'controlPlane.serviceMonitor', 'controlPlane.tlsRoute',
  // controlPlane.advanced (ControlPlaneAdvanced, ControlPlaneWorkloadServiceAccount)
  'controlPlane.advanced.defaultImageRegistry', 'controlPlane.advanced.virtualScheduler',
  'controlPlane.advanced.serviceAccount', 'controlPlane.advanced.headlessService',
  'controlPlane.advanced.konnectivity', 'controlPlane.advanced.registry',
  'controlPlane.advanced.cloudControllerManager', 'controlPlane.advanced.globalMetadata',
  'controlPlane.advanced.kubeVip', 'controlPlane.advanced.podDisruptionBudget',
  'controlPlane.advanced.workloadServiceAccount.enabled',
  'controlPlane.advanced.workloadServiceAccount.imagePullSecrets',
  'controlPlane.advanced.workloadServiceAccount.annotations',
  'controlPlane.advanced.workloadServiceAccount.labels',
  // sync.toHost (SyncToHost, SyncPods)
  ...[
    'secrets', 'configMaps', 'ingresses', 'networkPolicies',
    'persistentVolumeClaims', 'persistentVolumes', 'volumeSnapshots', 'volumeSnapshotContents',
    'storageClasses', 'serviceAccounts', 'podDisruptionBudgets', 'priorityClasses', 'customResources',
    'namespaces', 'resourceClaims', 'resourceClaimTemplates', 'gatewayApi',
  ].map((f) => `sync.toHost.${f}`),
  'sync.toHost.pods.patches', 'sync.toHost.pods.hybridScheduling',
  // sync.fromHost (SyncFromHost, SyncNodes)
  ...[
    'events', 'ingressClasses', 'runtimeClasses', 'priorityClasses', 'storageClasses', 'csiNodes',
    'csiDrivers', 'csiStorageCapacities', 'customResources', 'volumeSnapshotClasses', 'configMaps',
    'secrets', 'deviceClasses', 'gatewayClasses', 'gateways',
  ].map((f) => `sync.fromHost.${f}`),
  'sync.fromHost.nodes.syncBackChanges', 'sync.fromHost.nodes.patches',
]);
