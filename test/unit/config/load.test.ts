import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConfigErrors, defaultConfig, loadConfigFile, loadConfigText } from '../../../src/config/index.ts';

/** [location + message] lines of the ConfigErrors thrown, or [] if the text loads. */
function report(text: string, source?: string): string[] {
  try {
    loadConfigText(text, { source });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigErrors)) throw err;
    return err.errors.map((e) => `${e.location}${e.message}`);
  }
}

t.test('a file with nothing in it gives the defaults', async (t) => {
  for (const text of ['', '\n', '# just a comment\n', '---\n', '---\n...\n', '\uFEFF']) {
    t.same(loadConfigText(text), defaultConfig(), JSON.stringify(text));
  }
});

t.test('reads a vcluster.yaml-style file', async (t) => {
  const config = loadConfigText([
    'networking:',
    '  serviceCIDR: 10.96.0.0/12,fd00:10:96::/108   # dual-stack, unquoted',
    '  podCIDR: fd00:10:244::/56',
    '  advanced:',
    '    clusterDomain: corp.internal',
    'controlPlane:',
    '  proxy:',
    '    bindAddress: "::"',
    '    port: 6443',
    '    extraSANs:',
    '      - vcnet.example.com',
    '      - "*.vcnet.example.com"',
    '      - 10.0.0.10',
    '      - fd00::10',
    'vcnet:',
    '  name: team-a',
    '  logLevel: debug',
  ].join('\n'));
  t.equal(config.networking.serviceCIDR, '10.96.0.0/12,fd00:10:96::/108');
  t.equal(config.networking.podCIDR, 'fd00:10:244::/56');
  t.equal(config.networking.advanced.clusterDomain, 'corp.internal');
  t.equal(config.controlPlane.proxy.bindAddress, '::');
  t.equal(config.controlPlane.proxy.port, 6443);
  t.same(config.controlPlane.proxy.extraSANs, ['vcnet.example.com', '*.vcnet.example.com', '10.0.0.10', 'fd00::10']);
  t.equal(config.vcnet.name, 'team-a');
  t.equal(config.vcnet.logLevel, 'debug');
  t.equal(config.vcnet.certs.validityDays, 365, 'unset fields keep their defaults');
});

t.test('YAML syntax errors are reported with line and column', async (t) => {
  const rows: Array<{ name: string; text: string; errors: RegExp[] }> = [
    {
      name: 'a duplicate key',
      text: 'vcnet:\n  name: a\n  name: b\n',
      errors: [/^vcnet\.yaml:3:3: YAML syntax error: Map keys must be unique$/],
    },
    {
      name: 'an unclosed flow sequence',
      text: 'controlPlane:\n  proxy:\n    extraSANs: [a.example, b.example\n',
      errors: [/^vcnet\.yaml:4:1: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a \]$/],
    },
    {
      name: 'a tab used for indentation',
      text: 'vcnet:\n\tname: a\n',
      errors: [/^vcnet\.yaml:2:1: YAML syntax error: Tabs are not allowed as indentation$/],
    },
    {
      name: 'two documents in one file',
      text: 'vcnet:\n  name: a\n---\nvcnet:\n  name: b\n',
      errors: [/^vcnet\.yaml:3:1: YAML syntax error: Source contains multiple documents/],
    },
    {
      name: 'an unquoted IPv6 address ending in a colon, with the fix',
      text: 'controlPlane:\n  proxy:\n    bindAddress: ::   # every address\n',
      errors: [/^vcnet\.yaml:3:18: YAML syntax error: Nested mappings are not allowed in compact mappings; a value ending in ':' must be quoted, as in "::"$/],
    },
    {
      name: 'an unknown tag, which would silently become a string',
      text: 'vcnet:\n  name: !secret vc\n',
      errors: [/^vcnet\.yaml:2:9: YAML warning: Unresolved tag: !secret$/],
    },
  ];
  for (const r of rows) {
    const found = report(r.text, 'vcnet.yaml');
    t.equal(found.length, r.errors.length, `${r.name}: ${JSON.stringify(found)}`);
    r.errors.forEach((re, i) => t.match(found[i], re, r.name));
  }
});

