import t from 'tap';
import {
  ConfigError, ConfigErrors, configFields, defaultConfig, mergeConfig, parseConfig,
} from '../../../src/config/index.ts';
import type { VcnetConfig } from '../../../src/config/index.ts';

/** `{ a: { b: value } }` from `'a.b'`. */
function at(path: string, value: unknown): Record<string, unknown> {
  return path.split('.').reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
}

function get(config: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, key) => (o as Record<string, unknown>)[key], config);
}

/** The problems parseConfig reports, as [path, message] pairs; [] when it accepts the input. */
function problems(input: unknown): Array<[string, string]> {
  try {
    parseConfig(input);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err;
    return err.errors.map((e) => [e.path, e.message]);
  }
}

t.test('an empty configuration gives every default', async (t) => {
  const expected: VcnetConfig = {
    networking: { serviceCIDR: '', podCIDR: '10.244.0.0/16', advanced: { clusterDomain: 'cluster.local' } },
    controlPlane: { proxy: { bindAddress: '0.0.0.0', port: 8443, extraSANs: [] } },
    vcnet: {
      name: 'vcluster',
      virtual: { kubeconfig: '' },
      host: { kubeconfig: '', namespace: '' },
      proxy: { clientCAFile: '', maxRequestBodyBytes: 3145728, impersonationCacheSeconds: 10 },
      certs: { dir: 'certs', validityDays: 365, renewBeforeDays: 30 },
      observability: { bindAddress: '127.0.0.1', port: 8080 },
      logLevel: 'info',
    },
  };
  for (const input of [{}, null, undefined, { networking: null, controlPlane: { proxy: null }, vcnet: {} }]) {
    t.same(parseConfig(input), expected, `from ${JSON.stringify(input)}`);
  }
  t.same(defaultConfig(), expected, 'defaultConfig()');
});

t.test('a field set to null takes its default, as Helm treats values', async (t) => {
  const config = parseConfig({ controlPlane: { proxy: { port: null, extraSANs: null } }, vcnet: { logLevel: null } });
  t.equal(config.controlPlane.proxy.port, 8443);
  t.same(config.controlPlane.proxy.extraSANs, []);
  t.equal(config.vcnet.logLevel, 'info');
});

