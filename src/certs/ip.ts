import { isIPv4, isIPv6 } from 'node:net';

/** "[::1]" → "::1": config values and URLs often carry IPv6 literals in brackets. */
function unbracket(text: string): string {
  return text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
}

/** True for an IPv4 or IPv6 literal (brackets allowed, zones refused: a SAN cannot carry a zone). */
export function isIPLiteral(text: string): boolean {
  const ip = unbracket(text);
  return isIPv4(ip) || (isIPv6(ip) && !ip.includes('%'));
}

/**
 * The one text form used to compare addresses: dotted quad for IPv4, RFC 5952 compressed lower case for
 * IPv6 (what the WHATWG URL serializer produces). OpenSSL prints SANs as "0:0:0:0:0:0:0:1", users write
 * "::1" or "0::1"; all of them must compare equal.
 */
export function canonicalIP(text: string): string {
  const ip = unbracket(text.trim());
  if (isIPv4(ip)) return ip.split('.').map((part) => String(Number(part))).join('.');
  if (!isIPv6(ip) || ip.includes('%')) throw new Error(`"${text}" is not an IPv4 or IPv6 address`);
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

/**
 * The octets of an iPAddress GeneralName (RFC 5280 §4.2.1.6: 4 octets for IPv4, 16 for IPv6).
 * node-forge's own parser mishandles IPv4-embedded IPv6 ("::ffff:10.0.0.1"), so vcnet encodes them itself.
 */
export function ipOctets(text: string): Buffer {
  const ip = canonicalIP(text);
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  // The canonical form has at most one "::" and only hex groups (the URL serializer never emits a dotted quad).
  const [head = '', tail] = ip.split('::');
  const groups = (part: string | undefined): number[] => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const headGroups = groups(head);
  const tailGroups = groups(tail);
  const all = tail === undefined
    ? headGroups
    : [...headGroups, ...new Array<number>(8 - headGroups.length - tailGroups.length).fill(0), ...tailGroups];
  const out = Buffer.alloc(16);
  all.forEach((group, i) => out.writeUInt16BE(group, i * 2));
  return out;
}
