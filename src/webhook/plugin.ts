// The AdmissionReview surface as a fastify plugin: one POST route per hook. Only the envelope is
// checked (no route schema: fastify's Ajv defaults coerce types and drop properties, which would
// corrupt `object`). Answers follow k8s.io/apiserver pkg/admission/plugin/webhook/request
// (VerifyAdmissionResponse):
//   - a hook's decision            → 200 AdmissionReview echoing request.uid (allow / patch / deny)
//   - a VcnetError thrown by a hook → 200 deny with its code, reason and message (vcnet understood it)
//   - a malformed envelope         → 400 Status     } non-2xx: the API server applies the webhook's
//   - any other throw (a crash)    → 500 Status     } failurePolicy, as it should for what is not a decision
//   - a hook slower than the API server's `?timeout=` → 200 deny 504 Timeout, see handlerBudgetMs.
// Registered without fastify-plugin on purpose: the body limit, the error handler and the content
// parser stay inside this plugin's scope.
import assert from 'node:assert/strict';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import { VcnetError, statusOf } from '../errors.ts';
import { webhookMetrics, type WebhookMetrics, type WebhookResult } from './metrics.ts';
import { deny, envelopeProblem, reviewResponse, type Decision, type ValidatingDecision } from './review.ts';
import type { AdmissionRequest, AdmissionReview } from './types.ts';

export const WEBHOOK_DEFAULTS = Object.freeze({
  // An UPDATE carries object and oldObject, each up to the API server's 3 MiB request limit, plus the envelope.
  bodyLimit: 7 * 1024 * 1024,
  // admissionregistration/v1 default timeoutSeconds, used when the API server sends no `timeout`.
  timeoutSeconds: 10,
  // The API server rounds its remaining deadline UP to whole seconds for `?timeout=` (mutating
  // dispatcher.go), so up to 1 s of it may already be gone; the rest covers the network and its own work.
  timeoutMarginMs: 1500,
});

export interface HookContext {
  /** Aborted when the API server's deadline (less a margin) passes: stop work, undo what can be undone. */
  readonly signal: AbortSignal;
  /** The request's logger, bound to the hook, uid, operation and object. */
  readonly log: FastifyBaseLogger;
}

interface HookBase {
  /** The metrics label and log field; unique per plugin. */
  readonly name: string;
  /** The route, e.g. `/mutate-pods`; must match the path registered in clientConfig. */
  readonly path: string;
}

/**
 * A mutating hook may return `mutate(obj)`: `req` is the hook's own copy, so it may edit `req.object`
 * and return it; the plugin diffs it against the object as received.
 */
export interface MutatingHook extends HookBase {
  readonly type: 'mutating';
  readonly handler: (req: AdmissionRequest, ctx: HookContext) => Promise<Decision>;
}

/** A validating hook may only allow or deny: the API server rejects a validating webhook's patch. */
export interface ValidatingHook extends HookBase {
  readonly type: 'validating';
  readonly handler: (req: AdmissionRequest, ctx: HookContext) => Promise<ValidatingDecision>;
}

export type WebhookHook = MutatingHook | ValidatingHook;

export interface WebhookPluginOptions {
  hooks: readonly WebhookHook[];
  /** Where `vcnet_webhook_*` metrics are registered. */
  registry: Registry;
  bodyLimit?: number;
  timeoutMarginMs?: number;
}

export async function webhookPlugin(app: FastifyInstance, opts: WebhookPluginOptions): Promise<void> {
  const hooks = validateOptions(opts);
  const settings = {
    metrics: webhookMetrics(opts.registry),
    timeoutMarginMs: opts.timeoutMarginMs ?? WEBHOOK_DEFAULTS.timeoutMarginMs,
  };
  const byPath = new Map(hooks.map((h) => [h.path, h]));
  // Plain JSON.parse: fastify's default parser refuses `__proto__` and `constructor.prototype` keys
  // with a 400, but `__proto__` is a valid ConfigMap data key, and JSON.parse only ever makes it an
  // own property. Refusing it would block the user's write under failurePolicy Fail.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, parseJson);
  app.setErrorHandler((err: FastifyError, request, reply) => onFrameworkError(settings.metrics, byPath, err, request, reply));
  for (const hook of hooks) {
    app.post(hook.path, { bodyLimit: opts.bodyLimit ?? WEBHOOK_DEFAULTS.bodyLimit }, (request, reply) => answer(settings, hook, request, reply));
  }
}