// Every field: values it takes as they are, and values it refuses with the reason.
const fieldCases: Array<{ path: string; valid: unknown[]; invalid: Array<[unknown, RegExp, string?]> }> = [
  {
    path: 'networking.serviceCIDR',
    valid: ['', '10.96.0.0/12', '10.43.0.0/16', 'fd00:10:96::/108', '2001:db8::/112', '10.96.0.0/12,fd00::/108', 'fd00::/108,10.96.0.0/12'],
    invalid: [
      ['10.96.0.0', /"10\.96\.0\.0" is not a valid CIDR: a CIDR needs a prefix length/],
      ['10.96.0.1/12', /the network is 10\.96\.0\.0\/12/],
      ['fd00::1/108', /the network is fd00::\/108/],
      ['10.96.0.0/12,10.100.0.0/16', /two IPv4 CIDRs; a dual-stack service CIDR has one IPv4 and one IPv6 CIDR/],
      ['fd00::/108,fd01::/108', /two IPv6 CIDRs/],
      ['10.96.0.0/12,fd00::/108,10.0.0.0/8', /has 3 CIDRs/],
      ['10.96.0.0/12, fd00::/108', /" fd00::\/108" in "10\.96\.0\.0\/12, fd00::\/108" is not a valid CIDR/],
      [['10.96.0.0/12'], /expected a string, got a list/],
    ],
  },
  {
    path: 'networking.podCIDR',
    valid: ['10.244.0.0/16', '192.168.0.0/24', 'fd00:10:244::/56', '::/0'],
    invalid: [
      ['', /"" is not a valid CIDR/],
      ['10.244.0.0/16,fd00::/56', /is not a valid CIDR/],
      ['10.244.0.0/40', /prefix length must be a number from 0 to 32/],
      ['fd00::/200', /from 0 to 128/],
      [16, /expected a string, got a number \(16\); put the value in quotes/],
    ],
  },
  {
    path: 'networking.advanced.clusterDomain',
    valid: ['cluster.local', 'corp.internal', 'local'],
    invalid: [
      ['', /"" is not a valid DNS-1123 subdomain/],
      ['Cluster.Local', /is not a valid DNS-1123 subdomain/],
      ['cluster.local.', /is not a valid DNS-1123 subdomain/],
      ['cluster_local', /is not a valid DNS-1123 subdomain/],
    ],
  },
  {
    path: 'controlPlane.proxy.bindAddress',
    valid: ['0.0.0.0', '127.0.0.1', '::', '::1', '10.1.2.3'],
    invalid: [
      ['', /"" is not an IPv4 or IPv6 address/],
      ['localhost', /"localhost" is not an IPv4 or IPv6 address/],
      ['0.0.0.0:8443', /is not an IPv4 or IPv6 address/],
      ['10.0.0.01', /is not an IPv4 or IPv6 address/],
    ],
  },
  {
    path: 'controlPlane.proxy.port',
    valid: [1, 443, 8443, 65535],
    invalid: [
      [0, /must be an integer from 1 to 65535, got 0/],
      [65536, /must be an integer from 1 to 65535, got 65536/],
      [-1, /from 1 to 65535/],
      [8443.5, /expected an integer, got a number \(8443\.5\)/],
      ['8443', /expected an integer, got a string \("8443"\)/],
      [true, /expected an integer, got a boolean/],
    ],
  },
  {
    path: 'controlPlane.proxy.extraSANs',
    valid: [[], ['vcnet.example.com'], ['*.example.com', '10.0.0.1', 'fd00::1', 'localhost']],
    invalid: [
      ['vcnet.example.com', /expected a list, got a string/],
      [['ok.example.com', 'exa mple'], /^controlPlane\.proxy\.extraSANs\[1\]: "exa mple" is not a DNS name or IP address$/, 'controlPlane.proxy.extraSANs[1]'],
      [['a.*.example.com'], /wildcard must be the whole first label/, 'controlPlane.proxy.extraSANs[0]'],
      [['10.0.0.256'], /"10\.0\.0\.256" is not a DNS name or IP address/, 'controlPlane.proxy.extraSANs[0]'],
      [[42], /expected a string, got a number \(42\)/, 'controlPlane.proxy.extraSANs[0]'],
      [[null], /expected a string, got nothing/, 'controlPlane.proxy.extraSANs[0]'],
    ],
  },
  {
    path: 'vcnet.name',
    valid: ['vcluster', 'my-vcluster', 'a', 'team-a-1'],
    invalid: [
      ['', /is not a valid DNS-1035 label/],
      ['1vcluster', /"1vcluster" is not a valid DNS-1035 label: .*starting with a letter.*; the vCluster name becomes part of host Service names/],
      ['My-VCluster', /DNS-1035 label/],
      ['vc.one', /DNS-1035 label/],
      ['a'.repeat(64), /DNS-1035 label/],
      [false, /expected a string, got a boolean \(false\); put the value in quotes to keep it as text/],
    ],
  },
  {
    path: 'vcnet.virtual.kubeconfig',
    valid: ['', '/etc/vcnet/virtual.kubeconfig', 'virtual.kubeconfig'],
    invalid: [
      ['~/.kube/config', /starts with ~, which vcnet does not expand/],
      ['a\0b', /contains a NUL character/],
      [{ path: 'x' }, /expected a string, got a mapping/],
    ],
  },
  {
    path: 'vcnet.host.kubeconfig',
    valid: ['', '/etc/vcnet/host.kubeconfig', '../host.kubeconfig'],
    invalid: [['~', /starts with ~/], [1, /expected a string/]],
  },
  {
    path: 'vcnet.host.namespace',
    valid: ['', 'vcluster-ns', 'team-a', '0abc'],
    invalid: [
      ['Team-A', /"Team-A" is not a valid DNS-1123 label/],
      ['team.a', /DNS-1123 label/],
      ['a'.repeat(64), /DNS-1123 label/],
    ],
  },
  {
    path: 'vcnet.proxy.clientCAFile',
    valid: ['', '/etc/kubernetes/pki/ca.crt', 'pki/client-ca.crt'],
    invalid: [['~/ca.crt', /starts with ~/], [[], /expected a string, got a list/]],
  },
  {
    path: 'vcnet.proxy.maxRequestBodyBytes',
    valid: [1, 3145728, 64 * 1024 * 1024],
    invalid: [
      [0, /must be an integer from 1 to 67108864 \(64 MiB\), got 0/],
      [64 * 1024 * 1024 + 1, /from 1 to 67108864 \(64 MiB\), got 67108865/],
      ['3Mi', /expected an integer, got a string \("3Mi"\)/],
      [Infinity, /expected an integer/],
    ],
  },
  {
    path: 'vcnet.proxy.impersonationCacheSeconds',
    valid: [0, 10, 300],
    invalid: [[-1, /must be an integer from 0 to 300, got -1/], [301, /from 0 to 300, got 301/], [1.5, /expected an integer/]],
  },
  {
    path: 'vcnet.certs.dir',
    valid: ['certs', '/var/lib/vcnet/certs', './state/certs'],
    invalid: [['', /must name a directory/], ['~/certs', /starts with ~/]],
  },
  {
    path: 'vcnet.certs.validityDays',
    valid: [31, 365, 3650],
    invalid: [[0, /must be an integer from 1 to 3650, got 0/], [3651, /from 1 to 3650, got 3651/], ['365', /expected an integer/]],
  },
  {
    path: 'vcnet.certs.renewBeforeDays',
    valid: [0, 30, 364],
    invalid: [[-1, /must be an integer at least 0, got -1/], [2.5, /expected an integer/]],
  },
  {
    path: 'vcnet.observability.bindAddress',
    valid: ['127.0.0.1', '0.0.0.0', '::1'],
    invalid: [['', /is not an IPv4 or IPv6 address/], ['*', /is not an IPv4 or IPv6 address/]],
  },
  {
    path: 'vcnet.observability.port',
    valid: [1, 8080, 65535],
    invalid: [[0, /from 1 to 65535/], [70000, /from 1 to 65535, got 70000/]],
  },
  {
    path: 'vcnet.logLevel',
    valid: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    invalid: [
      ['INFO', /"INFO" is not one of fatal, error, warn, info, debug, trace, silent; did you mean "info"\?/],
      ['verbose', /"verbose" is not one of fatal, error, warn, info, debug, trace, silent$/],
      [3, /expected a string, got a number/],
    ],
  },
];

