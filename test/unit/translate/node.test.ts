import t, { type Test } from 'tap';
import {
  hostNodeToVirtual, hostPodKeepsNode, isMirroredNode, jsonEqual, markerValue, MIRRORED_BY, nodeNeedsUpdate, nodeSelected,
  virtualPodKeepsNode, type NodeCondition, type NodeSpec, type VirtualNode, type WireNode,
} from '../../../src/translate/node.ts';

const VC = 'my-vcluster';
const opts = { vcluster: VC, clearImageStatus: false };
const T0 = '2025-01-01T00:00:00Z';
const at = (seconds: number): string => new Date(Date.parse(T0) + seconds * 1000).toISOString().replace('.000Z', 'Z');

function conditions(heartbeat: string, ready = 'True'): NodeCondition[] {
  return [
    { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: heartbeat, lastTransitionTime: T0, reason: 'KubeletHasSufficientMemory' },
    { type: 'Ready', status: ready, lastHeartbeatTime: heartbeat, lastTransitionTime: T0, reason: 'KubeletReady', message: 'kubelet is posting ready status' },
  ];
}

/** A host node as the host API server returns it. */
function hostNode(over: { labels?: Record<string, string>; annotations?: Record<string, string>; spec?: NodeSpec; status?: object } = {}): WireNode {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      name: 'node-a', uid: 'host-uid', resourceVersion: '42', creationTimestamp: T0,
      labels: over.labels ?? { 'kubernetes.io/hostname': 'node-a', 'node-role.kubernetes.io/agent': '' },
      annotations: over.annotations ?? { 'node.alpha.kubernetes.io/ttl': '0' },
      ownerReferences: [{ apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Machine', name: 'm', uid: 'machine-uid' }],
      finalizers: ['example.com/protect'],
      managedFields: [{ manager: 'kubelet', operation: 'Update' }],
    },
    spec: over.spec ?? { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'], providerID: 'kwok://node-a', taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] },
    status: {
      capacity: { cpu: '32', memory: '256Gi', pods: '110' },
      allocatable: { cpu: '32', memory: '256Gi', pods: '110' },
      conditions: conditions(T0),
      addresses: [{ type: 'InternalIP', address: '10.0.0.5' }, { type: 'Hostname', address: 'node-a' }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: { kubeletVersion: 'v1.34.4', osImage: 'kwok', architecture: 'amd64' },
      images: [{ names: ['registry.k8s.io/pause:3.10'], sizeBytes: 1 }],
      volumesInUse: ['kubernetes.io/csi/x^vol-1'],
      volumesAttached: [{ name: 'kubernetes.io/csi/x^vol-1', devicePath: '' }],
      ...over.status,
    },
  };
}

/** A virtual node as the virtual API server returns it after vcnet wrote `desired`. */
function stored(desired: VirtualNode, over: { labels?: Record<string, string>; spec?: NodeSpec; status?: object } = {}): WireNode {
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: {
      ...desired.metadata, uid: 'virtual-uid', resourceVersion: '7', creationTimestamp: at(5),
      managedFields: [{ manager: 'vcnet', operation: 'Update' }],
      labels: over.labels ?? desired.metadata.labels,
    },
    spec: over.spec ?? desired.spec,
    status: { ...desired.status, ...over.status },
  };
}

t.test('hostNodeToVirtual', async (t) => {
  const cases: Array<{ name: string; host: WireNode; opts?: typeof opts; check: (t: Test, v: VirtualNode) => void }> = [
    {
      name: 'keeps the name and copies the labels, adding the marker',
      host: hostNode(),
      check: (t, v) => {
        t.equal(v.metadata.name, 'node-a');
        t.same(v.metadata.labels, { 'kubernetes.io/hostname': 'node-a', 'node-role.kubernetes.io/agent': '', [MIRRORED_BY]: VC });
      },
    },
    {
      name: 'never copies uid, resourceVersion, owners, finalizers or managedFields',
      host: hostNode(),
      check: (t, v) => t.same(Object.keys(v.metadata).sort(), ['annotations', 'labels', 'name']),
    },
    {
      name: 'copies annotations but not the host kubectl last-applied record',
      host: hostNode({ annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }),
      check: (t, v) => t.same(v.metadata.annotations, { 'node.alpha.kubernetes.io/ttl': '0' }),
    },
    {
      name: 'omits annotations when the host node has none',
      host: hostNode({ annotations: {} }),
      check: (t, v) => t.equal(v.metadata.annotations, undefined),
    },
    {
      name: 'replaces a marker label the host node carries with its own',
      host: hostNode({ labels: { [MIRRORED_BY]: 'someone-else', a: 'b' } }),
      check: (t, v) => t.same(v.metadata.labels, { a: 'b', [MIRRORED_BY]: VC }),
    },
    {
      name: 'copies taints, pod CIDRs and provider ID',
      host: hostNode(),
      check: (t, v) => t.same(v.spec, { podCIDR: '10.244.1.0/24', podCIDRs: ['10.244.1.0/24'], providerID: 'kwok://node-a', taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }),
    },
    {
      name: 'copies unschedulable and drops the deprecated configSource and externalID',
      host: hostNode({ spec: { unschedulable: true, externalID: 'x', configSource: { configMap: {} } } }),
      check: (t, v) => t.same(v.spec, { unschedulable: true }),
    },
    {
      name: 'copies the status: conditions, addresses, capacity, allocatable, nodeInfo, daemon endpoints, images',
      host: hostNode(),
      check: (t, v) => {
        t.same(Object.keys(v.status).sort(), ['addresses', 'allocatable', 'capacity', 'conditions', 'daemonEndpoints', 'images', 'nodeInfo']);
        t.same(v.status.conditions, conditions(T0));
        t.same(v.status.daemonEndpoints, { kubeletEndpoint: { Port: 10250 } });
      },
    },
    {
      name: 'drops the host volumes (volumesInUse, volumesAttached)',
      host: hostNode(),
      check: (t, v) => { t.notOk('volumesInUse' in v.status); t.notOk('volumesAttached' in v.status); },
    },
    {
      name: 'clears status.images with clearImageStatus',
      host: hostNode(),
      opts: { vcluster: VC, clearImageStatus: true },
      check: (t, v) => { t.notOk('images' in v.status); t.ok(v.status.nodeInfo, 'the rest stays'); },
    },
    {
      name: 'hashes a vCluster name too long for a label value',
      host: hostNode(),
      opts: { vcluster: 'v'.repeat(70), clearImageStatus: false },
      check: (t, v) => {
        const value = v.metadata.labels[MIRRORED_BY] ?? '';
        t.equal(value.length, 63);
        t.equal(value, markerValue('v'.repeat(70)));
      },
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => c.check(t, hostNodeToVirtual(c.host, c.opts ?? opts)));
  }

  t.test('does not modify the host node', async (t) => {
    const h = hostNode();
    const before = JSON.stringify(h);
    hostNodeToVirtual(h, { vcluster: VC, clearImageStatus: true });
    t.equal(JSON.stringify(h), before);
  });

  t.test('errors when the host node has no name', async (t) => {
    t.throws(() => hostNodeToVirtual({ metadata: {} }, opts), /no metadata\.name/);
  });
});

t.test('nodeNeedsUpdate', async (t) => {
  const min = { heartbeatMinIntervalMs: 60_000 };
  const desired = hostNodeToVirtual(hostNode(), opts);
  const cases: Array<{ name: string; desired: VirtualNode; current: WireNode; expected: { meta: boolean; status: boolean } }> = [
    { name: 'nothing when the virtual node is what vcnet wrote', desired, current: stored(desired), expected: { meta: false, status: false } },
    {
      name: 'ignores server-set metadata (uid, resourceVersion, managedFields, creationTimestamp)',
      desired,
      current: { ...stored(desired), metadata: { ...stored(desired).metadata, uid: 'other', resourceVersion: '99', generation: 3 } },
      expected: { meta: false, status: false },
    },
    {
      name: 'meta when a host label changed',
      desired: hostNodeToVirtual(hostNode({ labels: { 'kubernetes.io/hostname': 'node-a', zone: 'b' } }), opts),
      current: stored(desired),
      expected: { meta: true, status: false },
    },
    {
      name: 'meta when someone labelled the virtual node (the host wins)',
      desired,
      current: stored(desired, { labels: { ...desired.metadata.labels, mine: 'x' } }),
      expected: { meta: true, status: false },
    },
    {
      name: 'meta when a host taint changed',
      desired: hostNodeToVirtual(hostNode({ spec: { taints: [{ key: 'dedicated', value: 'cpu', effect: 'NoSchedule' }] } }), opts),
      current: stored(desired),
      expected: { meta: true, status: false },
    },
    {
      name: 'meta when the host node became unschedulable',
      desired: hostNodeToVirtual(hostNode({ spec: { ...desired.spec, unschedulable: true } }), opts),
      current: stored(desired),
      expected: { meta: true, status: false },
    },
    {
      name: 'status when a condition changed',
      desired: hostNodeToVirtual(hostNode({ status: { conditions: conditions(at(1), 'False') } }), opts),
      current: stored(desired),
      expected: { meta: false, status: true },
    },
    {
      name: 'status when allocatable changed',
      desired: hostNodeToVirtual(hostNode({ status: { allocatable: { cpu: '31', memory: '256Gi', pods: '110' } } }), opts),
      current: stored(desired),
      expected: { meta: false, status: true },
    },
    {
      name: 'status when an address changed',
      desired: hostNodeToVirtual(hostNode({ status: { addresses: [{ type: 'InternalIP', address: '10.0.0.6' }] } }), opts),
      current: stored(desired),
      expected: { meta: false, status: true },
    },
    {
      name: 'nothing when only the heartbeats moved, by less than the interval',
      desired: hostNodeToVirtual(hostNode({ status: { conditions: conditions(at(59)) } }), opts),
      current: stored(desired),
      expected: { meta: false, status: false },
    },
    {
      name: 'status when only the heartbeats moved, by the interval',
      desired: hostNodeToVirtual(hostNode({ status: { conditions: conditions(at(60)) } }), opts),
      current: stored(desired),
      expected: { meta: false, status: true },
    },
    {
      name: 'status when one condition\'s heartbeat moved by more than the interval',
      desired: hostNodeToVirtual(hostNode({ status: { conditions: [conditions(at(1))[0] as NodeCondition, conditions(at(300))[1] as NodeCondition] } }), opts),
      current: stored(desired),
      expected: { meta: false, status: true },
    },
    {
      name: 'status when the heartbeat went backwards (the host node was re-created)',
      desired,
      current: stored(desired, { status: { conditions: conditions(at(10)) } }),
      expected: { meta: false, status: true },
    },
    {
      name: 'status when a heartbeat cannot be parsed',
      desired: hostNodeToVirtual(hostNode({ status: { conditions: conditions('not a time') } }), opts),
      current: stored(desired),
      expected: { meta: false, status: true },
    },
    {
      name: 'status when a heartbeat and something else changed, even within the interval',
      desired: hostNodeToVirtual(hostNode({ status: { conditions: conditions(at(1)), capacity: { cpu: '64' } } }), opts),
      current: stored(desired),
      expected: { meta: false, status: true },
    },
    {
      name: 'status when the virtual node has no status yet',
      desired,
      current: { ...stored(desired), status: {} },
      expected: { meta: false, status: true },
    },
    {
      name: 'nothing when cleared images are absent on one side and empty on the other',
      desired: hostNodeToVirtual(hostNode(), { vcluster: VC, clearImageStatus: true }),
      current: stored(hostNodeToVirtual(hostNode(), { vcluster: VC, clearImageStatus: true }), { status: { images: [] } }),
      expected: { meta: false, status: false },
    },
    {
      name: 'status when images must be cleared from a node mirrored before',
      desired: hostNodeToVirtual(hostNode(), { vcluster: VC, clearImageStatus: true }),
      current: stored(desired),
      expected: { meta: false, status: true },
    },
    {
      name: 'ignores status fields vcnet does not copy (volumes)',
      desired,
      current: stored(desired, { status: { volumesInUse: ['v'] } }),
      expected: { meta: false, status: false },
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => t.same(nodeNeedsUpdate(c.desired, c.current, min), c.expected));
  }

  t.test('a zero interval writes every heartbeat', async (t) => {
    const d = hostNodeToVirtual(hostNode({ status: { conditions: conditions(at(1)) } }), opts);
    t.same(nodeNeedsUpdate(d, stored(desired), { heartbeatMinIntervalMs: 0 }), { meta: false, status: true });
  });
});

t.test('nodeSelected', async (t) => {
  const gpu = hostNode({ labels: { pool: 'gpu', zone: 'a' } });
  const cases: Array<{ name: string; node: WireNode; all: boolean; labels: Record<string, string>; used: boolean; expected: boolean }> = [
    { name: 'by default only nodes running this vCluster\'s pods', node: gpu, all: false, labels: {}, used: true, expected: true },
    { name: 'by default not a node without pods', node: gpu, all: false, labels: {}, used: false, expected: false },
    { name: 'all: a node without pods', node: gpu, all: true, labels: {}, used: false, expected: true },
    { name: 'all wins over labels (vCluster: labels.Everything())', node: gpu, all: true, labels: { pool: 'cpu' }, used: false, expected: true },
    { name: 'labels: a matching node without pods', node: gpu, all: false, labels: { pool: 'gpu' }, used: false, expected: true },
    { name: 'labels: every label must match', node: gpu, all: false, labels: { pool: 'gpu', zone: 'b' }, used: false, expected: false },
    { name: 'labels: a node without the label is not selected', node: gpu, all: false, labels: { pool: 'cpu' }, used: false, expected: false },
    { name: 'labels: a node without labels at all is not selected', node: { metadata: { name: 'x' } }, all: false, labels: { pool: 'gpu' }, used: false, expected: false },
    { name: 'labels: an empty label value matches only an empty value', node: hostNode({ labels: { 'node-role.kubernetes.io/agent': '' } }), all: false, labels: { 'node-role.kubernetes.io/agent': '' }, used: false, expected: true },
    { name: 'a node that runs pods is mirrored even when labels do not match (else pod GC deletes the pods)', node: gpu, all: false, labels: { pool: 'cpu' }, used: true, expected: true },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => t.equal(nodeSelected(c.node, { all: c.all, labels: c.labels }, c.used), c.expected));
  }
});

