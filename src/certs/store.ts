import { randomBytes, X509Certificate } from 'node:crypto';
import {
  chmodSync, closeSync, existsSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { certInfo, coversSpec, isSignedBy, keyMatchesCert } from './inspect.ts';
import { createCA, issueCert, renewCA, validateSpec } from './issue.ts';
import { caRenewalTime, isDue, leafRenewalTime } from './renewal.ts';
import type { CertSpec, KeyPair } from './types.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Certificates on disk: `<dir>/<name>.crt` (0644) and `<dir>/<name>.key` (0600), `dir` created 0700.
 * Each file is written atomically (temp file in the same directory, fsync, rename), so a reader never
 * sees half a PEM. The key is renamed into place before the cert; if the process dies in between, the
 * pair no longer matches and load() reports it missing, so the next ensure*() issues a fresh one.
 * One process per directory: two processes ensuring the same name at once may both issue.
 */
export class CertStore {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  paths(name: string): { cert: string; key: string } {
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new TypeError(`certificate name "${String(name)}" must be a plain file name (letters, digits, ".", "_", "-")`);
    }
    return { cert: join(this.dir, `${name}.crt`), key: join(this.dir, `${name}.key`) };
  }

  /**
   * The stored pair, or undefined when either file is missing, unparsable, or the key is not the cert's.
   * Other read errors (EACCES, EISDIR) are thrown: silently replacing a CA we merely cannot read would
   * break trust.
   */
  load(name: string): KeyPair | undefined {
    const paths = this.paths(name);
    const certPem = readIfExists(paths.cert);
    const keyPem = readIfExists(paths.key);
    if (certPem === undefined || keyPem === undefined) return undefined;
    const pair = { certPem, keyPem };
    return keyMatchesCert(pair) ? pair : undefined;
  }

  save(name: string, pair: KeyPair): void {
    const paths = this.paths(name);
    if (!keyMatchesCert(pair)) throw new Error(`refusing to save "${name}" in ${this.dir}: the key does not belong to the certificate`);
    if (!existsSync(this.dir)) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      chmodSync(this.dir, 0o700); // the mode given to mkdir is filtered by the umask
    }
    writeAtomic(paths.key, pair.keyPem, 0o600);
    writeAtomic(paths.cert, pair.certPem, 0o644);
  }

  /**
   * Loads the CA `<name>` or creates it. It is re-created only when missing, unparsable, not a
   * self-signed CA, or its key does not match. The `commonName` is used only on creation: an existing CA
   * is kept even if its CN differs, because replacing a trust root must be a deliberate act.
   * A CA within the last 1/5 of its lifetime (or expired) is re-signed with the same key (see renewal.ts).
   */
  async ensureCA(name: string, commonName: string, opts: { validityDays?: number; now?: Date } = {}): Promise<KeyPair> {
    const now = opts.now ?? new Date();
    const existing = this.load(name);
    if (existing && isSelfSignedCA(existing.certPem)) {
      const info = certInfo(existing.certPem);
      if (now.getTime() < caRenewalTime(info).getTime()) return existing;
      const renewed = renewCA(existing, { ...opts, now });
      this.save(name, renewed);
      return renewed;
    }
    const created = await createCA(commonName, { ...opts, now });
    this.save(name, created);
    return created;
  }

  /**
   * Reuses `<name>` when it exists, is signed by `ca`, covers `spec` (coversSpec) and is not due for
   * renewal (renewal.ts: `renewBeforeDays`, default 30, or 2/3 of a short lifetime); otherwise issues
   * and saves a new one.
   */
  async ensureCert(
    name: string,
    ca: KeyPair,
    spec: CertSpec,
    opts: { renewBeforeDays?: number; now?: Date } = {},
  ): Promise<{ pair: KeyPair; issued: boolean }> {
    validateSpec(spec);
    const now = opts.now ?? new Date();
    const existing = this.load(name);
    if (existing && isSignedBy(existing.certPem, ca.certPem) && coversSpec(existing.certPem, spec)) {
      const info = certInfo(existing.certPem);
      if (!isDue(info, leafRenewalTime(info, opts.renewBeforeDays), now)) return { pair: existing, issued: false };
    }
    const pair = await issueCert(ca, spec, { now });
    this.save(name, pair);
    return { pair, issued: true };
  }
}

function isSelfSignedCA(certPem: string): boolean {
  try {
    const x509 = new X509Certificate(certPem);
    return x509.ca && x509.checkIssued(x509) && x509.verify(x509.publicKey);
  } catch {
    return false;
  }
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

function writeAtomic(file: string, data: string, mode: number): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let created = false;
  try {
    const fd = openSync(tmp, 'wx', mode);
    created = true;
    try {
      writeFileSync(fd, data);
      fchmodSync(fd, mode); // the mode given to open is filtered by the umask
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    if (created) rmSync(tmp, { force: true });
    throw new Error(`cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
  syncDir(dirname(file));
}

/** Makes the rename itself durable; best effort, some filesystems refuse fsync on a directory. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not durable across a power cut on this filesystem; nothing better to do
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
