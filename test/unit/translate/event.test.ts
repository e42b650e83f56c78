import t from 'tap';
import {
  HOST_EVENT_LABEL, HOST_EVENT_UID, eventCount, eventLastSeenMs, hostEventToVirtual, virtualEventAction, virtualEventName,
  type EventJson, type EventTarget, type HostEventOptions,
} from '../../../src/translate/event.ts';
import { sha256Hex } from '../../../src/translate/names.ts';

const HNS = 'vcluster-ns';
const H_POD = 'web-0-x-prod-x-my-vcluster';
const target: EventTarget = Object.freeze({ name: 'web-0', namespace: 'prod', uid: 'v-uid-1', kind: 'Pod' });
const opts: HostEventOptions = Object.freeze({ hostNamespace: HNS });

// A legacy event as kube-scheduler's core/v1 recorder writes it, as JSON off the wire.
const scheduled: EventJson = Object.freeze({
  apiVersion: 'v1',
  kind: 'Event',
  metadata: {
    name: `${H_POD}.17f1a2b3c4d5e6f7`, namespace: HNS, uid: 'h-ev-uid-1', resourceVersion: '812',
    creationTimestamp: '2025-03-01T10:00:00Z', labels: { host: 'label' }, annotations: { host: 'annotation' },
  },
  involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: HNS, name: H_POD, uid: 'h-pod-uid', resourceVersion: '800' },
  reason: 'Scheduled',
  message: `Successfully assigned ${HNS}/${H_POD} to kwok-node-0`,
  type: 'Normal',
  count: 1,
  firstTimestamp: '2025-03-01T10:00:00Z',
  lastTimestamp: '2025-03-01T10:00:00Z',
  eventTime: null,
  source: { component: 'default-scheduler' },
  reportingComponent: '',
  reportingInstance: '',
  related: { kind: 'Node', name: 'kwok-node-0' },
});

const vAnnotations = (hName: string, uid = 'h-ev-uid-1'): Record<string, string> => ({
  'vcluster.loft.sh/object-host-name': hName,
  'vcluster.loft.sh/object-host-namespace': HNS,
  [HOST_EVENT_UID]: uid,
});

