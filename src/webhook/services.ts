// The admission hook that makes Service writes in the virtual cluster host writes, host first
// (DESIGN "The write path"). It is a MUTATING hook because the virtual object must be stored with
// what the host allocated — ClusterIP(s), IP families, nodePorts, healthCheckNodePort — so that both
// sides hold the same ClusterIP from the first moment and the virtual UID never changes.
//   CREATE services  -> host Service created; the virtual object patched with its allocations
//   UPDATE services  -> host Service updated first (type changes, nodePorts: refused now if the host
//                       refuses); the virtual object patched with the host's allocations
//   DELETE services  -> host Service deleted
// Dry runs (sideEffects NoneOnDryRun) reach the host as dry runs only. `services/status` is not
// hooked: the reconciler writes it from the host.
import type { ServiceSync, SyncMetrics } from '../sync/index.ts';
import { isKubernetesService, type Service } from '../translate/index.ts';
import type { HookContext, MutatingHook } from './plugin.ts';
import type { WebhookSpec } from './register.ts';
import { allow, mutate, type Decision } from './review.ts';
import { timedSyncDecision } from './sync-hook.ts';
import type { AdmissionRequest } from './types.ts';

export const SERVICE_HOOK_PATH = '/sync/services';

/** The webhook entry for the virtual cluster's MutatingWebhookConfiguration. */
export function serviceWebhookSpec(opts: { failurePolicy: 'Fail' | 'Ignore'; timeoutSeconds: number }): WebhookSpec {
  return {
    name: 'services.sync.vcnet.dev',
    path: SERVICE_HOOK_PATH,
    failurePolicy: opts.failurePolicy,
    timeoutSeconds: opts.timeoutSeconds,
    rules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['services'], scope: 'Namespaced' }],
  };
}

export function serviceSyncHook(sync: ServiceSync, metrics?: SyncMetrics): MutatingHook {
  return {
    type: 'mutating',
    name: 'services',
    path: SERVICE_HOOK_PATH,
    async handler(req: AdmissionRequest, ctx: HookContext): Promise<Decision> {
      if (req.resource.group !== '' || req.resource.resource !== 'services' || (req.subResource ?? '') !== '') return allow();
      return timedSyncDecision('Service', req, ctx, metrics, () => decide(sync, req, ctx));
    },
  };
}

async function decide(sync: ServiceSync, req: AdmissionRequest, ctx: HookContext): Promise<Decision> {
  // `default/kubernetes` belongs to the virtual API server and stands for vcnet's own host Service
  // (§3.3): the reconciler gives it that Service's ClusterIP; it has no host twin of its own.
  if (isKubernetesService(req.name ?? '', req.namespace ?? '')) return allow();
  const write = { dryRun: req.dryRun === true, signal: ctx.signal };
  switch (req.operation) {
    case 'CREATE': {
      const out = await sync.create(req.object as Service, write);
      return mutate(out.object);
    }
    case 'UPDATE': {
      const vNew = req.object as Service;
      const vOld = req.oldObject as Service;
      // Finalizers being removed from a Service on its way out: the host twin is going already.
      if (vNew.metadata.deletionTimestamp !== undefined) return allow();
      // A stale resourceVersion: the API server refuses this update with a Conflict after admission,
      // so the host must not take it either.
      const rv = vNew.metadata.resourceVersion ?? '';
      if (rv !== '' && rv !== (vOld.metadata.resourceVersion ?? '')) return allow();
      const out = await sync.update(vOld, vNew, write);
      return mutate(out.object);
    }
    case 'DELETE': {
      const vSvc = req.oldObject as Service;
      try {
        await sync.delete(vSvc, write);
      } catch (err) {
        // Never block a delete on the host: the reconciler deletes the host twin, which no virtual
        // Service claims any more, as soon as the host answers again.
        ctx.log.warn({ err }, 'deleting the host service failed; the reconciler retries');
        return allow([`vcnet could not delete the host service yet (${err instanceof Error ? err.message : String(err)}); it will retry`]);
      }
      return allow();
    }
    default:
      return allow();
  }
}
