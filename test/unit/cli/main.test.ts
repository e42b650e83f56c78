// The CLI as a user meets it: exit codes, help, and configuration errors that name the field.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const MAIN = resolve(import.meta.dirname, '../../../src/cli/main.ts');
const dir = mkdtempSync(join(tmpdir(), 'vcnet-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function vcnet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout, stderr });
    });
  });
}

t.test('version prints the pinned component versions', async (t) => {
  const r = await vcnet('version', '-o', 'json');
  t.equal(r.code, 0, r.stderr);
  const v = JSON.parse(r.stdout) as Record<string, string>;
  t.equal(v['kubernetes'], 'v1.34.4');
  t.equal(v['etcd'], '3.6.13');
  t.equal(v['kwok'], 'v0.8.0');
  t.match(v['node'], /^24\./);
});

t.test('no command prints usage and exits 2; help exits 0', async (t) => {
  const none = await vcnet();
  t.equal(none.code, 2);
  t.match(none.stdout, /Commands:/);
  const help = await vcnet('--help');
  t.equal(help.code, 0);
  t.match(help.stdout, /serve .*up .*down/s);
});

t.test('an unknown command or flag exits 2 and says which', async (t) => {
  const cmd = await vcnet('servee');
  t.equal(cmd.code, 2);
  t.match(cmd.stderr, /unknown command "servee"/);
  const flag = await vcnet('serve', '--bogus');
  t.equal(flag.code, 2);
  t.match(flag.stderr, /--bogus/);
});

t.test('an invalid config file is refused before anything listens, every problem named by its path', async (t) => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'controlPlane:\n  proxy:\n    port: 70000\n    extraSANs: ["exa mple"]\nvcnet:\n  logLevl: debug\n');
  const r = await vcnet('serve', '--config', file);
  t.equal(r.code, 1);
  t.match(r.stderr, /bad\.yaml:3:11: controlPlane\.proxy\.port: must be an integer from 1 to 65535, got 70000/);
  t.match(r.stderr, /controlPlane\.proxy\.extraSANs\[0\]: "exa mple" is not a DNS name or IP address/);
  t.match(r.stderr, /vcnet\.logLevl: unknown field; did you mean "logLevel"\?/);
});

t.test('a flag that makes the config invalid is refused with the field path', async (t) => {
  const r = await vcnet('serve', '--port', '99999');
  t.equal(r.code, 1);
  t.match(r.stderr, /controlPlane\.proxy\.port/);
});

t.test('serve without a virtual kubeconfig says what it needs', async (t) => {
  const r = await vcnet('serve', '--certs-dir', join(dir, 'certs'));
  t.equal(r.code, 1);
  t.match(r.stderr, /vcnet\.virtual\.kubeconfig is required/);
});

t.test('certs creates a CA and a serving certificate with the extra SANs, and reuses them', async (t) => {
  const cfg = join(dir, 'certs.yaml');
  writeFileSync(cfg, `controlPlane:\n  proxy:\n    extraSANs: [vcnet.example.com, 10.1.2.3]\nvcnet:\n  certs:\n    dir: ${join(dir, 'c')}\n`);
  const first = await vcnet('certs', '--config', cfg);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /DNS SANs: +localhost, vcnet, vcnet\.example\.com/);
  t.match(first.stdout, /IP SANs: +127\.0\.0\.1, ::1, 10\.1\.2\.3/);
  const again = await vcnet('certs', '--config', cfg);
  t.equal(again.stdout, first.stdout, 'the same certificates, reused');
  const renewed = await vcnet('certs', '--config', cfg, '--renew');
  const serial = (s: string): string[] => [...s.matchAll(/serial: +(\w+)/g)].map((m) => m[1] as string);
  t.equal(serial(renewed.stdout)[0], serial(first.stdout)[0], 'the CA is kept');
  t.not(serial(renewed.stdout)[1], serial(first.stdout)[1], 'the serving certificate is new');
});
