// vcluster.yaml fields that vcnet does not (yet) support. A field listed here is still refused like
// any unknown field; the list only lets the error tell a vCluster user "not supported" instead of
// "typo". The schema wins: once a field is added to schema.ts, its entry here is never consulted.
// Source: loft-sh/vcluster config/config.go (the Config, Networking and ControlPlane structs).

export const VCLUSTER_FIELDS: ReadonlySet<string> = new Set([
  // top level
  'global', 'exportKubeConfig', 'sync', 'integrations', 'deploy', 'policies', 'privateNodes', 'rbac',
  'plugins', 'experimental', 'external', 'telemetry', 'pro', 'plugin', 'sleepMode', 'logging',
  // networking
  'networking.replicateServices', 'networking.resolveDNS',
  'networking.advanced.fallbackHostCluster', 'networking.advanced.proxyKubelets',
  // controlPlane
  'controlPlane.endpoint', 'controlPlane.distro', 'controlPlane.standalone', 'controlPlane.backingStore',
  'controlPlane.coredns', 'controlPlane.hostPathMapper', 'controlPlane.ingress', 'controlPlane.service',
  'controlPlane.statefulSet', 'controlPlane.serviceMonitor', 'controlPlane.advanced', 'controlPlane.tlsRoute',
]);
