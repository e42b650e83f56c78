// What every sync hook does around its decision: the duration metric by kind, operation and result,
// and a host refusal turned into a denial that keeps the host's HTTP code, reason and details.
import type { SyncMetrics } from '../sync/index.ts';
import { HostRefusal } from '../sync/index.ts';
import type { HookContext } from './plugin.ts';
import { deny, type Decision } from './review.ts';
import type { AdmissionRequest } from './types.ts';

export async function timedSyncDecision<D extends Decision>(
  kind: string,
  req: AdmissionRequest,
  ctx: HookContext,
  metrics: SyncMetrics | undefined,
  decide: () => Promise<D>,
): Promise<D | ReturnType<typeof deny>> {
  const started = performance.now();
  const operation = req.subResource ? `${req.operation} ${req.subResource}` : req.operation;
  let result = 'ok';
  try {
    return await decide();
  } catch (err) {
    result = err instanceof HostRefusal ? 'refused' : 'error';
    if (err instanceof HostRefusal) {
      ctx.log.info({ code: err.code, reason: err.reason, message: err.message }, `host refused the ${kind.toLowerCase()}`);
      return deny(err.message, { code: err.code, reason: err.reason, ...(err.details !== undefined ? { details: err.details } : {}) });
    }
    throw err;
  } finally {
    metrics?.duration.observe({ kind, operation, result }, (performance.now() - started) / 1000);
  }
}