t.test('hostEventToVirtual', async (t) => {
  const cases: Array<{ name: string; hEvent: EventJson; target?: EventTarget; opts?: HostEventOptions; expected: EventJson | undefined }> = [
    {
      name: 'copies a scheduler event onto the virtual pod, in virtual words, without host labels, annotations or related',
      hEvent: scheduled,
      expected: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: {
          name: 'web-0.17f1a2b3c4d5e6f7', namespace: 'prod',
          labels: { [HOST_EVENT_LABEL]: 'true' }, annotations: vAnnotations(`${H_POD}.17f1a2b3c4d5e6f7`),
        },
        involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: 'prod', name: 'web-0', uid: 'v-uid-1' },
        reason: 'Scheduled',
        message: 'Successfully assigned prod/web-0 to kwok-node-0',
        type: 'Normal',
        count: 1,
        firstTimestamp: '2025-03-01T10:00:00Z',
        lastTimestamp: '2025-03-01T10:00:00Z',
        source: { component: 'default-scheduler' },
      },
    },
    {
      name: 'keeps the fieldPath and copies a new-style event (eventTime, series, action, reporting fields)',
      hEvent: {
        metadata: { name: `${H_POD}.aa01`, namespace: HNS, uid: 'h-ev-uid-2' },
        involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: HNS, name: H_POD, uid: 'h-pod-uid', fieldPath: 'spec.containers{web}' },
        reason: 'BackOff', message: `Back-off restarting failed container web in pod ${H_POD}_${HNS}(h-pod-uid)`, type: 'Warning',
        eventTime: '2025-03-01T10:00:00.123456Z', series: { count: 7, lastObservedTime: '2025-03-01T10:05:00.000001Z' },
        reportingComponent: 'kubelet', reportingInstance: 'kwok-node-1', action: 'Restarting', firstTimestamp: null, lastTimestamp: null,
      },
      expected: {
        apiVersion: 'v1', kind: 'Event',
        metadata: { name: 'web-0.aa01', namespace: 'prod', labels: { [HOST_EVENT_LABEL]: 'true' }, annotations: vAnnotations(`${H_POD}.aa01`, 'h-ev-uid-2') },
        involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: 'prod', name: 'web-0', uid: 'v-uid-1', fieldPath: 'spec.containers{web}' },
        reason: 'BackOff',
        // `hpod_hns(...)` is no `hns/hpod`: the pod name is replaced, the namespace after `_` stays.
        message: `Back-off restarting failed container web in pod web-0_${HNS}(h-pod-uid)`,
        type: 'Warning',
        eventTime: '2025-03-01T10:00:00.123456Z', series: { count: 7, lastObservedTime: '2025-03-01T10:05:00.000001Z' },
        reportingComponent: 'kubelet', reportingInstance: 'kwok-node-1', action: 'Restarting',
      },
    },
    {
      name: 'rewrites every mention of the host pod, and leaves names that merely contain it alone',
      hEvent: {
        ...scheduled,
        message: `pod ${H_POD} conflicts with ${H_POD}-other; see ${HNS}/${H_POD}, "${H_POD}".`,
      },
      expected: {
        ...hostEventToVirtual(scheduled, target, opts),
        message: `pod web-0 conflicts with ${H_POD}-other; see prod/web-0, "web-0".`,
      },
    },
    {
      name: 'rewrites a hashed (63-character) host pod name in the name and the message',
      hEvent: {
        ...scheduled,
        metadata: { name: 'my-very-long-application-service-name-for-testing-x--f86413b09c.182c', namespace: HNS, uid: 'u3' },
        involvedObject: { kind: 'Pod', namespace: HNS, name: 'my-very-long-application-service-name-for-testing-x--f86413b09c' },
        message: `Successfully assigned ${HNS}/my-very-long-application-service-name-for-testing-x--f86413b09c to kwok-node-1`,
      },
      target: { name: 'my-very-long-application-service-name-for-testing', namespace: 'production', uid: 'v-long', kind: 'Pod' },
      expected: {
        apiVersion: 'v1', kind: 'Event',
        metadata: {
          name: 'my-very-long-application-service-name-for-testing.182c', namespace: 'production',
          labels: { [HOST_EVENT_LABEL]: 'true' },
          annotations: vAnnotations('my-very-long-application-service-name-for-testing-x--f86413b09c.182c', 'u3'),
        },
        involvedObject: { kind: 'Pod', apiVersion: 'v1', namespace: 'production', name: 'my-very-long-application-service-name-for-testing', uid: 'v-long' },
        reason: 'Scheduled',
        message: 'Successfully assigned production/my-very-long-application-service-name-for-testing to kwok-node-1',
        type: 'Normal', count: 1, firstTimestamp: '2025-03-01T10:00:00Z', lastTimestamp: '2025-03-01T10:00:00Z',
        source: { component: 'default-scheduler' },
      },
    },
    {
      name: 'omits the host UID annotation when the host event has no UID yet',
      hEvent: { ...scheduled, metadata: { name: `${H_POD}.1`, namespace: HNS } },
      expected: {
        ...hostEventToVirtual(scheduled, target, opts),
        metadata: {
          name: 'web-0.1', namespace: 'prod', labels: { [HOST_EVENT_LABEL]: 'true' },
          annotations: { 'vcluster.loft.sh/object-host-name': `${H_POD}.1`, 'vcluster.loft.sh/object-host-namespace': HNS },
        },
      },
    },
    { name: 'skips an event about another kind', hEvent: { ...scheduled, involvedObject: { ...scheduled.involvedObject, kind: 'Service' } }, expected: undefined },
    { name: 'skips an event from another host namespace', hEvent: { ...scheduled, metadata: { ...scheduled.metadata, namespace: 'other' } }, expected: undefined },
    { name: 'skips an event whose pod is in another namespace', hEvent: { ...scheduled, involvedObject: { ...scheduled.involvedObject, namespace: 'other' } }, expected: undefined },
    { name: 'skips an event without an involved object', hEvent: { ...scheduled, involvedObject: undefined }, expected: undefined },
    { name: 'skips an event without a name', hEvent: { ...scheduled, metadata: { namespace: HNS } }, expected: undefined },
    { name: 'skips an event about an earlier host pod of the same name', hEvent: scheduled, opts: { hostNamespace: HNS, hostPodUid: 'h-pod-uid-NEW' }, expected: undefined },
    {
      name: 'copies an event about the host pod whose UID was given',
      hEvent: scheduled, opts: { hostNamespace: HNS, hostPodUid: 'h-pod-uid' },
      expected: hostEventToVirtual(scheduled, target, opts),
    },
    { name: 'skips when the virtual target has no UID', hEvent: scheduled, target: { ...target, uid: '' }, expected: undefined },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const input = structuredClone(c.hEvent);
      t.same(hostEventToVirtual(c.hEvent, c.target ?? target, c.opts ?? opts), c.expected);
      t.same(c.hEvent, input, 'the host event is not modified');
    });
  }
});

