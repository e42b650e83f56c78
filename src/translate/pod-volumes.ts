// Volumes of a host pod (§2.1 "References rewritten to host names", "Downward API rewrite" and
// "Service-account token volumes" of /work/shared/reference/vcluster-networking.md).
import assert from 'node:assert/strict';
import { POD_TOKEN_PREFIX } from './keys.ts';
import { sha256Hex, type Translator } from './names.ts';
import { toHostFieldRef } from './pod-env.ts';
import type { PodReferences } from './pod-refs.ts';
import type { DownwardAPIVolumeFile, Pod, SecretRefSource, Volume, VolumeProjection } from './pod-types.ts';

/**
 * Lifetime vCluster asks for. The host pod holds the token as a fixed annotation or Secret value that
 * no kubelet refreshes, so it must outlive the pod; the source's own expirationSeconds is ignored.
 */
export const SA_TOKEN_EXPIRATION_SECONDS = 10 * 365 * 24 * 60 * 60;

/** File mode of the projected token file: readable by any user the container runs as. */
const TOKEN_MODE = 0o644;

/** Key of one serviceAccountToken projection in `facts.serviceAccountTokens`: `<volume name>/<source index>`. */
export function serviceAccountTokenKey(volumeName: string, sourceIndex: number): string {
  return `${volumeName}/${sourceIndex}`;
}

/** A TokenRequest the caller must make against the VIRTUAL API server before calling podToHost. */
export interface ServiceAccountTokenRequest {
  /** Where podToHost looks the token up in `facts.serviceAccountTokens`. */
  readonly key: string;
  /** The virtual service account, in the virtual pod's namespace. */
  readonly serviceAccountName: string;
  readonly audiences: readonly string[];
  readonly expirationSeconds: number;
  /** Binds the token to the virtual pod: it dies with it. */
  readonly boundObjectRef: { readonly apiVersion: 'v1'; readonly kind: 'Pod'; readonly name: string; readonly uid: string };
}

function virtualServiceAccount(vPod: Pick<Pod, 'spec'>): string {
  return vPod.spec.serviceAccountName || vPod.spec.serviceAccount || 'default';
}

/**
 * The tokens a virtual pod needs, one per projected serviceAccountToken source: for the pod's service
 * account (or `default`), bound to the virtual pod, for the requested audience or else the virtual
 * API server's own (`https://kubernetes.default.svc[.<domain>]`, `https://kubernetes.default`).
 */
export function serviceAccountTokenRequests(vPod: Pick<Pod, 'metadata' | 'spec'>, clusterDomain: string): ServiceAccountTokenRequest[] {
  const defaultAudiences = [
    ...(clusterDomain === '' ? [] : [`https://kubernetes.default.svc.${clusterDomain}`]),
    'https://kubernetes.default.svc',
    'https://kubernetes.default',
  ];
  const out: ServiceAccountTokenRequest[] = [];
  for (const v of vPod.spec.volumes ?? []) {
    (v.projected?.sources ?? []).forEach((s, i) => {
      if (s.serviceAccountToken === undefined) return;
      out.push({
        key: serviceAccountTokenKey(v.name, i),
        serviceAccountName: virtualServiceAccount(vPod),
        audiences: s.serviceAccountToken.audience ? [s.serviceAccountToken.audience] : defaultAudiences,
        expirationSeconds: SA_TOKEN_EXPIRATION_SECONDS,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: vPod.metadata.name ?? '', uid: vPod.metadata.uid ?? '' },
      });
    });
  }
  return out;
}

/**
 * Host name of the Secret holding a pod's tokens with `useSecretsForSATokens`: the translation of
 * `<pod>-sa-token`, as in vCluster.
 */
export function tokenSecretName(tr: Translator, vPod: Pick<Pod, 'metadata'>): string {
  return tr.hostName(`${vPod.metadata.name ?? ''}-sa-token`, vPod.metadata.namespace ?? '');
}

/**
 * The host Secret podToHost expects the caller to create before the pod (useSecretsForSATokens), keys
 * as the secret projections read them. As in vCluster, the caller should make the host pod its owner
 * once the pod exists, so the tokens go away with it.
 */