t.test('the whole message names the file and lists each problem', async (t) => {
  t.throws(() => loadConfigText('vcnet:\n  name: a\n  name: b\n', { source: '/etc/vcnet/vcnet.yaml' }), {
    name: 'ConfigErrors',
    code: 'VCN_ERR_CONFIG_INVALID',
    message: 'invalid vcnet configuration in /etc/vcnet/vcnet.yaml (1 problem):\n  /etc/vcnet/vcnet.yaml:3:3: YAML syntax error: Map keys must be unique',
  });
  t.throws(() => loadConfigText('vcnet:\n  name: a\n  name: b\n'), {
    message: 'invalid vcnet configuration (1 problem):\n  line 3, column 3: YAML syntax error: Map keys must be unique',
  }, 'without a source, the position alone');
});

t.test('schema errors point at the value, unknown fields at the key, in file order', async (t) => {
  const text = [
    'vcnet:',                                  // 1
    '  certs:',                                // 2
    '    validityDays: 10',                    // 3
    '    renewBeforeDays: 20',                 // 4
    '  logLevl: debug',                        // 5
    'controlPlane:',                           // 6
    '  proxy:',                                // 7
    '    port: 70000',                         // 8
    '    extraSANs: [a.example, "exa mple"]',  // 9
    'networking:',                             // 10
    '  replicateServices: {}',                 // 11
    '  podCIDR: 10.244.1.0/16',                // 12
  ].join('\n');
  t.same(report(text, 'vcnet.yaml'), [
    'vcnet.yaml:4:22: vcnet.certs.renewBeforeDays: 20 must be less than vcnet.certs.validityDays (10), or every certificate would be due for renewal as soon as it is issued',
    'vcnet.yaml:5:3: vcnet.logLevl: unknown field; did you mean "logLevel"?',
    'vcnet.yaml:8:11: controlPlane.proxy.port: must be an integer from 1 to 65535, got 70000',
    'vcnet.yaml:9:28: controlPlane.proxy.extraSANs[1]: "exa mple" is not a DNS name or IP address',
    'vcnet.yaml:11:3: networking.replicateServices: unknown field: vCluster\'s "networking.replicateServices" is not supported by vcnet',
    'vcnet.yaml:12:12: networking.podCIDR: "10.244.1.0/16" is not a valid CIDR: it has bits set after the prefix; the network is 10.244.0.0/16',
  ]);
});

t.test('a conflict with a default points at the part of the file that exists', async (t) => {
  t.same(report('vcnet:\n  certs:\n    validityDays: 7\n', 'x.yaml'), [
    'x.yaml:2:3: vcnet.certs.renewBeforeDays: 30 must be less than vcnet.certs.validityDays (7), or every certificate would be due for renewal as soon as it is issued',
  ]);
});

t.test('a top level that is not a mapping is refused', async (t) => {
  const rows: Array<[string, RegExp]> = [
    ['- networking\n- vcnet\n', /^x\.yaml:1:1: the configuration must be a mapping of fields \(such as "networking:"\), got a list$/],
    ['networking\n', /got a string \("networking"\)$/],
    ['8443\n', /got a number \(8443\)$/],
    ['true\n', /got a boolean \(true\)$/],
  ];
  for (const [text, message] of rows) {
    const found = report(text, 'x.yaml');
    t.equal(found.length, 1, JSON.stringify(text));
    t.match(found[0], message);
  }
});