t.test('virtualEventName', async (t) => {
  const long = 'a'.repeat(250);
  const longFull = `${long}.17f1a2b3c4d5e6f7`;
  const dotted = `${'b'.repeat(235)}.c-d.e`;
  const cases: Array<{ name: string; hEventName: string; hPodName: string; vPodName: string; expected: string }> = [
    { name: 'swaps the host pod prefix for the virtual pod name', hEventName: `${H_POD}.17f1a2b3c4d5e6f7`, hPodName: H_POD, vPodName: 'web-0', expected: 'web-0.17f1a2b3c4d5e6f7' },
    { name: 'keeps a multi-label suffix', hEventName: `${H_POD}.a.b`, hPodName: H_POD, vPodName: 'web-0', expected: 'web-0.a.b' },
    { name: 'prefixes a host event name that does not start with the pod name', hEventName: 'by-hand', hPodName: H_POD, vPodName: 'web-0', expected: 'web-0.by-hand' },
    { name: 'does not take a longer pod name for the prefix', hEventName: `${H_POD}x.1`, hPodName: H_POD, vPodName: 'web-0', expected: `web-0.${H_POD}x.1` },
    { name: 'keeps a name of exactly 253 characters', hEventName: `${H_POD}.${'c'.repeat(247)}`, hPodName: H_POD, vPodName: 'web-0', expected: `web-0.${'c'.repeat(247)}` },
    {
      name: 'shortens a name past 253 characters to a stable one ending in a hash of the full name',
      hEventName: `${H_POD}.17f1a2b3c4d5e6f7`, hPodName: H_POD, vPodName: long,
      expected: `${longFull.slice(0, 236)}.${sha256Hex(longFull).slice(0, 16)}`,
    },
    {
      name: 'drops the "." and "-" a cut leaves at the end, so the name stays a valid subdomain',
      hEventName: `${H_POD}.${'x'.repeat(20)}`, hPodName: H_POD, vPodName: dotted,
      expected: `${'b'.repeat(235)}.${sha256Hex(`${dotted}.${'x'.repeat(20)}`).slice(0, 16)}`,
    },
  ];
  const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const got = virtualEventName(c.hEventName, c.hPodName, c.vPodName);
      t.equal(got, c.expected);
      t.ok(got.length <= 253, `${got.length} characters`);
      t.match(got, SUBDOMAIN, 'a DNS-1123 subdomain');
    });
  }
  t.test('distinct long host events get distinct names', async (t) => {
    t.not(virtualEventName(`${H_POD}.1`, H_POD, long), virtualEventName(`${H_POD}.2`, H_POD, long));
  });
});