export interface TokenSecret {
  readonly name: string;
  readonly namespace: string;
  readonly stringData: Readonly<Record<string, string>>;
}

/**
 * The annotation `vcluster.loft.sh/token-<8 chars>` holding one token. vCluster draws the 8
 * characters at random; here they are the first 8 hex characters of SHA-256 of the token's key, so
 * the same virtual pod always yields the same host pod: the webhook and the reconciler compute equal
 * objects, a re-sync does not pile up new annotations, and the translation stays free of
 * randomness. The improbable clash of two keys is resolved deterministically by rehashing.
 */
function tokenAnnotationKey(key: string, taken: ReadonlySet<string>): string {
  for (let n = 0; ; n++) {
    const candidate = POD_TOKEN_PREFIX + sha256Hex(n === 0 ? key : `${key}#${n}`).slice(0, 8);
    if (!taken.has(candidate)) return candidate;
  }
}

export interface HostVolumes {
  readonly volumes: Volume[] | undefined;
  /** Token annotations for the host pod (default storage). */
  readonly tokenAnnotations: Record<string, string>;
  /** The Secret to create before the pod (useSecretsForSATokens), when the pod has token sources. */
  readonly tokenSecret: TokenSecret | undefined;
}

function toHostDownwardItems(tr: Translator, items: readonly DownwardAPIVolumeFile[] | undefined): DownwardAPIVolumeFile[] | undefined {
  return items?.map((it) => (it.fieldRef === undefined ? it : { ...it, fieldRef: toHostFieldRef(tr, it.fieldRef) }));
}

function withSecretRef<S extends SecretRefSource>(refs: PodReferences, src: S): S {
  if (!src.secretRef?.name) return src;
  return { ...src, secretRef: { ...src.secretRef, name: refs.add('Secret', src.secretRef.name) } };
}

/** The volume-source fields that name a Secret in `secretRef`. */
const SECRET_REF_SOURCES = ['iscsi', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'scaleIO', 'storageos'] as const;

interface TokenContext {
  readonly tr: Translator;
  readonly vPod: Pick<Pod, 'metadata' | 'spec'>;
  readonly tokens: Readonly<Record<string, string>>;
  readonly useSecrets: boolean;
  readonly annotations: Record<string, string>;
  readonly secretData: Record<string, string>;
}

function toHostTokenSource(ctx: TokenContext, volumeName: string, index: number, firstInVolume: boolean, path: string): VolumeProjection {
  const key = serviceAccountTokenKey(volumeName, index);
  const token = ctx.tokens[key];
  assert.ok(token !== undefined && token !== '',
    `podToHost: facts.serviceAccountTokens["${key}"] is missing; request it first (see serviceAccountTokenRequests)`);
  if (ctx.useSecrets) {
    // vCluster keys the Secret by volume name; a second token source in the same volume gets its own key.
    const dataKey = firstInVolume ? volumeName : `${volumeName}.${index}`;
    ctx.secretData[dataKey] = token;
    return { secret: { name: tokenSecretName(ctx.tr, ctx.vPod), items: [{ key: dataKey, path, mode: TOKEN_MODE }] } };
  }
  const annotation = tokenAnnotationKey(key, new Set(Object.keys(ctx.annotations)));
  ctx.annotations[annotation] = token;
  return {
    downwardAPI: { items: [{ path, fieldRef: { apiVersion: 'v1', fieldPath: `metadata.annotations['${annotation}']` }, mode: TOKEN_MODE }] },
  };
}

