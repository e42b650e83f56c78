// Header hygiene between the client and the upstream API server.
// - Hop-by-hop headers are not forwarded (RFC 7230 §6.1), including every header named in
//   `Connection`; an upgrade keeps `Connection: Upgrade` and `Upgrade`, which ARE the request.
// - Identity headers are never taken from the client as they are: `Authorization`,
//   `Impersonate-*` and `X-Remote-*` are lifted out here and only put back by identity.ts after
//   the caller is known (kcp's GHSA-c8w2-fgvx-vhv4 was exactly a proxy forgetting this).
// Raw header arrays are used throughout because `req.headers` joins repeated lines
// (`Impersonate-Group: a` + `Impersonate-Group: b` becomes "a, b", which the API server reads as ONE group).

const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection',
  'te', 'trailer', 'transfer-encoding', 'upgrade', 'host',
]);

export interface Impersonation {
  user: string | undefined;
  uid: string | undefined;
  groups: string[];
  /** `Impersonate-Extra-<key>` values, key lower-cased and percent-decoded as the API server does. */
  extra: Map<string, string[]>;
}

export interface SplitHeaders {
  /** Flat [name, value, name, value, ...] list safe to forward (no identity, no hop-by-hop). */
  forward: string[];
  authorization: string | undefined;
  impersonation: Impersonation | undefined;
  /** X-Remote-* headers were present (always dropped: vcnet is not the API server's front proxy). */
  hadRemoteHeaders: boolean;
}

export function splitHeaders(raw: readonly string[], upgrade: boolean): SplitHeaders {
  const connectionTokens = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === 'connection') {
      for (const token of (raw[i + 1] as string).split(',')) connectionTokens.add(token.trim().toLowerCase());
    }
  }
  const forward: string[] = [];
  let authorization: string | undefined;
  let imp: Impersonation | undefined;
  let hadRemoteHeaders = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === 'authorization') { authorization = value; continue; }
    if (lower.startsWith('impersonate-')) { imp = addImpersonation(imp ?? newImpersonation(), lower, value); continue; }
    if (lower.startsWith('x-remote-')) { hadRemoteHeaders = true; continue; }
    if (HOP_BY_HOP.has(lower) || connectionTokens.has(lower)) {
      if (upgrade && (lower === 'connection' || lower === 'upgrade')) forward.push(name, value);
      continue;
    }
    forward.push(name, value);
  }
  return { forward, authorization, impersonation: imp, hadRemoteHeaders };
}

function newImpersonation(): Impersonation {
  return { user: undefined, uid: undefined, groups: [], extra: new Map() };
}

function addImpersonation(imp: Impersonation, lower: string, value: string): Impersonation {
  if (lower === 'impersonate-user') imp.user = value;
  else if (lower === 'impersonate-uid') imp.uid = value;
  else if (lower === 'impersonate-group') imp.groups.push(value);
  else if (lower.startsWith('impersonate-extra-')) {
    const key = decodeURIComponent(lower.slice('impersonate-extra-'.length));
    const values = imp.extra.get(key) ?? [];
    values.push(value);
    imp.extra.set(key, values);
  } else {
    // An unknown Impersonate-* header is kept so the upstream rejects it as it would directly.
    imp.extra.set(`\0${lower}`, [value]);
  }
  return imp;
}

/** Turns an impersonation back into header lines, one line per group and extra value. */
export function impersonationHeaders(imp: Impersonation, includeUnknown: boolean): string[] {
  const out: string[] = [];
  if (imp.user !== undefined) out.push('Impersonate-User', imp.user);
  if (imp.uid !== undefined) out.push('Impersonate-Uid', imp.uid);
  for (const g of imp.groups) out.push('Impersonate-Group', g);
  for (const [key, values] of imp.extra) {
    if (key.startsWith('\0')) {
      if (includeUnknown) out.push(key.slice(1), values[0] as string);
      continue;
    }
    for (const v of values) out.push(`Impersonate-Extra-${encodeURIComponent(key)}`, v);
  }
  return out;
}

/** Response headers from upstream minus hop-by-hop ones; Node's server re-frames the body itself. */
export function responseHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = (raw[i] as string).toLowerCase();
    if (HOP_BY_HOP.has(lower) && lower !== 'host') continue;
    out.push(raw[i] as string, raw[i + 1] as string);
  }
  return out;
}