t.test('YAML 1.1 reads as kubectl and Helm read it', async (t) => {
  t.test('unquoted yes/no/on/off are booleans, and the error says to quote them', async (t) => {
    for (const word of ['no', 'off', 'y', 'Yes']) {
      t.match(report(`vcnet:\n  name: ${word}\n`), [/^line 2, column 9: vcnet\.name: expected a string, got a boolean \((true|false)\); put the value in quotes to keep it as text$/], word);
      t.equal(loadConfigText(`vcnet:\n  name: "${word.toLowerCase()}"\n`).vcnet.name, word.toLowerCase(), `"${word}" quoted`);
    }
  });
  t.test('a leading zero makes an octal number', async (t) => {
    t.match(report('vcnet:\n  host:\n    namespace: 0755\n'), [/vcnet\.host\.namespace: expected a string, got a number \(493\); put the value in quotes/]);
  });
  t.test('like go-yaml v2, a date stays a string', async (t) => {
    t.match(report('vcnet:\n  name: 2024-01-01\n'), [/vcnet\.name: "2024-01-01" is not a valid DNS-1035 label/]);
    t.equal(loadConfigText('vcnet:\n  host:\n    kubeconfig: 2024-01-01\n').vcnet.host.kubeconfig, '2024-01-01');
  });
  t.test('like go-yaml v2, colon-separated digits are not base-60 numbers', async (t) => {
    t.equal(loadConfigText('controlPlane:\n  proxy:\n    bindAddress: 1:2:3:4:5:6:7:8\n').controlPlane.proxy.bindAddress, '1:2:3:4:5:6:7:8');
    t.match(report('controlPlane:\n  proxy:\n    port: 1:30\n'), [/controlPlane\.proxy\.port: expected an integer, got a string \("1:30"\)/]);
  });
  t.test('hexadecimal and exponent integers are integers', async (t) => {
    t.equal(loadConfigText('controlPlane:\n  proxy:\n    port: 0x20FB\n').controlPlane.proxy.port, 8443);
    t.equal(loadConfigText('vcnet:\n  proxy:\n    maxRequestBodyBytes: 1e6\n').vcnet.proxy.maxRequestBodyBytes, 1000000);
  });
  t.test('merge keys work', async (t) => {
    const config = loadConfigText([
      'vcnet:',
      '  observability: &listen',
      '    bindAddress: 0.0.0.0',
      '    port: 9090',
      'controlPlane:',
      '  proxy:',
      '    <<: *listen',
      '    port: 6443',
    ].join('\n'));
    t.equal(config.controlPlane.proxy.bindAddress, '0.0.0.0');
    t.equal(config.controlPlane.proxy.port, 6443);
  });
});

