// The admission hook that makes pod writes in the virtual cluster host writes (DESIGN "The write
// path"). It is a VALIDATING hook on purpose: validating webhooks see the object as the API server
// will store it — the name generated from generateName and the UID are filled in — so the host pod
// can carry the virtual UID from its first moment. It runs for every client, the proxy's users and
// the virtual kube-controller-manager alike (Deployments, Jobs, StatefulSets).
//   CREATE pods                       -> host pod created before the answer; refusals in virtual words
//   UPDATE pods                       -> labels, annotations, images, tolerations, deadlines to the host
//   UPDATE pods/ephemeralcontainers   -> `kubectl debug`: the container added to the host pod
//   DELETE pods                       -> host pod deleted with the same grace period
// Dry runs (sideEffects NoneOnDryRun) reach the host as dry runs only.
import type { PodSync, SyncMetrics } from '../sync/index.ts';
import type { Pod } from '../translate/index.ts';
import type { HookContext, ValidatingHook } from './plugin.ts';
import { allow, type ValidatingDecision } from './review.ts';
import { timedSyncDecision } from './sync-hook.ts';
import type { AdmissionRequest } from './types.ts';
import type { WebhookSpec } from './register.ts';

export const POD_HOOK_PATH = '/sync/pods';

/** The webhook entry for the virtual cluster's ValidatingWebhookConfiguration. */
export function podWebhookSpec(opts: { failurePolicy: 'Fail' | 'Ignore'; timeoutSeconds: number }): WebhookSpec {
  return {
    name: 'pods.sync.vcnet.dev',
    path: POD_HOOK_PATH,
    failurePolicy: opts.failurePolicy,
    timeoutSeconds: opts.timeoutSeconds,
    rules: [
      { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE', 'DELETE'], resources: ['pods'], scope: 'Namespaced' },
      { apiGroups: [''], apiVersions: ['v1'], operations: ['UPDATE'], resources: ['pods/ephemeralcontainers'], scope: 'Namespaced' },
    ],
  };
}

export function podSyncHook(sync: PodSync, metrics?: SyncMetrics): ValidatingHook {
  return {
    type: 'validating',
    name: 'pods',
    path: POD_HOOK_PATH,
    async handler(req: AdmissionRequest, ctx: HookContext): Promise<ValidatingDecision> {
      if (req.resource.group !== '' || req.resource.resource !== 'pods') return allow();
      return timedSyncDecision('Pod', req, ctx, metrics, () => decide(sync, req, ctx));
    },
  };
}

async function decide(sync: PodSync, req: AdmissionRequest, ctx: HookContext): Promise<ValidatingDecision> {
  const write = { dryRun: req.dryRun === true, signal: ctx.signal };
  const sub = req.subResource ?? '';
  switch (req.operation) {
    case 'CREATE': {
      if (sub !== '') return allow();
      const out = await sync.create(req.object as Pod, write);
      return allow(out.warnings.length > 0 ? out.warnings : undefined);
    }
    case 'UPDATE': {
      const vNew = req.object as Pod;
      // A pod being deleted only loses finalizers and the like now; its host pod is going already.
      if (vNew.metadata.deletionTimestamp !== undefined) return allow();
      const out = sub === 'ephemeralcontainers'
        ? await sync.addEphemeralContainers(vNew, write)
        : sub === '' ? await sync.update(req.oldObject as Pod, vNew, write) : { warnings: [] };
      return allow(out.warnings.length > 0 ? out.warnings : undefined);
    }
    case 'DELETE': {
      if (sub !== '') return allow();
      const vPod = req.oldObject as Pod;
      const options = (req.options ?? {}) as { gracePeriodSeconds?: number };
      const grace = options.gracePeriodSeconds ?? (vPod.spec['terminationGracePeriodSeconds'] as number | undefined);
      try {
        await sync.delete(vPod, grace, write);
      } catch (err) {
        // Never block a delete on the host: the virtual pod waits (deletionTimestamp) for its host pod
        // to go, and the reconciler deletes the host pod as soon as the host answers again.
        ctx.log.warn({ err }, 'deleting the host pod failed; the reconciler retries');
        return allow([`vcnet could not delete the host pod yet (${err instanceof Error ? err.message : String(err)}); it will retry`]);
      }
      return allow();
    }
    default:
      return allow();
  }
}