t.test('every field in the schema has valid and invalid cases here', async (t) => {
  t.same(fieldCases.map((c) => c.path), configFields().map((f) => f.path));
});

for (const c of fieldCases) {
  t.test(c.path, async (t) => {
    for (const value of c.valid) {
      t.same(get(parseConfig(at(c.path, value)), c.path), value, `accepts ${JSON.stringify(value)}`);
    }
    for (const [value, message, errorPath = c.path] of c.invalid) {
      const found = problems(at(c.path, value));
      t.equal(found.length, 1, `refuses ${JSON.stringify(value)} with one error`);
      t.equal(found[0]?.[0], errorPath, 'naming the field');
      t.match(found[0]?.[1], message, 'saying why');
    }
  });
}

t.test('a section that is not a mapping is refused with the type it must be', async (t) => {
  const rows: Array<[unknown, string, RegExp]> = [
    [{ networking: 'none' }, 'networking', /^networking: expected a mapping of fields, got a string \("none"\)$/],
    [{ controlPlane: { proxy: [8443] } }, 'controlPlane.proxy', /expected a mapping of fields, got a list/],
    [{ vcnet: { certs: 5 } }, 'vcnet.certs', /expected a mapping of fields, got a number \(5\)/],
    [{ vcnet: { observability: true } }, 'vcnet.observability', /got a boolean \(true\)/],
    [{ vcnet: { certs: new Map() } }, 'vcnet.certs', /got a Map/],
  ];
  for (const [input, path, message] of rows) {
    const found = problems(input);
    t.equal(found.length, 1, path);
    t.equal(found[0]?.[0], path);
    t.match(found[0]?.[1], message);
  }
});

