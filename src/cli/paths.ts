// Where `vcnet up` keeps its state, relative to the working directory.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export const STATE_DIR = '.vcnet';

export interface Endpoints {
  proxy: string;
  proxyCA: string;
  health: string;
  metrics: string;
  virtualApiserver: string;
  hostApiserver: string;
  [name: string]: string;
}

export function readEndpoints(stateDir: string): Endpoints | undefined {
  const p = join(stateDir, 'endpoints.json');
  return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) as Endpoints : undefined;
}
