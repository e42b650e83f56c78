import t from 'tap';
import { toVirtualMessage, toVirtualStatusDetails, type NameMapping, type StatusDetails } from '../../../src/translate/messages.ts';

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

t.test('toVirtualStatusDetails', async (t) => {
  const cases: Array<{ name: string; host: StatusDetails; virtual: StatusDetails }> = [
    {
      name: 'the host twin\'s name becomes the virtual name; kind and group stay',
      host: { name: 'web-x-shop-x-vc', kind: 'services', group: '' },
      virtual: { kind: 'services', group: '', name: 'web' },
    },
    {
      name: 'another name is rewritten like a message',
      host: { name: 'vc-host/web-x-shop-x-vc', kind: 'pods' },
      virtual: { kind: 'pods', name: 'shop/web' },
    },
    {
      name: 'a name the mapping does not know is kept',
      host: { name: 'quota-1', kind: 'resourcequotas' },
      virtual: { kind: 'resourcequotas', name: 'quota-1' },
    },
    {
      name: 'cause messages are put in virtual words; reason and field stay',
      host: {
        name: 'web-x-shop-x-vc', kind: 'Service',
        causes: [
          { reason: 'FieldValueInvalid', field: 'spec.ports[0].nodePort', message: 'Invalid value: 30080: provided port is already allocated to web-x-shop-x-vc' },
          { reason: 'FieldValueRequired', field: 'spec.ports' },
        ],
      },
      virtual: {
        kind: 'Service', name: 'web',
        causes: [
          { reason: 'FieldValueInvalid', field: 'spec.ports[0].nodePort', message: 'Invalid value: 30080: provided port is already allocated to web' },
          { reason: 'FieldValueRequired', field: 'spec.ports' },
        ],
      },
    },
    {
      name: 'the host uid and retryAfterSeconds are dropped',
      host: { name: 'web-x-shop-x-vc', kind: 'pods', uid: 'host-uid', retryAfterSeconds: 3 },
      virtual: { kind: 'pods', name: 'web' },
    },
    { name: 'empty details stay empty', host: {}, virtual: {} },
  ];
  for (const c of cases) {
    t.test(c.name, async (t) => t.strictSame(toVirtualStatusDetails(Object.freeze(c.host), web), c.virtual));
  }
});
