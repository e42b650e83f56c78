import t from 'tap';
import { podConditionsToHost, podStatusToVirtual } from '../../../src/translate/pod.ts';
import type { Pod, PodCondition, PodStatus } from '../../../src/translate/pod-types.ts';
import { deepFreeze, virtualPod } from '../../fixtures/pods/index.ts';

const T0 = '2025-11-20T10:00:00Z';
const T1 = '2025-11-20T10:00:05Z';
const cond = (type: string, status: string, extra: Partial<PodCondition> = {}): PodCondition => ({ type, status, lastTransitionTime: T0, ...extra });
const running = (name: string) => ({ name, ready: true, restartCount: 0, image: 'x', imageID: 'x', state: { running: { startedAt: T0 } } });
const done = (name: string) => ({ name, ready: false, restartCount: 0, image: 'x', imageID: 'x', state: { terminated: { exitCode: 0, reason: 'Completed' } } });

/** A virtual pod with container app, init container migrate and a readiness gate. */
const vPod = (status: PodStatus): Pod => ({
  ...virtualPod({
    spec: {
      containers: [{ name: 'app' }],
      initContainers: [{ name: 'migrate' }],
      readinessGates: [{ conditionType: 'example.com/warmed-up' }],
    },
  }),
  status,
});

interface Case {
  readonly name: string;
  readonly virtual: Pod;
  readonly host: PodStatus;
  readonly expected: PodStatus;
}

const cases: Case[] = [
  {
    name: 'copies the real phase, pod IPs, host IP and start time from the host',
    virtual: vPod({ phase: 'Pending', qosClass: 'BestEffort' }),
    host: { phase: 'Running', podIP: '10.244.1.7', podIPs: [{ ip: '10.244.1.7' }, { ip: 'fd00::7' }], hostIP: '172.18.0.3', startTime: T0, qosClass: 'BestEffort' },
    expected: { phase: 'Running', podIP: '10.244.1.7', podIPs: [{ ip: '10.244.1.7' }, { ip: 'fd00::7' }], hostIP: '172.18.0.3', startTime: T0, qosClass: 'BestEffort' },
  },
  {
    name: 'keeps the virtual qosClass, which the injected init container may change on the host',
    virtual: vPod({ qosClass: 'BestEffort' }),
    host: { phase: 'Running', qosClass: 'Burstable' },
    expected: { phase: 'Running', qosClass: 'BestEffort' },
  },
  {
    name: 'keeps the virtual observedGeneration, since host and virtual generations count apart',
    virtual: vPod({ observedGeneration: 1 }),
    host: { phase: 'Running', observedGeneration: 4 },
    expected: { phase: 'Running', observedGeneration: 1 },
  },
  {
    name: 'leaves observedGeneration out while the virtual pod has none',
    virtual: vPod({}),
    host: { phase: 'Running', observedGeneration: 4 },
    expected: { phase: 'Running' },
  },
  {
    name: 'hides the /etc/hosts init container and containers a host webhook injected',
    virtual: vPod({}),
    host: {
      initContainerStatuses: [done('vcluster-rewrite-hosts'), done('migrate')],
      containerStatuses: [running('app'), running('istio-proxy')],
      ephemeralContainerStatuses: [running('injected-debugger')],
    },
    expected: { initContainerStatuses: [done('migrate')], containerStatuses: [running('app')], ephemeralContainerStatuses: [] },
  },
  {
    name: 'shows the status of an ephemeral container the virtual pod has',
    virtual: { ...vPod({}), spec: { ...vPod({}).spec, ephemeralContainers: [{ name: 'debugger-x1' }] } },
    host: { ephemeralContainerStatuses: [running('debugger-x1')] },
    expected: { ephemeralContainerStatuses: [running('debugger-x1')] },
  },
  {
    name: 'takes the system conditions from the host and keeps the virtual value of a readiness gate',
    virtual: vPod({ conditions: [cond('Ready', 'False'), cond('example.com/warmed-up', 'True', { lastTransitionTime: T1 })] }),
    host: {
      conditions: [
        cond('PodScheduled', 'True'), cond('Initialized', 'True'), cond('ContainersReady', 'True'), cond('Ready', 'True'),
        cond('example.com/warmed-up', 'False'),
      ],
    },
    expected: {
      conditions: [
        cond('PodScheduled', 'True'), cond('Initialized', 'True'), cond('ContainersReady', 'True'), cond('Ready', 'True'),
        cond('example.com/warmed-up', 'True', { lastTransitionTime: T1 }),
      ],
    },
  },
  {
    name: 'keeps a readiness gate condition the host does not have yet',
    virtual: vPod({ conditions: [cond('example.com/warmed-up', 'True')] }),
    host: { conditions: [cond('PodScheduled', 'True')] },
    expected: { conditions: [cond('PodScheduled', 'True'), cond('example.com/warmed-up', 'True')] },
  },
  {
    name: 'leaves out custom conditions only the host has, and copies disruption targets',
    virtual: vPod({}),
    host: { conditions: [cond('PodScheduled', 'True'), cond('host.example.com/scanned', 'True'), cond('DisruptionTarget', 'True', { reason: 'EvictionByEvictionAPI' })] },
    expected: { conditions: [cond('PodScheduled', 'True'), cond('DisruptionTarget', 'True', { reason: 'EvictionByEvictionAPI' })] },
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    t.strictSame(podStatusToVirtual(deepFreeze(c.virtual), deepFreeze({ status: c.host })), c.expected);
  });
}

t.test('readiness gate conditions, virtual -> host', async (t) => {
  const hostConditions = [cond('PodScheduled', 'True'), cond('Ready', 'False')];
  const cases: Array<{ name: string; virtual: PodCondition[]; host: PodCondition[]; expected: PodCondition[] | undefined }> = [
    {
      name: 'adds a readiness gate condition set in the virtual cluster',
      virtual: [cond('Ready', 'True'), cond('example.com/warmed-up', 'True')],
      host: hostConditions,
      expected: [...hostConditions, cond('example.com/warmed-up', 'True')],
    },
    {
      name: 'updates a readiness gate condition that changed in the virtual cluster',
      virtual: [cond('example.com/warmed-up', 'False', { lastTransitionTime: T1, reason: 'Cooling' })],
      host: [...hostConditions, cond('example.com/warmed-up', 'True')],
      expected: [...hostConditions, cond('example.com/warmed-up', 'False', { lastTransitionTime: T1, reason: 'Cooling' })],
    },
    {
      name: 'asks for no write when the host already has the virtual conditions',
      virtual: [cond('Ready', 'True'), cond('example.com/warmed-up', 'True')],
      host: [...hostConditions, cond('example.com/warmed-up', 'True')],
      expected: undefined,
    },
    {
      name: 'never pushes system conditions to the host',
      virtual: [cond('Ready', 'True')],
      host: hostConditions,
      expected: undefined,
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      t.strictSame(podConditionsToHost(deepFreeze({ status: { conditions: c.virtual } }), deepFreeze({ status: { conditions: c.host } })), c.expected);
    });
  }
});
