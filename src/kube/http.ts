// A small HTTP transport for what the generated clients cannot do well: long watches and raw LISTs.
// @kubernetes/client-node's `Watch` aborts a watch after 30 s without bytes (a private, fixed
// `requestTimeoutMs`) and reports a refused watch as a bare `statusCode` without the Status body;
// a quiet watch is normal, and the Status (410 Expired, 403 Forbidden) is what decides the next
// step. So this speaks node:https directly, with the KubeConfig's credentials
// (applyToHTTPSOptions), no client-side timeout, and an Agent of its own that the owner destroys.
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { fromHttpAnswer, isConflict, isNotFound, KubeApiError, toApiStatus } from './errors.ts';

export type Query = Record<string, string | number | boolean | undefined>;

export class KubeTransport {
  readonly server: URL;
  readonly #kc: KubeConfig;
  readonly #agent: http.Agent;
  readonly #open = new Set<http.ClientRequest>();
  #closed = false;

  constructor(kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (cluster === null) throw new Error(`the kubeconfig has no cluster for its current context "${kc.getCurrentContext()}"`);
    this.#kc = kc;
    this.server = new URL(cluster.server);
    // keepAlive also turns on TCP keep-alive probes: the only thing that notices a peer that vanished
    // without a FIN or RST while a watch is quiet, since a watch must have no idle timeout.
    const agentOpts = { keepAlive: true, keepAliveMsecs: 15_000 };
    this.#agent = this.server.protocol === 'http:' ? new http.Agent(agentOpts) : new https.Agent(agentOpts);
  }

  /** GETs JSON; throws KubeApiError with the server's Status (or the network failure) otherwise. */
  async getJson<T>(path: string, query: Query = {}): Promise<T> {
    const res = await this.open(path, query);
    const text = await readBody(res);
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new KubeApiError({ code: 500, reason: 'InternalError', message: `the API server answered GET ${path} with invalid JSON`, details: undefined, retryable: true }, { cause: err });
    }
  }

  /**
   * Opens a GET and resolves with the response once it answered 200; the caller reads (and may
   * destroy) the stream. Anything else is a KubeApiError carrying the server's Status.
   */
  async open(path: string, query: Query = {}): Promise<http.IncomingMessage> {
    const url = new URL(this.server.href.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const opts: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
    await this.#kc.applyToHTTPSOptions(opts);
    opts.agent = this.#agent;
    if (this.#closed) throw new KubeApiError({ code: 503, reason: 'ServiceUnavailable', message: `the connection to ${this.server.origin} was closed by its owner`, details: undefined, retryable: false });
    const mod = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = mod.request(url, opts);
      this.#open.add(req);
      req.once('close', () => this.#open.delete(req));
      req.on('error', (err) => reject(new KubeApiError(toApiStatus(err), { cause: err })));
      req.once('response', (res) => {
        if (res.statusCode === 200) { resolve(res); return; }
        readBody(res).then(
          (body) => reject(new KubeApiError(fromHttpAnswer(res.statusCode ?? 500, body, headerValue(res.headers['retry-after'])))),
          (err: unknown) => reject(new KubeApiError(toApiStatus(err), { cause: err })),
        );
      });
      req.end();
    });
  }

  /**
   * Sends one request with a JSON body (or none) and parses the JSON answer; a non-2xx answer is a
   * KubeApiError with the server's Status. Raw JSON both ways on purpose: the sync engine works on
   * objects exactly as they are on the wire (timestamps as strings, unknown fields kept), which the
   * generated clients' model classes would rewrite.
   */
  async request<T>(method: string, path: string, opts: { query?: Query; body?: unknown; contentType?: string; signal?: AbortSignal } = {}): Promise<T> {
    const url = new URL(this.server.href.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body), 'utf8');
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (payload !== undefined) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const reqOpts: https.RequestOptions = { method, headers };
    await this.#kc.applyToHTTPSOptions(reqOpts);
    reqOpts.agent = this.#agent;
    if (opts.signal !== undefined) reqOpts.signal = opts.signal;
    if (this.#closed) throw new KubeApiError({ code: 503, reason: 'ServiceUnavailable', message: `the connection to ${this.server.origin} was closed by its owner`, details: undefined, retryable: false });
    const mod = url.protocol === 'http:' ? http : https;
    return new Promise<T>((resolve, reject) => {
      const req = mod.request(url, reqOpts);
      this.#open.add(req);
      req.once('close', () => this.#open.delete(req));
      req.on('error', (err) => reject(new KubeApiError(toApiStatus(err), { cause: err })));
      req.once('response', (res) => {
        readBody(res).then((text) => {
          const code = res.statusCode ?? 500;
          if (code < 200 || code > 299) {
            reject(new KubeApiError(fromHttpAnswer(code, text, headerValue(res.headers['retry-after']))));
            return;
          }
          try {
            resolve((text === '' ? undefined : JSON.parse(text)) as T);
          } catch (err) {
            reject(new KubeApiError({ code: 500, reason: 'InternalError', message: `the API server answered ${method} ${path} with invalid JSON`, details: undefined, retryable: true }, { cause: err }));
          }
        }, (err: unknown) => reject(new KubeApiError(toApiStatus(err), { cause: err })));
      });
      req.end(payload);
    });
  }

  /** GET of one object; undefined when it does not exist (404). */
  async getIfExists<T>(path: string, opts: { signal?: AbortSignal } = {}): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path, opts);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * DELETE of exactly the object the caller decided on: with preconditions, a newer object of the
   * same name is never hit. Gone already (404) or another object now (409) is success; it resolves
   * true only when this call deleted the object (or began its graceful deletion), for callers that
   * log or count what they removed.
   */
  async deleteIfSame(path: string, preconditions: { uid?: string | undefined; resourceVersion?: string | undefined } = {}, opts: { gracePeriodSeconds?: number | undefined } = {}): Promise<boolean> {
    const pre = Object.fromEntries(Object.entries(preconditions).filter(([, v]) => v !== undefined && v !== ''));
    const body = {
      apiVersion: 'v1', kind: 'DeleteOptions',
      ...(Object.keys(pre).length > 0 ? { preconditions: pre } : {}),
      ...(opts.gracePeriodSeconds !== undefined ? { gracePeriodSeconds: opts.gracePeriodSeconds } : {}),
    };
    try {
      await this.request('DELETE', path, { body });
      return true;
    } catch (err) {
      if (isNotFound(err) || isConflict(err)) return false;
      throw err;
    }
  }

  /** Aborts every request in flight and closes every pooled socket. */
  close(): void {
    this.#closed = true;
    for (const req of this.#open) req.destroy();
    this.#open.clear();
    this.#agent.destroy();
  }
}

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.once('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      // The listeners stay on the response, which outlives the request (a reflector's last LIST page
      // was found kept this way): let go of the chunks they reach.
      chunks.length = 0;
      resolve(body);
    });
    res.on('error', reject);
    res.once('close', () => { if (!res.complete) reject(Object.assign(new Error('the connection closed before the response ended'), { code: 'ECONNRESET' })); });
  });
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