function validateOptions(opts: WebhookPluginOptions): readonly WebhookHook[] {
  if (opts === null || typeof opts !== 'object') throw new TypeError('webhook plugin: options are required');
  if (opts.registry === undefined || typeof opts.registry.getSingleMetric !== 'function') {
    throw new TypeError('webhook plugin: options.registry must be a prom-client Registry');
  }
  if (!Array.isArray(opts.hooks) || opts.hooks.length === 0) throw new TypeError('webhook plugin: options.hooks must list at least one hook');
  for (const [key, value] of [['bodyLimit', opts.bodyLimit], ['timeoutMarginMs', opts.timeoutMarginMs]] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new TypeError(`webhook plugin: options.${key} must be a non-negative integer, got ${String(value)}`);
    }
  }
  const names = new Set<string>();
  const paths = new Set<string>();
  opts.hooks.forEach((hook, i) => {
    const where = `webhook plugin: hooks[${i}]`;
    if (typeof hook?.name !== 'string' || hook.name === '') throw new TypeError(`${where}.name must be a non-empty string`);
    if (typeof hook.path !== 'string' || !/^\/[A-Za-z0-9._~\-/]*$/.test(hook.path)) {
      throw new TypeError(`${where}.path must be an absolute path without query or fragment (clientConfig.url forbids them), got ${JSON.stringify(hook.path)}`);
    }
    if (hook.type !== 'mutating' && hook.type !== 'validating') {
      throw new TypeError(`${where}.type must be "mutating" or "validating", got ${JSON.stringify((hook as { type?: unknown }).type)}`);
    }
    if (typeof hook.handler !== 'function') throw new TypeError(`${where}.handler must be a function`);
    if (names.has(hook.name)) throw new TypeError(`${where}.name "${hook.name}" is used twice`);
    if (paths.has(hook.path)) throw new TypeError(`${where}.path "${hook.path}" is used twice`);
    names.add(hook.name);
    paths.add(hook.path);
  });
  return opts.hooks;
}

interface Settings {
  readonly metrics: WebhookMetrics;
  readonly timeoutMarginMs: number;
}

async function answer(settings: Settings, hook: WebhookHook, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const started = process.hrtime.bigint();
  const problem = envelopeProblem(request.body);
  if (problem !== undefined) {
    settings.metrics.observe(hook.name, 'unknown', 'bad_request', started);
    request.log.warn({ hook: hook.name, problem }, 'malformed AdmissionReview');
    return reply.code(400).type('application/json').send(statusOf(400, 'BadRequest', `malformed AdmissionReview: ${problem}`));
  }
  const req = (request.body as AdmissionReview).request as AdmissionRequest;
  const log = request.log.child({
    hook: hook.name, uid: req.uid, operation: req.operation, resource: req.resource?.resource, namespace: req.namespace, name: req.name,
  });
  const budgetMs = handlerBudgetMs(timeoutSecondsOf(request.query), settings.timeoutMarginMs);
  let result: WebhookResult;
  try {
    const outcome = await decide(hook, req, log, budgetMs);
    let decision: Decision;
    if (outcome === 'timeout') {
      result = 'timeout';
      decision = deny(`vcnet webhook "${hook.name}" did not decide within ${budgetMs} ms; nothing was changed, retry the request`, { code: 504, reason: 'Timeout' });
      log.warn({ budgetMs }, 'admission hook timed out');
    } else {
      decision = outcome;
      result = decision.kind === 'deny' ? 'denied' : 'allowed';
    }
    assert(hook.type === 'mutating' || decision.kind !== 'mutate', `validating hook "${hook.name}" returned a mutation`);
    if (decision.kind === 'mutate' && (req.operation === 'DELETE' || req.operation === 'CONNECT')) {
      log.warn(`admission hook returned a mutation for ${req.operation}; the API server forbids it, so it is ignored`);
    }
    const review = reviewResponse(req, req.object, decision);
    if (review.response?.patch !== undefined) result = 'patched';
    settings.metrics.observe(hook.name, req.operation, result, started);
    return reply.code(200).type('application/json').send(review);
  } catch (err) {
    settings.metrics.observe(hook.name, req.operation, 'error', started);
    log.error({ err }, 'admission hook crashed');
    const message = err instanceof Error ? err.message : String(err);
    return reply.code(500).type('application/json').send(statusOf(500, 'InternalError', `vcnet webhook "${hook.name}" failed: ${message}`));
  }
}