t.test('isMirroredNode', async (t) => {
  const cases: Array<{ name: string; node: WireNode; expected: boolean }> = [
    { name: 'a node vcnet mirrored for this vCluster', node: hostNodeToVirtual(hostNode(), opts), expected: true },
    { name: 'a node mirrored for another vCluster', node: hostNodeToVirtual(hostNode(), { vcluster: 'other', clearImageStatus: false }), expected: false },
    { name: 'a node a user created by hand', node: { metadata: { name: 'node-a', labels: { 'kubernetes.io/hostname': 'node-a' } } }, expected: false },
    { name: 'a node without labels', node: { metadata: { name: 'node-a' } }, expected: false },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.equal(isMirroredNode(c.node, VC), c.expected));
});

t.test('pods that keep a node', async (t) => {
  const ds = { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'ds', uid: 'u', controller: true };
  const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u', controller: true };
  const vCases: Array<{ name: string; pod: Parameters<typeof virtualPodKeepsNode>[0]; expected: boolean }> = [
    { name: 'a bare virtual pod keeps its node', pod: { metadata: {} }, expected: true },
    { name: 'a ReplicaSet pod keeps its node', pod: { metadata: { ownerReferences: [rs] } }, expected: true },
    { name: 'a DaemonSet pod does not (vCluster filterOutVirtualDaemonSets)', pod: { metadata: { ownerReferences: [ds] } }, expected: false },
    { name: 'any DaemonSet owner among several is enough', pod: { metadata: { ownerReferences: [rs, ds] } }, expected: false },
    { name: 'a DaemonSet kind of another group is not a DaemonSet', pod: { metadata: { ownerReferences: [{ ...ds, apiVersion: 'example.com/v1' }] } }, expected: true },
  ];
  for (const c of vCases) t.test(c.name, async (t) => t.equal(virtualPodKeepsNode(c.pod), c.expected));

  const hCases: Array<{ name: string; annotations: Record<string, string> | undefined; expected: boolean }> = [
    { name: 'a host pod without owner kind keeps its node', annotations: undefined, expected: true },
    { name: 'a host pod of a virtual ReplicaSet keeps its node', annotations: { 'vcluster.loft.sh/owner-set-kind': 'ReplicaSet' }, expected: true },
    { name: 'a host pod of a virtual DaemonSet does not', annotations: { 'vcluster.loft.sh/owner-set-kind': 'DaemonSet' }, expected: false },
  ];
  for (const c of hCases) {
    t.test(c.name, async (t) => t.equal(hostPodKeepsNode({ metadata: c.annotations === undefined ? {} : { annotations: c.annotations } }), c.expected));
  }
});

t.test('jsonEqual', async (t) => {
  const cases: Array<{ name: string; a: unknown; b: unknown; expected: boolean }> = [
    { name: 'ignores object key order', a: { x: 1, y: [1, 2] }, b: { y: [1, 2], x: 1 }, expected: true },
    { name: 'keeps array order', a: [1, 2], b: [2, 1], expected: false },
    { name: 'an empty list equals a missing one', a: { l: [] }, b: {}, expected: true },
    { name: 'an empty map equals a missing one', a: undefined, b: {}, expected: true },
    { name: 'false is not missing', a: { u: false }, b: {}, expected: false },
    { name: 'an empty string is not missing', a: { s: '' }, b: {}, expected: false },
    { name: 'a number is not its string', a: { n: 1 }, b: { n: '1' }, expected: false },
    { name: 'a list is not a map', a: { l: [1] }, b: { l: { 0: 1 } }, expected: false },
  ];
  for (const c of cases) t.test(c.name, async (t) => t.equal(jsonEqual(c.a, c.b), c.expected));
});