function toHostProjection(ctx: TokenContext, refs: PodReferences, v: Volume): Volume {
  let firstToken = true;
  const sources = v.projected?.sources?.map((s, i): VolumeProjection => {
    if (s.serviceAccountToken !== undefined) {
      const { serviceAccountToken, ...rest } = s;
      const hSource = { ...rest, ...toHostTokenSource(ctx, v.name, i, firstToken, serviceAccountToken.path) };
      firstToken = false;
      return hSource;
    }
    if (s.secret?.name) return { ...s, secret: { ...s.secret, name: refs.add('Secret', s.secret.name) } };
    if (s.configMap?.name) return { ...s, configMap: { ...s.configMap, name: refs.add('ConfigMap', s.configMap.name) } };
    if (s.downwardAPI !== undefined) return { ...s, downwardAPI: { ...s.downwardAPI, items: toHostDownwardItems(ctx.tr, s.downwardAPI.items) } };
    return s;
  });
  return sources === undefined ? v : { ...v, projected: { ...v.projected, sources } };
}

function toHostVolume(ctx: TokenContext, refs: PodReferences, v: Volume): Volume {
  const vName = ctx.vPod.metadata.name ?? '';
  let h: Volume = v;
  if (v.configMap?.name) h = { ...h, configMap: { ...v.configMap, name: refs.add('ConfigMap', v.configMap.name) } };
  if (v.secret?.secretName) h = { ...h, secret: { ...v.secret, secretName: refs.add('Secret', v.secret.secretName) } };
  if (v.persistentVolumeClaim?.claimName) {
    h = { ...h, persistentVolumeClaim: { ...v.persistentVolumeClaim, claimName: refs.add('PersistentVolumeClaim', v.persistentVolumeClaim.claimName) } };
  }
  if (v.ephemeral !== undefined) {
    // The virtual cluster's ephemeral-volume controller creates the PVC `<pod>-<volume>` (owned by the
    // virtual pod) and the PVC syncer syncs it; pointing at it keeps the host's controller from
    // creating a second claim from the same template.
    const { ephemeral: _ephemeral, ...rest } = h;
    h = { ...rest, persistentVolumeClaim: { claimName: refs.add('PersistentVolumeClaim', `${vName}-${v.name}`) } };
  }
  if (v.projected !== undefined) h = toHostProjection(ctx, refs, h);
  if (v.downwardAPI !== undefined) h = { ...h, downwardAPI: { ...v.downwardAPI, items: toHostDownwardItems(ctx.tr, v.downwardAPI.items) } };
  for (const field of SECRET_REF_SOURCES) {
    const src = v[field];
    if (src !== undefined) h = { ...h, [field]: withSecretRef(refs, src) };
  }
  if (v.azureFile?.secretName) h = { ...h, azureFile: { ...v.azureFile, secretName: refs.add('Secret', v.azureFile.secretName) } };
  if (v.csi?.nodePublishSecretRef?.name) {
    h = { ...h, csi: { ...v.csi, nodePublishSecretRef: { name: refs.add('Secret', v.csi.nodePublishSecretRef.name) } } };
  }
  if (v.glusterfs?.endpoints) h = { ...h, glusterfs: { ...v.glusterfs, endpoints: refs.add('Endpoints', v.glusterfs.endpoints) } };
  return h;
}

/**
 * The host pod's volumes: every name of a Secret, ConfigMap, PVC or Endpoints translated (and
 * recorded in `refs`), ephemeral volumes turned into their PVC, downward API paths rewritten, and
 * projected service-account tokens replaced by the tokens the caller obtained, stored in pod
 * annotations (default) or in the Secret `tokenSecret` (`useSecretsForSATokens`).
 */
export function toHostVolumes(
  tr: Translator,
  refs: PodReferences,
  vPod: Pick<Pod, 'metadata' | 'spec'>,
  tokens: Readonly<Record<string, string>>,
  useSecretsForSATokens: boolean,
): HostVolumes {
  const ctx: TokenContext = { tr, vPod, tokens, useSecrets: useSecretsForSATokens, annotations: {}, secretData: {} };
  const volumes = vPod.spec.volumes?.map((v) => toHostVolume(ctx, refs, v));
  const tokenSecret = Object.keys(ctx.secretData).length === 0
    ? undefined
    : { name: tokenSecretName(tr, vPod), namespace: tr.hostNamespace, stringData: ctx.secretData };
  return { volumes, tokenAnnotations: ctx.annotations, tokenSecret };
}
