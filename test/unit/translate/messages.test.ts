import t from 'tap';
import { toVirtualMessage, type NameMapping } from '../../../src/translate/messages.ts';

const web: NameMapping = { host: { name: 'web-x-shop-x-vc', namespace: 'vc-host' }, virtual: { name: 'web', namespace: 'shop' } };
const cases: Array<[string, string, NameMapping[], string]> = [
  ['quota refusal', 'pods "web-x-shop-x-vc" is forbidden: exceeded quota: q, requested: pods=1', [web], 'pods "web" is forbidden: exceeded quota: q, requested: pods=1'],
  ['namespace/name form', 'pod vc-host/web-x-shop-x-vc is invalid', [web], 'pod shop/web is invalid'],
  ['quoted host namespace', 'forbidden: unable to create new content in namespace "vc-host" because it is being terminated', [web], 'forbidden: unable to create new content in namespace "shop" because it is being terminated'],
  ['a longer name that contains the host name is left alone', 'pods "web-x-shop-x-vc-2" exists', [web], 'pods "web-x-shop-x-vc-2" exists'],
  ['a sentence-final dot still bounds the name', 'cannot create web-x-shop-x-vc.', [web], 'cannot create web.'],
  ['nothing to map', 'some error', [], 'some error'],
  ['several occurrences', 'web-x-shop-x-vc and web-x-shop-x-vc', [web], 'web and web'],
  ['longest first', 'pods "a-b-x-ns-x-vc" and "b-x-ns-x-vc"', [
    { host: { name: 'b-x-ns-x-vc', namespace: 'h' }, virtual: { name: 'b', namespace: 'ns' } },
    { host: { name: 'a-b-x-ns-x-vc', namespace: 'h' }, virtual: { name: 'a-b', namespace: 'ns' } },
  ], 'pods "a-b" and "b"'],
];
for (const [name, input, mappings, expected] of cases) {
  t.test(name, async (t) => { t.equal(toVirtualMessage(input, mappings), expected); });
}
