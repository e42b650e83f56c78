// Picks a kubectl within the ±1 minor version skew of the v1.34 control planes
// (https://kubernetes.io/releases/version-skew-policy/#kubectl). Distribution packages such
// as the Google Cloud SDK install several versions side by side as kubectl.<minor>.
import { accessSync, constants, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PREFERRED_MINORS = ['1.34', '1.35', '1.33'];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `$VCNET_KUBECTL` if set; else kubectl.1.34, .1.35 or .1.33 next to the `kubectl` on PATH
 * (next to the symlink or to its target); else that `kubectl` itself.
 */
export function findKubectl(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.VCNET_KUBECTL;
  if (explicit) {
    if (!isExecutable(explicit)) throw new Error(`VCNET_KUBECTL=${explicit} is not an executable file`);
    return explicit;
  }
  let onPath: string | undefined;
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir && isExecutable(join(dir, 'kubectl'))) { onPath = join(dir, 'kubectl'); break; }
  }
  if (!onPath) throw new Error('kubectl not found: put kubectl (1.33-1.35) on PATH or set VCNET_KUBECTL');
  const dirs = [dirname(onPath)];
  try {
    const real = dirname(realpathSync(onPath));
    if (!dirs.includes(real)) dirs.push(real);
  } catch { /* dangling symlink: isExecutable would have failed */ }
  for (const minor of PREFERRED_MINORS) {
    for (const dir of dirs) {
      const candidate = join(dir, `kubectl.${minor}`);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return onPath;
}
