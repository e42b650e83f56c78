#!/usr/bin/env node
// vcnet's command line. Each command lives in its own module; this file only dispatches.
import { parseArgs } from 'node:util';
import type { Command } from './command.ts';
import pkg from '../../package.json' with { type: 'json' };

const USAGE = `vcnet ${pkg.version} — networking for virtual Kubernetes clusters

Usage: vcnet <command> [flags]

Commands:
  serve        run the proxy, its webhooks and sync, and the DNS server in the foreground
  dns          run only the DNS server (for DNS in pods of its own)
  up           build what is missing, start a local host and virtual control plane and vcnet
  down         stop everything 'up' started and remove its data
  kubeconfig   write a kubeconfig that reaches the virtual cluster through vcnet
  certs        create or show (and with --renew, renew) vcnet's CA and serving certificate
  build        build the pinned control-plane binaries (kube-apiserver, etcd, kwok, ...) if missing
  version      print versions

Run 'vcnet <command> --help' for a command's flags.`;

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./commands.ts')).serveCommand,
  dns: async () => (await import('./commands.ts')).dnsCommand,
  up: async () => (await import('./up.ts')).upCommand,
  down: async () => (await import('./up.ts')).downCommand,
  kubeconfig: async () => (await import('./commands.ts')).kubeconfigCommand,
  certs: async () => (await import('./commands.ts')).certsCommand,
  build: async () => (await import('./commands.ts')).buildCommand,
  version: async () => (await import('./commands.ts')).versionCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    process.stderr.write(`vcnet: unknown command "${name}"\n\n${USAGE}\n`);
    return 2;
  }
  const cmd = await load();
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    process.stderr.write(`vcnet ${name}: ${(err as Error).message}\n${helpFor(name, cmd)}`);
    return 2;
  }
  if (parsed.values['help'] === true) {
    process.stdout.write(helpFor(name, cmd));
    return 0;
  }
  return cmd.run(parsed.values, parsed.positionals);
}

function helpFor(name: string, cmd: Command): string {
  const lines = Object.entries(cmd.options).map(([flag, o]) => {
    const d = o as { type: string; short?: string; multiple?: boolean; default?: unknown };
    const arg = d.type === 'string' ? ' <value>' : '';
    return `  ${d.short !== undefined ? `-${d.short}, ` : ''}--${flag}${arg}${d.multiple === true ? ' (repeatable)' : ''}`;
  });
  return `Usage: vcnet ${name} [flags]\n\n${cmd.summary}\n\nFlags:\n${lines.join('\n')}\n`;
}

if (import.meta.main) {
  // `vcnet certs | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => { if (err.code === 'EPIPE') process.exit(0); throw err; });
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err: unknown) => {
    const e = err as { message?: string; errors?: unknown };
    process.stderr.write(`vcnet: ${e.message ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
