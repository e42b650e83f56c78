// The certificates must work in a real TLS handshake, the way kube-apiserver and kubectl will use them:
// server certs verified against the CA by IP or name, client certs verified by a requestCert server.
import t from 'tap';
import { certInfo, createCA, issueCert, renewCA } from '../../../src/certs/index.ts';
import type { CertSpec, KeyPair } from '../../../src/certs/index.ts';
import { connect, hasIPv6Loopback, listen } from './fixtures/loopback.ts';

const ca = await createCA('vcnet-test-ca');
const otherCA = await createCA('someone-else-ca');
const trust = { ca, otherCA, renewedCA: renewCA(ca) };

const servingSpec: CertSpec = {
  commonName: 'vcnet',
  dnsNames: ['localhost', '*.example.com'],
  ipAddresses: ['127.0.0.1', '::1'],
  usages: ['server'],
};
const serving = await issueCert(ca, servingSpec);
const ipv6 = await hasIPv6Loopback();

const serverCases: Array<{
  name: string;
  host: string;
  servername?: string;
  trust: keyof typeof trust;
  cert?: KeyPair;
  error?: string;
}> = [
  { name: 'accepts the IPv4 SAN when connecting to 127.0.0.1', host: '127.0.0.1', trust: 'ca' },
  { name: 'accepts the IPv6 SAN when connecting to ::1', host: '::1', trust: 'ca' },
  { name: 'accepts the DNS SAN sent as SNI', host: '127.0.0.1', servername: 'localhost', trust: 'ca' },
  { name: 'accepts a name under the wildcard SAN', host: '127.0.0.1', servername: 'api.example.com', trust: 'ca' },
  { name: 'still trusts a cert issued before its CA was renewed with the same key', host: '127.0.0.1', trust: 'renewedCA' },
  { name: 'rejects a host name the cert does not name', host: '127.0.0.1', servername: 'other.example', trust: 'ca', error: 'ERR_TLS_CERT_ALTNAME_INVALID' },
  { name: 'rejects a name two labels under the wildcard', host: '127.0.0.1', servername: 'a.b.example.com', trust: 'ca', error: 'ERR_TLS_CERT_ALTNAME_INVALID' },
  { name: 'rejects a cert signed by a CA the client does not trust', host: '127.0.0.1', trust: 'otherCA', error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
  {
    name: 'rejects an IP the cert does not name',
    host: '127.0.0.1',
    trust: 'ca',
    cert: await issueCert(ca, { commonName: 'v6-only', ipAddresses: ['::1'], usages: ['server'] }),
    error: 'ERR_TLS_CERT_ALTNAME_INVALID',
  },
  {
    name: 'rejects a client-only cert used to serve',
    host: '127.0.0.1',
    trust: 'ca',
    cert: await issueCert(ca, { commonName: 'client-only', ipAddresses: ['127.0.0.1'], usages: ['client'] }),
    error: 'INVALID_PURPOSE',
  },
];

for (const c of serverCases) {
  t.test(c.name, { skip: c.host === '::1' && !ipv6 ? 'no IPv6 loopback on this machine' : false }, async (t) => {
    const pair = c.cert ?? serving;
    const { port } = await listen(t, c.host, { key: pair.keyPem, cert: pair.certPem });
    const outcome = await connect(t, {
      host: c.host,
      port,
      ca: trust[c.trust].certPem,
      ...(c.servername ? { servername: c.servername } : {}),
    });
    if (c.error) {
      t.equal(outcome.error?.code, c.error);
      t.equal(outcome.greeting, undefined);
    } else {
      t.equal(outcome.error, undefined);
      t.equal(outcome.greeting, 'hello - ');
      t.equal(outcome.socket?.getPeerCertificate().serialNumber, certInfo(pair.certPem).serial);
    }
  });
}

const clientCases: Array<{ name: string; client?: () => Promise<KeyPair>; greeting?: string }> = [
  {
    name: 'reads back the user (CN) and groups (O) of a client cert',
    client: () => issueCert(ca, { commonName: 'jane_doe@example.com', organizations: ['dev', 'ops'], usages: ['client'] }),
    greeting: 'hello jane_doe@example.com dev,ops',
  },
  {
    name: 'reads back the admin identity O=system:masters',
    client: () => issueCert(ca, { commonName: 'admin', organizations: ['system:masters'], usages: ['client'] }),
    greeting: 'hello admin system:masters',
  },
  {
    name: 'rejects a client cert signed by another CA',
    client: () => issueCert(otherCA, { commonName: 'mallory', organizations: ['system:masters'], usages: ['client'] }),
  },
  {
    name: 'rejects a server-only cert presented as a client cert',
    client: () => issueCert(ca, { commonName: 'server-only', usages: ['server'] }),
  },
  { name: 'rejects a client that presents no cert' },
];

for (const c of clientCases) {
  for (const host of ['127.0.0.1', '::1']) {
    t.test(`${c.name} (${host})`, { skip: host === '::1' && !ipv6 ? 'no IPv6 loopback on this machine' : false }, async (t) => {
      const listening = await listen(t, host, {
        key: serving.keyPem,
        cert: serving.certPem,
        ca: ca.certPem,
        requestCert: true,
        rejectUnauthorized: true,
      });
      const client = c.client ? await c.client() : undefined;
      const outcome = await connect(t, {
        host,
        port: listening.port,
        ca: ca.certPem,
        ...(client ? { key: client.keyPem, cert: client.certPem } : {}),
      });
      if (c.greeting) {
        t.equal(outcome.error, undefined);
        t.equal(outcome.greeting, c.greeting);
        t.same(listening.clientErrors, []);
      } else {
        // Node verifies the client chain after the TLS 1.3 handshake and destroys the socket (no alert),
        // so the client sees a close, and the server a tlsClientError instead of 'secureConnection'.
        t.equal(outcome.greeting, undefined, 'the server never spoke to the client');
        t.ok(outcome.error, 'the client saw the connection fail');
        t.equal(listening.clientErrors.length, 1, 'the server rejected the handshake');
      }
    });
  }
}