t.test('eventLastSeenMs and eventCount', async (t) => {
  const cases: Array<{ name: string; ev: EventJson; seen: string | undefined; count: number }> = [
    { name: 'a legacy event: lastTimestamp and count', ev: { firstTimestamp: '2025-01-01T00:00:00Z', lastTimestamp: '2025-01-01T00:01:00Z', count: 3 }, seen: '2025-01-01T00:01:00Z', count: 3 },
    {
      name: 'a new-style event: the series wins over eventTime',
      ev: { eventTime: '2025-01-01T00:00:00.000001Z', series: { count: 4, lastObservedTime: '2025-01-01T00:02:00.500000Z' }, firstTimestamp: null },
      seen: '2025-01-01T00:02:00.500Z', count: 4,
    },
    { name: 'a new-style event without series: eventTime, counted once', ev: { eventTime: '2025-01-01T00:00:00.250000Z' }, seen: '2025-01-01T00:00:00.250Z', count: 0 },
    { name: 'no times: the creation time', ev: { metadata: { creationTimestamp: '2025-01-01T00:03:00Z' } }, seen: '2025-01-01T00:03:00Z', count: 0 },
    { name: 'no time at all', ev: { lastTimestamp: 'not a time' }, seen: undefined, count: 0 },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      t.equal(eventLastSeenMs(c.ev), c.seen === undefined ? undefined : Date.parse(c.seen));
      t.equal(eventCount(c.ev), c.count);
    });
  }
});

t.test('virtualEventAction decides from the desired copy and the existing virtual event', async (t) => {
  const desired = hostEventToVirtual(scheduled, target, opts) as EventJson;
  // What the virtual API server returns for the copy: its own metadata, empty fields as it writes them.
  const readBack: EventJson = {
    ...desired,
    metadata: { ...desired.metadata, uid: 'v-ev-uid', resourceVersion: '42', creationTimestamp: '2025-03-01T10:00:01Z' },
    eventTime: null, reportingComponent: '', reportingInstance: '', series: null,
  };
  const later = (ev: EventJson, count: number, at: string): EventJson => ({ ...ev, count, lastTimestamp: at });
  const cases: Array<{ name: string; desired: EventJson; existing: EventJson | undefined; expected: string }> = [
    { name: 'creates a missing copy', desired, existing: undefined, expected: 'create' },
    { name: 'leaves a copy that says the same, as the API server returns it', desired, existing: readBack, expected: 'current' },
    { name: 'updates a copy when the host event counted again', desired: later(desired, 2, '2025-03-01T10:01:00Z'), existing: readBack, expected: 'update' },
    { name: 'updates a copy when only the message changed', desired: { ...desired, message: 'new words' }, existing: readBack, expected: 'update' },
    { name: 'keeps a newer copy when an older host state arrives late', desired, existing: later(readBack, 2, '2025-03-01T10:01:00Z'), expected: 'stale' },
    { name: 'keeps a copy with a higher count at the same time', desired, existing: { ...readBack, count: 5 }, expected: 'stale' },
    {
      name: 'replaces the copy of a host event that was re-created under the same name',
      desired: { ...desired, metadata: { ...desired.metadata, annotations: vAnnotations(`${H_POD}.17f1a2b3c4d5e6f7`, 'h-ev-uid-NEW') } },
      existing: later(readBack, 9, '2025-03-01T11:00:00Z'),
      expected: 'update',
    },
    { name: 'never touches a virtual event vcnet did not write', desired, existing: { ...readBack, metadata: { name: 'web-0.17f1a2b3c4d5e6f7', namespace: 'prod' } }, expected: 'foreign' },
    {
      name: 'never touches a copy of another host event that landed on the same name',
      desired,
      existing: { ...readBack, metadata: { ...readBack.metadata, annotations: vAnnotations('other-event') } },
      expected: 'foreign',
    },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => {
      t.equal(virtualEventAction(c.desired, c.existing), c.expected);
    });
  }
});
