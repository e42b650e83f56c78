// Virtual -> host names (§1.1 of /work/shared/reference/vcluster-networking.md), built exactly as
// vCluster builds them (SafeConcatName in loft-sh/vcluster pkg/util/translate/translate.go and the
// single-namespace translator) so host objects keep the names host-side tooling expects.
import { createHash } from 'node:crypto';
import { LABEL_PREFIX, TRANSLATED_LABEL_KEYS } from './keys.ts';

/** Longest Kubernetes name segment (DNS-1123 label, label key name part). */
const MAX_NAME = 63;
/** SafeConcat keeps this many characters of the joined name before the hash. */
const KEEP = 52;
/** SafeConcat appends this many hex characters of SHA-256. */
const HASH_CHARS = 10;

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/**
 * Joins the parts with `-`. A result longer than 63 bytes becomes its first 52 bytes, `-`, and the
 * first 10 hex characters of the SHA-256 of the whole joined string; only then is every `.-` replaced
 * by `-`. A cut that ends in `-` therefore yields `--` before the hash: that is vCluster's behaviour
 * and is kept, because host names must stay identical to vCluster's.
 * Inputs are Kubernetes names and label keys, i.e. ASCII, so bytes and UTF-16 units coincide.
 */
export function safeConcatName(...parts: string[]): string {
  const full = parts.join('-');
  if (Buffer.byteLength(full, 'utf8') <= MAX_NAME) return full;
  // vCluster repairs `.-` only in the hashed branch; an unhashed join cannot contain `.-` unless one
  // of its parts is already an invalid Kubernetes name.
  return `${full.slice(0, KEEP)}-${sha256Hex(full).slice(0, HASH_CHARS)}`.replaceAll('.-', '-');
}

/** Big-endian bytes as base36 with one leading '0' per leading zero byte (vCluster pkg/util/base36 EncodeBytes). */
function base36(bytes: Uint8Array): string {
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  const n = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
  return '0'.repeat(zeros) + (n === 0n ? '' : n.toString(36));
}

/**
 * The default Service `kubernetes` in `default` has no host twin of its own: it stands for the
 * vCluster's own host Service `HNS/VC` (the API server). This applies to Services, Endpoints and
 * EndpointSlices only; a Pod or ConfigMap called `kubernetes` in `default` is translated normally.
 */
export function isKubernetesService(vName: string, vNamespace: string): boolean {
  return vName === 'kubernetes' && vNamespace === 'default';
}

export interface TranslatorOptions {
  /** The vCluster name (VC): the Helm release name, a DNS-1035 label. */
  readonly vcluster: string;
  /** The host namespace (HNS) every namespaced virtual object is synced into, a DNS-1123 label. */
  readonly hostNamespace: string;
}

/**
 * The virtual <-> host naming rules of one virtual cluster. Build one from config at start-up and
 * pass it down; it holds no mutable state. Label helpers live in labels.ts and metadata helpers in
 * meta.ts, both taking a Translator.
 */
export class Translator {
  readonly vcluster: string;
  readonly hostNamespace: string;
  /** The four special virtual label keys -> their hashed host keys (§1.2). */
  readonly translatedLabelKeys: ReadonlyMap<string, string>;
  /** The reverse of translatedLabelKeys: hashed host key -> virtual key. */
  readonly untranslatedLabelKeys: ReadonlyMap<string, string>;

  constructor(opts: TranslatorOptions) {
    const { vcluster, hostNamespace } = opts;
    if (typeof vcluster !== 'string' || vcluster.length > MAX_NAME || !DNS1035_LABEL.test(vcluster)) {
      throw new Error(`invalid vCluster name ${JSON.stringify(vcluster)}: it must be a DNS-1035 label ` +
        '(at most 63 characters: lower-case letters, digits and "-", starting with a letter and ending with a letter or digit)');
    }
    if (typeof hostNamespace !== 'string' || hostNamespace.length > MAX_NAME || !DNS1123_LABEL.test(hostNamespace)) {
      throw new Error(`invalid host namespace ${JSON.stringify(hostNamespace)}: it must be a DNS-1123 label ` +
        '(at most 63 characters: lower-case letters, digits and "-", starting and ending with a letter or digit)');
    }
    this.vcluster = vcluster;
    this.hostNamespace = hostNamespace;
    const toHost = new Map<string, string>();
    const toVirtual = new Map<string, string>();
    for (const vKey of TRANSLATED_LABEL_KEYS) {
      const hKey = this.hashedLabelKey(LABEL_PREFIX, vKey);
      toHost.set(vKey, hKey);
      toVirtual.set(hKey, vKey);
    }
    this.translatedLabelKeys = toHost;
    this.untranslatedLabelKeys = toVirtual;
  }

  /**
   * Host name of a namespaced virtual object: SafeConcat(vName, "x", vNamespace, "x", VC); its host
   * namespace is always `hostNamespace`. An empty name (an unset reference) stays empty, as in vCluster.
   * For Services, Endpoints and EndpointSlices use hostServiceName, which knows `default/kubernetes`.
   */
  hostName(vName: string, vNamespace: string): string {
    if (vName === '') return '';
    if (vNamespace === '') {
      throw new Error(`cannot translate "${vName}" as a namespaced object: its virtual namespace is empty ` +
        '(cluster-scoped objects use hostClusterScopedName)');
    }
    return safeConcatName(vName, 'x', vNamespace, 'x', this.vcluster);
  }

  /**
   * Host name of a virtual Service, Endpoints or EndpointSlice: like hostName, except that
   * `default/kubernetes` maps to the vCluster's own host Service `VC` (see isKubernetesService).
   * That host object belongs to the vCluster installation; vcnet must never create, update or delete it.
   */
  hostServiceName(vName: string, vNamespace: string): string {
    return isKubernetesService(vName, vNamespace) ? this.vcluster : this.hostName(vName, vNamespace);
  }

  /** Host name of a cluster-scoped virtual object: SafeConcat("vcluster", vName, "x", HNS, "x", VC). */
  hostClusterScopedName(vName: string): string {
    if (vName === '') return '';
    return safeConcatName('vcluster', vName, 'x', this.hostNamespace, 'x', this.vcluster);
  }

  /**
   * vCluster's "short" host name, `v` + the first 13 base36 characters of SHA-256(`name-x-namespace-x-VC`).
   * vCluster only uses it for Pro's translate-patch references and reverse lookups; vcnet names
   * objects with hostName and offers this to recognise such names.
   */
  shortHostName(vName: string, vNamespace: string): string {
    if (vName === '') return '';
    const digest = createHash('sha256').update([vName, 'x', vNamespace, 'x', this.vcluster].join('-'), 'utf8').digest();
    return `v${base36(digest).slice(0, 13)}`;
  }

  /** Value of the MANAGED_BY marker label: VC for namespaced objects, SafeConcat(HNS, "x", VC) for cluster-scoped ones. */
  markerValue(clusterScoped = false): string {
    return clusterScoped ? safeConcatName(this.hostNamespace, 'x', this.vcluster) : this.vcluster;
  }

  /** SafeConcat(prefix, VC, "x", sha256hex(key)[0:10]): the hashed form of a label key (§1.2). */
  hashedLabelKey(prefix: string, key: string): string {
    return safeConcatName(prefix, this.vcluster, 'x', sha256Hex(key).slice(0, HASH_CHARS));
  }
}
