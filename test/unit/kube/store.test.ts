import t from 'tap';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { applyDeltas, deltasForEvent, diffRelist, objectKey, type Delta } from '../../../src/kube/store.ts';

const cm = (name: string, rv: string, uid = `uid-${name}`, data: Record<string, string> = {}): V1ConfigMap =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns', name, uid, resourceVersion: rv }, data });
const storeOf = (...objs: V1ConfigMap[]): Map<string, V1ConfigMap> => new Map(objs.map((o) => [objectKey(o), o]));
const summary = (ds: Delta<V1ConfigMap>[]): string[] =>
  ds.map((d) => `${d.type} ${d.object.metadata?.name}@${d.object.metadata?.resourceVersion}${d.old === undefined ? '' : ` (was @${d.old.metadata?.resourceVersion})`}`);

t.test('keys are namespace/name, or the name alone for cluster-scoped objects', async (t) => {
  t.equal(objectKey(cm('a', '1')), 'ns/a');
  t.equal(objectKey({ metadata: { name: 'node-1' } }), 'node-1');
  t.equal(objectKey({ metadata: { name: 'n', namespace: '' } }), 'n');
});

const relistCases = [
  {
    name: 'an empty store gets an add for every listed object, in list order',
    store: storeOf(), list: [cm('b', '5'), cm('a', '6')],
    expected: ['add b@5', 'add a@6'],
  },
  {
    name: 'objects whose resourceVersion did not change produce nothing (no duplicate delivery)',
    store: storeOf(cm('a', '5'), cm('b', '6')), list: [cm('a', '5'), cm('b', '6')],
    expected: [],
  },
  {
    name: 'a changed resourceVersion is one update carrying the stored object as old',
    store: storeOf(cm('a', '5'), cm('b', '6')), list: [cm('a', '9'), cm('b', '6')],
    expected: ['update a@9 (was @5)'],
  },
  {
    name: 'objects missing from the list are deleted with their last stored state',
    store: storeOf(cm('a', '5'), cm('b', '6')), list: [cm('b', '6')],
    expected: ['delete a@5 (was @5)'],
  },
  {
    name: 'deletes come before adds and updates',
    store: storeOf(cm('a', '5'), cm('b', '6')), list: [cm('c', '10'), cm('b', '11')],
    expected: ['delete a@5 (was @5)', 'add c@10', 'update b@11 (was @6)'],
  },
  {
    name: 'a re-created object (same name, new UID) is a delete of the old one and an add of the new one',
    store: storeOf(cm('a', '5', 'uid-old')), list: [cm('a', '12', 'uid-new')],
    expected: ['delete a@5 (was @5)', 'add a@12'],
  },
  {
    name: 'an empty list deletes everything',
    store: storeOf(cm('a', '5'), cm('b', '6')), list: [],
    expected: ['delete a@5 (was @5)', 'delete b@6 (was @6)'],
  },
];

for (const c of relistCases) {
  t.test(c.name, async (t) => {
    const before = new Map(c.store);
    const deltas = diffRelist(c.store, c.list);
    t.same(summary(deltas), c.expected);
    t.same(c.store, before, 'diffing does not touch the store');
    applyDeltas(c.store, deltas);
    t.same([...c.store.values()].sort((x, y) => objectKey(x).localeCompare(objectKey(y))),
      [...c.list].sort((x, y) => objectKey(x).localeCompare(objectKey(y))), 'applying the deltas makes the store equal the list');
  });
}

const eventCases = [
  { name: 'ADDED of an unknown object is an add', store: storeOf(), type: 'ADDED' as const, obj: cm('a', '5'), expected: ['add a@5'] },
  { name: 'MODIFIED of a known object is an update with the old state', store: storeOf(cm('a', '5')), type: 'MODIFIED' as const, obj: cm('a', '7'), expected: ['update a@7 (was @5)'] },
  { name: 'MODIFIED of an unknown object is an add', store: storeOf(), type: 'MODIFIED' as const, obj: cm('a', '7'), expected: ['add a@7'] },
  { name: 'a replayed event with the stored resourceVersion is dropped', store: storeOf(cm('a', '5')), type: 'MODIFIED' as const, obj: cm('a', '5'), expected: [] },
  { name: 'ADDED of a known name with a new UID replaces it with a delete and an add', store: storeOf(cm('a', '5', 'u1')), type: 'ADDED' as const, obj: cm('a', '8', 'u2'), expected: ['delete a@5 (was @5)', 'add a@8'] },
  { name: 'DELETED carries the final object and the stored one', store: storeOf(cm('a', '5')), type: 'DELETED' as const, obj: cm('a', '9'), expected: ['delete a@9 (was @5)'] },
  { name: 'DELETED of an object never seen is dropped', store: storeOf(), type: 'DELETED' as const, obj: cm('a', '9'), expected: [] },
];

for (const c of eventCases) {
  t.test(c.name, async (t) => {
    const deltas = deltasForEvent(c.store, c.type, c.obj);
    t.same(summary(deltas), c.expected);
    applyDeltas(c.store, deltas);
    if (c.type === 'DELETED') t.notOk(c.store.has('ns/a'));
    else t.same(c.store.get('ns/a'), c.obj);
  });
}

// What a Reflector transform must keep (watch.ts ReflectorOptions.transform): the diff reads the key
// (namespace/name), resourceVersion and uid, and nothing else, so a store of cut-down objects diffs
// exactly like a store of whole ones.
const slim = (o: V1ConfigMap): V1ConfigMap => ({ metadata: { namespace: o.metadata?.namespace, name: o.metadata?.name, resourceVersion: o.metadata?.resourceVersion, uid: o.metadata?.uid } });
const identityCases = [
  { name: 'same resourceVersion, different content: nothing (content is never compared)', stored: cm('a', '5', 'u1', { big: 'x' }), listed: cm('a', '5', 'u1', { big: 'changed' }), expected: [] },
  { name: 'new resourceVersion: an update', stored: cm('a', '5', 'u1', { big: 'x' }), listed: cm('a', '6', 'u1', { big: 'x' }), expected: ['update a@6 (was @5)'] },
  { name: 'new uid: a delete and an add', stored: cm('a', '5', 'u1', { big: 'x' }), listed: cm('a', '9', 'u2', { big: 'x' }), expected: ['delete a@5 (was @5)', 'add a@9'] },
];
for (const c of identityCases) {
  t.test(`only the identity is compared: ${c.name}`, async (t) => {
    t.same(summary(diffRelist(storeOf(c.stored), [c.listed])), c.expected, 'whole objects');
    t.same(summary(diffRelist(storeOf(slim(c.stored)), [slim(c.listed)])), c.expected, 'objects cut down to their identity');
  });
}
