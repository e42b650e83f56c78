// The caches the sync engine reads instead of asking the API servers on every write: one Reflector
// (LIST + WATCH, re-list on 410, reconnect with backoff) per resource, started once and shared by
// the webhook path (facts, references) and the reconciler. Objects are raw wire JSON.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { Reflector, type ResourceRef } from '../kube/index.ts';
import type { Logger } from '../observability/logger.ts';

/** An object as it is on the wire (timestamps are strings), unlike the client's model classes. */
export interface WireObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string; namespace?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>;
    annotations?: Record<string, string>; creationTimestamp?: string; deletionTimestamp?: string;
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export interface InformerSpec {
  readonly cluster: 'virtual' | 'host';
  readonly resource: ResourceRef;
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

/** One reflector per spec, with logging of the failures it recovers from. */
export class Informer<T extends { readonly metadata: object } = WireObject> {
  // The reflector only reads name, namespace and resourceVersion; the wire shape is this module's.
  readonly reflector: Reflector<T & KubernetesObject>;

  constructor(kc: KubeConfig, spec: InformerSpec, logger: Logger) {
    this.reflector = new Reflector<T & KubernetesObject>(kc, {
      resource: spec.resource,
      ...(spec.namespace !== undefined ? { namespace: spec.namespace } : {}),
      ...(spec.labelSelector !== undefined ? { labelSelector: spec.labelSelector } : {}),
      ...(spec.fieldSelector !== undefined ? { fieldSelector: spec.fieldSelector } : {}),
    });
    const what = `${spec.cluster} ${spec.resource.plural}${spec.namespace ? ` in ${spec.namespace}` : ''}`;
    this.reflector.on('error', (status, retryInMs) => {
      logger.warn({ cluster: spec.cluster, resource: spec.resource.plural, code: status.code, reason: status.reason, retryInMs }, `watch of ${what} failed: ${status.message}`);
    });
  }

  get store(): ReadonlyMap<string, T> {
    return this.reflector.store;
  }

  get(namespace: string, name: string): T | undefined {
    return this.reflector.store.get(namespace === '' ? name : `${namespace}/${name}`);
  }

  start(): this {
    this.reflector.start();
    return this;
  }

  synced(): Promise<void> {
    return this.reflector.waitForSync();
  }

  stop(): Promise<void> {
    return this.reflector.stop();
  }
}
