// The upstream API server and vcnet's own credentials for it, read from a kubeconfig.
// Two connection pools: one presents vcnet's identity (used when vcnet impersonates a caller it
// authenticated by client certificate), the other presents nothing (a caller's bearer token is
// forwarded as-is, so the API server sees exactly the caller).
import { readFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import net from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface Upstream {
  readonly url: URL;
  readonly host: string;
  readonly port: number;
  /** Value for the Host header. */
  readonly authority: string;
  readonly ca: string | undefined;
  readonly rejectUnauthorized: boolean;
  /** vcnet's own identity upstream: a client certificate and/or a bearer token. */
  readonly clientCert: string | undefined;
  readonly clientKey: string | undefined;
  readonly token: string | undefined;
  readonly kubeConfig: KubeConfig;
  readonly identityAgent: https.Agent;
  readonly passthroughAgent: https.Agent;
}

export function upstreamFromKubeconfig(path: string): Upstream {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return upstreamFromKubeConfig(kc);
}

export function upstreamFromKubeConfig(kc: KubeConfig): Upstream {
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (cluster === null) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server);
  if (url.protocol !== 'https:') throw new Error(`upstream ${cluster.server} must be https`);
  const ca = pem(cluster.caData, cluster.caFile);
  const clientCert = pem(user?.certData, user?.certFile);
  const clientKey = pem(user?.keyData, user?.keyFile);
  const token = user?.token === undefined || user.token === "" ? undefined : user.token;
  if (clientCert === undefined && token === undefined) {
    throw new Error('kubeconfig user has neither a client certificate nor a token: vcnet needs an identity of its own upstream');
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port === '' ? 443 : Number(url.port);
  const common: https.AgentOptions = {
    keepAlive: true,
    maxSockets: Infinity,
    maxFreeSockets: 512,
    scheduling: 'lifo',
    ca,
    rejectUnauthorized: cluster.skipTLSVerify !== true,
    ...(net.isIP(host) === 0 ? { servername: cluster.tlsServerName ?? host } : {}),
    ALPNProtocols: ['http/1.1'],
  };
  return {
    url, host, port, authority: url.host, ca,
    rejectUnauthorized: cluster.skipTLSVerify !== true,
    clientCert, clientKey, token, kubeConfig: kc,
    identityAgent: new https.Agent({ ...common, cert: clientCert, key: clientKey }),
    passthroughAgent: new https.Agent(common),
  };
}

/** Opens a raw TLS connection upstream, for upgraded requests (exec, attach, port-forward). */
export function dialUpstream(u: Upstream, withIdentity: boolean): tls.TLSSocket {
  return tls.connect({
    host: u.host,
    port: u.port,
    ca: u.ca,
    rejectUnauthorized: u.rejectUnauthorized,
    ...(net.isIP(u.host) === 0 ? { servername: u.host } : {}),
    ALPNProtocols: ['http/1.1'],
    ...(withIdentity && u.clientCert !== undefined ? { cert: u.clientCert, key: u.clientKey } : {}),
  });
}

export function closeUpstream(u: Upstream): void {
  u.identityAgent.destroy();
  u.passthroughAgent.destroy();
}

function pem(data: string | undefined, file: string | undefined): string | undefined {
  if (data !== undefined && data !== '') return Buffer.from(data, 'base64').toString('utf8');
  if (file !== undefined && file !== '') return readFileSync(file, 'utf8');
  return undefined;
}

/** Readiness of the upstream: undefined when its /readyz answers 200 to vcnet's identity, else why not. */
export function probeUpstream(u: Upstream, timeoutMs = 2000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { Accept: 'text/plain' };
    if (u.token !== undefined) headers['Authorization'] = `Bearer ${u.token}`;
    const req = https.get({ agent: u.identityAgent, host: u.host, port: u.port, path: '/readyz', headers, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? undefined : `upstream ${u.url.origin}/readyz answered ${res.statusCode}`);
    });
    req.on('timeout', () => req.destroy(new Error(`upstream ${u.url.origin} did not answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve(err.message));
  });
}