t.test('a top level that is not a mapping is refused', async (t) => {
  const rows: Array<[unknown, RegExp]> = [
    [[], /got a list/],
    [['networking'], /got a list/],
    ['networking: {}', /got a string/],
    [42, /got a number \(42\)/],
    [true, /got a boolean/],
  ];
  for (const [input, message] of rows) {
    const found = problems(input);
    t.equal(found.length, 1, JSON.stringify(input));
    t.equal(found[0]?.[0], '', 'names no field');
    t.match(found[0]?.[1], /^the configuration must be a mapping of fields \(such as "networking:"\), /);
    t.match(found[0]?.[1], message);
  }
});

t.test('unknown fields are refused at every level, naming the full path', async (t) => {
  const rows: Array<{ name: string; input: unknown; path: string; message: RegExp }> = [
    { name: 'suggests a top-level key with a typo', input: { netwrking: {} }, path: 'netwrking', message: /^netwrking: unknown field; did you mean "networking"\?$/ },
    { name: 'suggests the right case', input: at('networking.podCidr', '10.0.0.0/8'), path: 'networking.podCidr', message: /did you mean "podCIDR"\?/ },
    { name: 'suggests in a nested section', input: at('networking.advanced.clusterdomain', 'x'), path: 'networking.advanced.clusterdomain', message: /did you mean "clusterDomain"\?/ },
    { name: 'suggests extraSANs', input: at('controlPlane.proxy.extraSans', []), path: 'controlPlane.proxy.extraSans', message: /did you mean "extraSANs"\?/ },
    { name: 'suggests a one-letter typo', input: at('controlPlane.proxy.bindAdress', '::'), path: 'controlPlane.proxy.bindAdress', message: /did you mean "bindAddress"\?/ },
    { name: 'suggests the full name for a prefix', input: at('vcnet.certs.validity', 10), path: 'vcnet.certs.validity', message: /did you mean "validityDays"\?/ },
    { name: 'suggests clientCAFile', input: at('vcnet.proxy.clientCaFile', 'ca.crt'), path: 'vcnet.proxy.clientCaFile', message: /did you mean "clientCAFile"\?/ },
    { name: 'suggests kubeconfig for vCluster\'s kubeConfig spelling', input: at('vcnet.host.kubeConfig', 'x'), path: 'vcnet.host.kubeConfig', message: /did you mean "kubeconfig"\?/ },
    { name: 'points a vcnet field written at the top level to its section', input: { logLevel: 'debug' }, path: 'logLevel', message: /^logLevel: unknown field here; did you mean "vcnet\.logLevel"\?$/ },
    { name: 'lists every place a field of that name lives', input: { proxy: {} }, path: 'proxy', message: /did you mean "controlPlane\.proxy" or "vcnet\.proxy"\?/ },
    { name: 'points vCluster\'s deprecated top-level serviceCIDR to networking', input: { serviceCIDR: '10.96.0.0/12' }, path: 'serviceCIDR', message: /did you mean "networking\.serviceCIDR"\?/ },
    { name: 'lists the fields of a section when nothing is close', input: at('vcnet.zzz', 1), path: 'vcnet.zzz', message: /unknown field; the fields here are name, virtual, host, proxy, certs, observability, logLevel$/ },
    { name: 'says a vCluster field is not supported: resolveDNS', input: at('networking.resolveDNS', [{ hostname: 'a.com', target: { ip: '10.0.0.1' } }]), path: 'networking.resolveDNS', message: /^networking\.resolveDNS: unknown field: vCluster's "networking\.resolveDNS" is not supported by vcnet$/ },
    { name: 'says a vCluster field is not supported: replicateServices', input: at('networking.replicateServices', { toHost: [] }), path: 'networking.replicateServices', message: /vCluster's "networking\.replicateServices" is not supported/ },
    { name: 'says a vCluster field is not supported: sync.toHost.pods.enabled', input: at('sync.toHost.pods.enabled', true), path: 'sync', message: /vCluster's "sync" is not supported/ },
    { name: 'says a vCluster field is not supported: controlPlane.coredns', input: at('controlPlane.coredns.enabled', true), path: 'controlPlane.coredns', message: /not supported/ },
    { name: 'keeps an odd key readable in the path', input: at('networking.pod cidr', 'x'), path: 'networking["pod cidr"]', message: /^networking\["pod cidr"\]: unknown field/ },
  ];
  for (const r of rows) {
    const found = problems(r.input);
    t.equal(found.length, 1, `${r.name}: one error`);
    t.equal(found[0]?.[0], r.path, `${r.name}: path`);
    t.match(found[0]?.[1], r.message, `${r.name}: message`);
  }
});

t.test('reports every problem at once, one per line', async (t) => {
  const input = {
    networking: { podCIDR: 'banana', bogus: 1 },
    controlPlane: { proxy: { port: 0, extraSANs: ['ok.example', 'not ok', '*.*.x'] } },
    vcnet: { name: 'Bad', logLevel: 'loud' },
  };
  let error: unknown;
  try {
    parseConfig(input, { source: 'flags' });
  } catch (err) {
    error = err;
  }
  t.ok(error instanceof ConfigErrors, 'throws ConfigErrors');
  if (!(error instanceof ConfigErrors)) return;
  t.equal(error.code, 'VCN_ERR_CONFIG_INVALID');
  t.same(error.errors.map((e) => e.path), [
    'networking.bogus', 'networking.podCIDR', 'controlPlane.proxy.port', 'controlPlane.proxy.extraSANs[1]',
    'controlPlane.proxy.extraSANs[2]', 'vcnet.name', 'vcnet.logLevel',
  ]);
  const lines = error.message.split('\n');
  t.equal(lines[0], 'invalid vcnet configuration in flags (7 problems):');
  t.equal(lines.length, 8);
  t.equal(lines[4], '  controlPlane.proxy.extraSANs[1]: "not ok" is not a DNS name or IP address');
  for (const e of error.errors) {
    t.ok(e instanceof ConfigError, `${e.path} is a ConfigError`);
    t.equal(e.code, 'VCN_ERR_CONFIG_INVALID');
    t.equal(e.message, `${e.path}: ${e.detail}`);
  }
});

t.test('renewBeforeDays must be less than validityDays', async (t) => {
  const rows: Array<{ name: string; certs: Record<string, unknown>; errors: Array<[string, RegExp]> }> = [
    { name: 'accepts renewal a day before expiry', certs: { validityDays: 365, renewBeforeDays: 364 }, errors: [] },
    { name: 'accepts renewing only on expiry', certs: { validityDays: 1, renewBeforeDays: 0 }, errors: [] },
    {
      name: 'refuses a renewal window as long as the validity',
      certs: { validityDays: 30, renewBeforeDays: 30 },
      errors: [['vcnet.certs.renewBeforeDays', /^vcnet\.certs\.renewBeforeDays: 30 must be less than vcnet\.certs\.validityDays \(30\), or every certificate would be due for renewal as soon as it is issued$/]],
    },
    {
      name: 'refuses a default renewal window longer than a short validity',
      certs: { validityDays: 7 },
      errors: [['vcnet.certs.renewBeforeDays', /30 must be less than vcnet\.certs\.validityDays \(7\)/]],
    },
    {
      name: 'does not pile a conflict on top of an invalid validityDays',
      certs: { validityDays: 0, renewBeforeDays: 30 },
      errors: [['vcnet.certs.validityDays', /from 1 to 3650/]],
    },
    {
      name: 'does not check the conflict when the certs section is not a mapping',
      certs: { validityDays: 'x' },
      errors: [['vcnet.certs.validityDays', /expected an integer/]],
    },
  ];
  for (const r of rows) {
    const found = problems({ vcnet: { certs: r.certs } });
    t.equal(found.length, r.errors.length, `${r.name}: error count`);
    r.errors.forEach(([path, message], i) => {
      t.equal(found[i]?.[0], path, `${r.name}: path`);
      t.match(found[i]?.[1], message, `${r.name}: message`);
    });
  }
});

t.test('two listeners may not share an address and port', async (t) => {
  const rows: Array<{ name: string; proxy: Record<string, unknown>; observability: Record<string, unknown>; clash: boolean }> = [
    { name: 'the same port on 0.0.0.0 and 127.0.0.1', proxy: { bindAddress: '0.0.0.0', port: 9000 }, observability: { bindAddress: '127.0.0.1', port: 9000 }, clash: true },
    { name: 'the same port on :: and 127.0.0.1', proxy: { bindAddress: '::', port: 9000 }, observability: { port: 9000 }, clash: true },
    { name: 'the same address and port', proxy: { bindAddress: '10.0.0.1', port: 9000 }, observability: { bindAddress: '10.0.0.1', port: 9000 }, clash: true },
    { name: 'the same port on two loopback addresses', proxy: { bindAddress: '127.0.0.2', port: 9000 }, observability: { port: 9000 }, clash: false },
    { name: 'the same port on ::1 and 127.0.0.1', proxy: { bindAddress: '::1', port: 9000 }, observability: { port: 9000 }, clash: false },
    { name: 'different ports on 0.0.0.0', proxy: { bindAddress: '0.0.0.0', port: 9000 }, observability: { bindAddress: '0.0.0.0', port: 9001 }, clash: false },
  ];
  for (const r of rows) {
    const found = problems({ controlPlane: { proxy: r.proxy }, vcnet: { observability: r.observability } });
    if (r.clash) {
      t.equal(found.length, 1, r.name);
      t.equal(found[0]?.[0], 'vcnet.observability.port', `${r.name}: blames the later listener`);
      t.match(found[0]?.[1], /^vcnet\.observability\.port: 9000 on .* collides with controlPlane\.proxy \(.* port 9000\); give one of them another port$/, r.name);
    } else {
      t.same(found, [], r.name);
    }
  }
});

t.test('the configuration returned cannot be changed by accident', async (t) => {
  const config = parseConfig({ controlPlane: { proxy: { extraSANs: ['a.example'] } } });
  t.equal(Reflect.set(config.vcnet, 'name', 'other'), false, 'a field');
  t.equal(Reflect.set(config, 'vcnet', {}), false, 'a section');
  t.throws(() => (config.controlPlane.proxy.extraSANs as string[]).push('b.example'), TypeError, 'a list');
  t.equal(config.vcnet.name, 'vcluster');
});

t.test('input objects are not kept or changed', async (t) => {
  const sans = ['a.example'];
  const input = { controlPlane: { proxy: { extraSANs: sans } } };
  const config = parseConfig(input);
  sans.push('b.example');
  t.same(config.controlPlane.proxy.extraSANs, ['a.example']);
  t.notOk(Object.isFrozen(sans));
});

t.test('relative file paths are resolved against baseDir when one is given', async (t) => {
  const input = {
    vcnet: {
      virtual: { kubeconfig: 'virtual.kubeconfig' },
      host: { kubeconfig: '/abs/host.kubeconfig' },
      proxy: { clientCAFile: '../pki/ca.crt' },
      certs: { dir: './state/certs' },
    },
  };
  const config = parseConfig(input, { baseDir: '/etc/vcnet' });
  t.equal(config.vcnet.virtual.kubeconfig, '/etc/vcnet/virtual.kubeconfig');
  t.equal(config.vcnet.host.kubeconfig, '/abs/host.kubeconfig');
  t.equal(config.vcnet.proxy.clientCAFile, '/etc/pki/ca.crt');
  t.equal(config.vcnet.certs.dir, '/etc/vcnet/state/certs');
  t.equal(parseConfig(input).vcnet.virtual.kubeconfig, 'virtual.kubeconfig', 'left alone without baseDir');
});

t.test('mergeConfig', async (t) => {
  const base = parseConfig({ controlPlane: { proxy: { port: 9443, extraSANs: ['a.example', 'b.example'] } }, vcnet: { name: 'vc1' } });

  t.test('lays overrides over the base and keeps the rest', async (t) => {
    const merged = mergeConfig(base, { controlPlane: { proxy: { bindAddress: '127.0.0.1' } }, vcnet: { logLevel: 'debug' } });
    t.equal(merged.controlPlane.proxy.bindAddress, '127.0.0.1');
    t.equal(merged.controlPlane.proxy.port, 9443);
    t.equal(merged.vcnet.logLevel, 'debug');
    t.equal(merged.vcnet.name, 'vc1');
    t.equal(base.controlPlane.proxy.bindAddress, '0.0.0.0', 'the base is unchanged');
  });

  t.test('leaves a field alone when its override is undefined', async (t) => {
    const merged = mergeConfig(base, { controlPlane: { proxy: { port: undefined } }, vcnet: { name: undefined } });
    t.equal(merged.controlPlane.proxy.port, 9443);
    t.equal(merged.vcnet.name, 'vc1');
  });

  t.test('replaces lists rather than appending to them', async (t) => {
    const merged = mergeConfig(base, { controlPlane: { proxy: { extraSANs: ['c.example'] } } });
    t.same(merged.controlPlane.proxy.extraSANs, ['c.example']);
  });

  t.test('puts a field back to its default with null', async (t) => {
    const merged = mergeConfig(base, { controlPlane: { proxy: { port: null as unknown as number } } });
    t.equal(merged.controlPlane.proxy.port, 8443);
  });

  t.test('re-validates the override', async (t) => {
    t.throws(() => mergeConfig(base, { controlPlane: { proxy: { port: 70000 } } }, { source: 'command-line flags' }), {
      name: 'ConfigErrors',
      message: /^invalid vcnet configuration in command-line flags \(1 problem\):\n {2}controlPlane\.proxy\.port: must be an integer from 1 to 65535, got 70000$/,
    });
  });

  t.test('re-validates the combination with the base', async (t) => {
    const longRenewal = parseConfig({ vcnet: { certs: { validityDays: 365, renewBeforeDays: 60 } } });
    t.throws(() => mergeConfig(longRenewal, { vcnet: { certs: { validityDays: 30 } } }), {
      errors: [{ path: 'vcnet.certs.renewBeforeDays', message: /60 must be less than vcnet\.certs\.validityDays \(30\)/ }],
    });
    t.throws(() => mergeConfig(base, { vcnet: { observability: { bindAddress: '0.0.0.0', port: 9443 } } }), {
      errors: [{ path: 'vcnet.observability.port', message: /collides with controlPlane\.proxy/ }],
    });
  });

  t.test('refuses an unknown override key', async (t) => {
    t.throws(() => mergeConfig(base, { vcnet: { nme: 'x' } } as never), {
      errors: [{ path: 'vcnet.nme', message: /did you mean "name"\?/ }],
    });
  });

  t.test('refuses a __proto__ key instead of following it', async (t) => {
    const overrides = JSON.parse('{"vcnet": {"__proto__": {"polluted": true}}}') as never;
    t.throws(() => mergeConfig(base, overrides), { errors: [{ path: 'vcnet.__proto__' }] });
    t.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });
});