t.test('alias expansion bombs are refused, not expanded', async (t) => {
  const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i < 8; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`);
  }
  t.match(report(levels.join('\n'), 'bomb.yaml'), [/^YAML error: Excessive alias count/]);
});

t.test('loadConfigFile', async (t) => {
  const dir = t.testdir({
    etc: {
      'vcnet.yaml': [
        'vcnet:',
        '  virtual:',
        '    kubeconfig: kube/virtual.kubeconfig',
        '  host:',
        '    kubeconfig: /abs/host.kubeconfig',
        '  proxy:',
        '    clientCAFile: ../pki/client-ca.crt',
        '  certs:',
        '    dir: ./state/certs',
      ].join('\n'),
      'defaults.yaml': 'vcnet:\n  name: vc\n',
      'bad.yaml': 'controlPlane:\n  proxy:\n    port: 0\n',
    },
  });

  t.test('resolves relative paths in the file against the file\'s directory', async (t) => {
    const config = loadConfigFile(join(dir, 'etc', 'vcnet.yaml'));
    t.equal(config.vcnet.virtual.kubeconfig, join(dir, 'etc', 'kube', 'virtual.kubeconfig'));
    t.equal(config.vcnet.host.kubeconfig, '/abs/host.kubeconfig', 'absolute paths are kept');
    t.equal(config.vcnet.proxy.clientCAFile, join(dir, 'pki', 'client-ca.crt'));
    t.equal(config.vcnet.certs.dir, join(dir, 'etc', 'state', 'certs'));
  });

  t.test('does the same when the file itself is named by a relative path', async (t) => {
    const config = loadConfigFile(relative(process.cwd(), join(dir, 'etc', 'vcnet.yaml')));
    t.equal(config.vcnet.virtual.kubeconfig, join(dir, 'etc', 'kube', 'virtual.kubeconfig'));
  });

  t.test('leaves defaults and empty paths as they are', async (t) => {
    const config = loadConfigFile(join(dir, 'etc', 'defaults.yaml'));
    t.equal(config.vcnet.certs.dir, 'certs');
    t.equal(config.vcnet.virtual.kubeconfig, '');
  });

  t.test('names the file in its errors', async (t) => {
    const file = join(dir, 'etc', 'bad.yaml');
    t.throws(() => loadConfigFile(file), {
      message: `invalid vcnet configuration in ${file} (1 problem):\n  ${file}:3:11: controlPlane.proxy.port: must be an integer from 1 to 65535, got 0`,
    });
  });

  t.test('says when the file cannot be read', async (t) => {
    const missing = join(dir, 'etc', 'missing.yaml');
    t.throws(() => loadConfigFile(missing), {
      name: 'ConfigErrors',
      message: `invalid vcnet configuration in ${missing} (1 problem):\n  cannot read the config file: no such file`,
    });
    t.throws(() => loadConfigFile(join(dir, 'etc')), { message: /cannot read the config file: it is a directory/ });
  });

  t.test('reads a file in a directory made at run time', async (t) => {
    const sub = join(dir, 'made');
    mkdirSync(sub);
    writeFileSync(join(sub, 'vcnet.yaml'), 'vcnet:\n  virtual:\n    kubeconfig: v.kubeconfig\n');
    t.equal(loadConfigFile(join(sub, 'vcnet.yaml')).vcnet.virtual.kubeconfig, join(sub, 'v.kubeconfig'));
  });
});

t.test('reads the sync section of a vcluster.yaml', async (t) => {
  const config = loadConfigText([
    'sync:',
    '  toHost:',
    '    pods:',
    '      enabled: yes                      # YAML 1.1: a boolean',
    '      rewriteHosts:',
    '        enabled: off',
    '        initContainer:',
    '          image:',
    '            registry: ""',
    '            repository: library/busybox',
    '            tag: "1.36"',
    '          resources:',
    '            limits: {cpu: 100m, memory: 128Mi}',
    '      translateImage:',
    '        "nginx:1.25": registry.example.com/nginx:1.25',
    '      enforceTolerations: ["dedicated=vcluster:NoSchedule", "*"]',
    '  fromHost:',
    '    nodes:',
    '      enabled: true',
    '      selector:',
    '        labels:',
    '          pool: vcluster',
    '          version: "1.0"',
    'controlPlane:',
    '  advanced:',
    '    workloadServiceAccount:',
    '      name: workloads',
  ].join('\n'));
  const pods = config.sync.toHost.pods;
  t.equal(pods.enabled, true);
  t.equal(pods.rewriteHosts.enabled, false);
  t.same(pods.rewriteHosts.initContainer.image, { registry: '', repository: 'library/busybox', tag: '1.36' });
  t.same(pods.rewriteHosts.initContainer.resources, { limits: { cpu: '100m', memory: '128Mi' }, requests: { cpu: '30m', memory: '64Mi' } });
  t.same(pods.translateImage, { 'nginx:1.25': 'registry.example.com/nginx:1.25' });
  t.same(pods.enforceTolerations, ['dedicated=vcluster:NoSchedule', '*']);
  t.same(config.sync.fromHost.nodes.selector.labels, { pool: 'vcluster', version: '1.0' });
  t.equal(config.controlPlane.advanced.workloadServiceAccount.name, 'workloads');
});

t.test('sync errors point at the entry: a map key, a map value, a list item', async (t) => {
  const text = [
    'sync:',                                                       // 1
    '  toHost:',                                                   // 2
    '    pods:',                                                   // 3
    '      enabled: "true"',                                       // 4
    '      enforceTolerations:',                                   // 5
    '        - a=b:NoSchedule',                                    // 6
    '        - a=b:Never',                                         // 7
    '      rewriteHosts:',                                         // 8
    '        initContainer:',                                      // 9
    '          image: alpine:3.20',                                // 10
    '  fromHost:',                                                 // 11
    '    nodes:',                                                  // 12
    '      syncBackChanges: false',                                // 13
    '      selector:',                                             // 14
    '        labels:',                                             // 15
    '          "bad key": x',                                      // 16
    '          pool: 1.0',                                         // 17
  ].join('\n');
  t.same(report(text, 'v.yaml'), [
    'v.yaml:4:16: sync.toHost.pods.enabled: expected a boolean (true or false), got a string ("true"); write it without quotes',
    'v.yaml:7:11: sync.toHost.pods.enforceTolerations[1]: "a=b:Never" is not a toleration (effect must be NoSchedule, PreferNoSchedule or NoExecute, not "Never"); expected key=value:Effect, key:Effect, key=value, key or *',
    'v.yaml:10:18: sync.toHost.pods.rewriteHosts.initContainer.image: expected a mapping of fields, got a string ("alpine:3.20")',
    'v.yaml:13:7: sync.fromHost.nodes.syncBackChanges: unknown field: vCluster\'s "sync.fromHost.nodes.syncBackChanges" is not supported by vcnet',
    'v.yaml:16:11: sync.fromHost.nodes.selector.labels["bad key"]: "bad key" is not a valid label key: an optional DNS-1123 subdomain prefix and \'/\', then at most 63 characters of letters, digits, \'-\', \'_\' and \'.\', starting and ending with a letter or digit',
    'v.yaml:17:17: sync.fromHost.nodes.selector.labels.pool: expected a string, got a number (1); put the value in quotes to keep it as text',
  ]);
});
