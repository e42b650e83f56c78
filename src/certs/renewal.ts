// When a certificate is due for renewal. One place, so the store, the rotator and the expiry metric agree.
//
// Leaf certificates: renew `renewBeforeDays` (default 30) before notAfter. When the lifetime is shorter
// than 3 × renewBeforeDays, that margin would eat most of the lifetime (a 30-day cert would be renewed
// on every check), so such certs are renewed at 2/3 of their lifetime instead, as cert-manager does by
// default (https://cert-manager.io/docs/usage/certificate/#renewal).
//
// CAs: renewed when less than 1/5 of their lifetime is left (two years of a ten-year CA), by re-signing
// the SAME key (renewCA), so every certificate it issued stays valid and every client that trusts it
// keeps trusting it. Kyverno's worst incidents were a CA that nothing renewed (kyverno/kyverno#10063).

const DAY_MS = 24 * 60 * 60 * 1000;
export const DEFAULT_RENEW_BEFORE_DAYS = 30;

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** The instant from which a leaf certificate should be replaced. */
export function leafRenewalTime(cert: Validity, renewBeforeDays = DEFAULT_RENEW_BEFORE_DAYS): Date {
  if (!Number.isFinite(renewBeforeDays) || renewBeforeDays < 0) {
    throw new RangeError(`renewBeforeDays must be a non-negative number of days, got ${String(renewBeforeDays)}`);
  }
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  const margin = renewBeforeDays * DAY_MS;
  return new Date(cert.notAfter.getTime() - (lifetime < 3 * margin ? lifetime / 3 : margin));
}

/** The instant from which a CA should be re-signed. */
export function caRenewalTime(cert: Validity): Date {
  const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
  return new Date(cert.notAfter.getTime() - lifetime / 5);
}

/** Due when past the renewal time, or not yet valid (the clock moved back, or it was issued elsewhere). */
export function isDue(cert: Validity, renewAt: Date, now: Date): boolean {
  return now.getTime() >= renewAt.getTime() || now.getTime() < cert.notBefore.getTime();
}
