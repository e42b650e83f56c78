// webhook/: the AdmissionReview endpoints and their registration with a cluster.
//   types.ts     admission.k8s.io/v1 wire types (AdmissionReview, AdmissionRequest, AdmissionResponse)
//   review.ts    decisions (allow / mutate / deny), envelope checks, building the answer
//   mutate.ts    JSON Patch by diffing an edited copy, base64 for AdmissionResponse.patch
//   plugin.ts    the fastify plugin: one POST route per hook, timeouts, crashes as 500, metrics
//   metrics.ts   vcnet_webhook_requests_total and vcnet_webhook_request_duration_seconds
//   server.ts    the HTTPS listener (startWebhookServer) with hot-swappable serving certificate
//   register.ts  Mutating/ValidatingWebhookConfiguration: build, create-or-replace, wait until live, delete
export * from './types.ts';
export { allow, deny, envelopeProblem, mutate, reviewResponse, type Decision, type DenyStatus, type ValidatingDecision } from './review.ts';
export { encodePatch, jsonPatch } from './mutate.ts';
export {
  handlerBudgetMs, WEBHOOK_DEFAULTS, webhookPlugin,
  type HookContext, type MutatingHook, type ValidatingHook, type WebhookHook, type WebhookPluginOptions,
} from './plugin.ts';
export { webhookMetrics, type WebhookMetrics, type WebhookResult } from './metrics.ts';
export { startWebhookServer, type WebhookServer, type WebhookServerOptions } from './server.ts';
export {
  caBundlePem, registerWebhooks, SYSTEM_NAMESPACES, unregisterWebhooks, webhookConfiguration,
  type RegisteredWebhooks, type WebhookConfigurationSpec, type WebhookEndpoint, type WebhookSpec,
} from './register.ts';
export { podSyncHook, podWebhookSpec, POD_HOOK_PATH } from './pods.ts';
export { serviceSyncHook, serviceWebhookSpec, SERVICE_HOOK_PATH } from './services.ts';
