// Where one request goes: the virtual API server (every request, the caller's identity carried as
// prepare.ts decides) or, for a subresource redirect, the host API server (redirector.ts).
// handler.ts and upgrade.ts stream to whichever target ProxyState.targetFor picks.
import type { TLSSocket } from 'node:tls';
import type { ImpersonationAuthorizer } from './impersonation.ts';
import { prepare } from './prepare.ts';
import type { Upstream } from './upstream.ts';

export interface Target {
  readonly upstream: Upstream;
  /** Present vcnet's own identity upstream (else the caller's token is in the headers). */
  readonly withIdentity: boolean;
  /** Path and query on the upstream. */
  readonly path: string;
  /** Flat raw header list for the upstream request, Host first. */
  readonly headers: string[];
  /**
   * For an error answer (JSON, 4xx/5xx), its body rewritten for the client, or undefined to relay
   * it unchanged. Redirects use it to put host names back into virtual ones.
   */
  readonly rewriteError?: ((body: string) => string | undefined) | undefined;
}

/** The ordinary target: the virtual API server at the request's own path. */
export async function virtualTarget(
  upstream: Upstream, impersonation: ImpersonationAuthorizer, socket: TLSSocket,
  rawHeaders: readonly string[], url: string, upgrade: boolean,
): Promise<Target> {
  const p = await prepare(upstream, impersonation, socket, rawHeaders, upgrade);
  return { upstream, withIdentity: p.withIdentity, path: url, headers: p.headers };
}
