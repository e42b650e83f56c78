// Turns an inbound request into what goes upstream: the caller's identity established
// (identity.ts), its own impersonation authorized (impersonation.ts), and the header list built.
import type { TLSSocket } from 'node:tls';
import { splitHeaders, impersonationHeaders } from './headers.ts';
import { authenticate, type Caller } from './identity.ts';
import type { ImpersonationAuthorizer } from './impersonation.ts';
import type { Upstream } from './upstream.ts';

export interface Prepared {
  readonly caller: Caller;
  /** Present vcnet's own identity upstream (the caller is impersonated), or the caller's token. */
  readonly withIdentity: boolean;
  /** Flat raw header list for the upstream request, Host first. */
  readonly headers: string[];
}

export async function prepare(
  upstream: Upstream,
  impersonation: ImpersonationAuthorizer,
  socket: TLSSocket,
  rawHeaders: readonly string[],
  upgrade: boolean,
): Promise<Prepared> {
  const split = splitHeaders(rawHeaders, upgrade);
  const caller = authenticate(socket, split.authorization);
  const headers = ['Host', upstream.authority, ...split.forward];
  const forwardedFor = socket.remoteAddress;
  if (forwardedFor !== undefined) appendForwardedFor(headers, forwardedFor);

  if (caller.kind === 'token') {
    // The API server sees the caller's own token, so it authorizes any Impersonate-* itself.
    headers.push('Authorization', caller.authorization);
    if (split.impersonation !== undefined) headers.push(...impersonationHeaders(split.impersonation, true));
    return { caller, withIdentity: false, headers };
  }

  if (upstream.token !== undefined) headers.push('Authorization', `Bearer ${upstream.token}`);
  if (split.impersonation !== undefined) {
    await impersonation.authorize(caller.user, caller.groups, split.impersonation);
    headers.push(...impersonationHeaders(split.impersonation, false));
  } else {
    headers.push('Impersonate-User', caller.user);
    for (const g of caller.groups) headers.push('Impersonate-Group', g);
  }
  return { caller, withIdentity: true, headers };
}

export function appendForwardedFor(headers: string[], address: string): void {
  for (let i = 2; i < headers.length; i += 2) {
    if ((headers[i] as string).toLowerCase() === 'x-forwarded-for') {
      headers[i + 1] = `${headers[i + 1] as string}, ${address}`;
      return;
    }
  }
  headers.push('X-Forwarded-For', address);
}

export function callerName(caller: Caller): string {
  return caller.kind === 'certificate' ? caller.user : 'token';
}