/**
 * Runs the hook on its own copy of the request, within the budget. A VcnetError is a decision vcnet
 * understood (style item 11) and becomes a deny with its code; other throws propagate as crashes.
 */
async function decide(hook: WebhookHook, req: AdmissionRequest, log: FastifyBaseLogger, budgetMs: number): Promise<Decision | 'timeout'> {
  const controller = new AbortController();
  const own = structuredClone(req);
  const running = Promise.resolve().then(() => hook.handler(own, { signal: controller.signal, log }));
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), budgetMs); });
  try {
    const outcome = await Promise.race([running, expired]);
    if (outcome === 'timeout') {
      controller.abort(new Error(`the admission deadline of ${budgetMs} ms passed`));
      // The answer is already a deny; what the hook does after its abort is only worth a log line.
      running.catch((err: unknown) => log.debug({ err }, 'admission hook ended after its deadline'));
    }
    return outcome;
  } catch (err) {
    if (err instanceof VcnetError) {
      return deny(err.message, { code: err.status, reason: err.reason, ...(err.details !== undefined ? { details: err.details } : {}) });
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * How long a hook may run. vcnet answers before the API server gives up, with a deny that says what
 * happened: otherwise the user reads "context deadline exceeded", and under failurePolicy Ignore an
 * object vcnet never synced would be stored. The API server's `timeout` is whole seconds rounded up,
 * so a margin is kept back; a very short timeout still gets half of it.
 */
export function handlerBudgetMs(timeoutSeconds: number, marginMs: number = WEBHOOK_DEFAULTS.timeoutMarginMs): number {
  const totalMs = timeoutSeconds * 1000;
  return Math.max(totalMs - marginMs, Math.floor(totalMs / 2));
}

/** The `?timeout=` the API server sends: a Go duration in whole seconds ("10s"). */
function timeoutSecondsOf(query: unknown): number {
  const raw = (query as Record<string, unknown> | undefined)?.['timeout'];
  const m = typeof raw === 'string' ? /^(\d+)s$/.exec(raw) : null;
  const seconds = m === null ? NaN : Number(m[1]);
  return seconds > 0 ? seconds : WEBHOOK_DEFAULTS.timeoutSeconds;
}

function parseJson(_request: FastifyRequest, body: string | Buffer, done: (err: Error | null, value?: unknown) => void): void {
  try {
    done(null, JSON.parse(typeof body === 'string' ? body : body.toString('utf8')));
  } catch (err) {
    done(Object.assign(new Error(`the body is not valid JSON: ${(err as Error).message}`), { statusCode: 400 }));
  }
}

/** Errors fastify raises before a hook runs (too large, not JSON, wrong content type), as a Status. */
function onFrameworkError(metrics: WebhookMetrics, byPath: ReadonlyMap<string, WebhookHook>, err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const code = typeof err.statusCode === 'number' && err.statusCode >= 400 ? err.statusCode : 500;
  const hook = byPath.get(request.routeOptions.url ?? '')?.name ?? 'unknown';
  metrics.observe(hook, 'unknown', code >= 500 ? 'error' : 'bad_request', process.hrtime.bigint());
  if (code >= 500) request.log.error({ err, hook }, 'webhook request failed');
  else request.log.warn({ hook, code, problem: err.message }, 'rejected webhook request');
  const reason = ({ 400: 'BadRequest', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType' } as Record<number, string>)[code] ?? (code >= 500 ? 'InternalError' : 'BadRequest');
  void reply.code(code).type('application/json').send(statusOf(code, reason, `vcnet webhook "${hook}": ${err.message}`));
}
