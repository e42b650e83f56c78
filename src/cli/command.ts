import type { ParseArgsConfig } from 'node:util';

/** One `vcnet <command>`: its flags (node:util parseArgs descriptors) and what it does. */
export interface Command {
  summary: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, unknown>, positionals: string[]): Promise<number>;
}
