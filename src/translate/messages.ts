// Host answers in virtual words. When the host refuses an object vcnet wrote for a virtual one, the
// user must read the refusal about THEIR object: `pods "web" is forbidden: exceeded quota ...`, not
// the host twin's `pods "web-x-default-x-vc"`. PURE string work on the host's Status: its message
// and its details.

/** One name to replace: the host object's name and namespace, and the virtual object's. */
export interface NameMapping {
  readonly host: { readonly name: string; readonly namespace: string };
  readonly virtual: { readonly name: string; readonly namespace: string };
}

/**
 * The host's message with host names replaced by virtual ones. Longer host names are replaced first,
 * so a name that contains another is not cut in half. `<hns>/<hname>` becomes `<vns>/<vname>`, and a
 * quoted host namespace (`namespace "hns"`) becomes the virtual namespace of the first mapping: the
 * namespace the user wrote to. Names that appear inside other words are left alone.
 */
export function toVirtualMessage(message: string, mappings: readonly NameMapping[]): string {
  if (mappings.length === 0) return message;
  let out = message;
  const sorted = [...mappings].sort((a, b) => b.host.name.length - a.host.name.length);
  for (const m of sorted) {
    if (m.host.name === '') continue;
    out = replaceWord(out, `${m.host.namespace}/${m.host.name}`, `${m.virtual.namespace}/${m.virtual.name}`);
    out = replaceWord(out, m.host.name, m.virtual.name);
  }
  const first = mappings[0];
  if (first !== undefined && first.host.namespace !== '') {
    out = out.split(`namespace "${first.host.namespace}"`).join(`namespace "${first.virtual.namespace}"`);
    out = out.split(`namespace: ${first.host.namespace}`).join(`namespace: ${first.virtual.namespace}`);
  }
  return out;
}

// Object types rather than interfaces: they are handed on as plain JSON records (Status details of
// an admission denial), which an interface is not assignable to.

/** metav1.StatusCause (the field `causes` of StatusDetails). */
export type StatusCause = {
  readonly reason?: string;
  readonly message?: string;
  readonly field?: string;
};

/** metav1.StatusDetails: which object a Status is about, and why. */
export type StatusDetails = {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
  readonly retryAfterSeconds?: number;
};

/**
 * The host's Status details about the host twin, as details about the virtual object: kubectl prints
 * `details.name` and the causes' messages (`The Service "web" is invalid: spec.ports[0].nodePort: ...`),
 * so they must name the object the user wrote. Kept: kind, group, the name (the host name of the
 * mapping becomes the virtual one; any other is rewritten like a message) and the causes with their
 * messages in virtual words. Dropped: the host twin's uid, which names no virtual object, and
 * retryAfterSeconds.
 */
export function toVirtualStatusDetails(hDetails: StatusDetails, mapping: NameMapping): StatusDetails {
  const d = hDetails;
  return {
    ...(d.kind !== undefined ? { kind: d.kind } : {}),
    ...(d.group !== undefined ? { group: d.group } : {}),
    ...(d.name !== undefined ? { name: d.name === mapping.host.name ? mapping.virtual.name : toVirtualMessage(d.name, [mapping]) } : {}),
    ...(d.causes !== undefined ? { causes: d.causes.map((c) => ({ ...c, ...(c.message !== undefined ? { message: toVirtualMessage(c.message, [mapping]) } : {}) })) } : {}),
  };
}

const NAME_CHAR = /[a-z0-9.-]/;

/** Replaces `word` where it is not part of a longer DNS name (the characters around it are no name characters). */
function replaceWord(text: string, word: string, by: string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const at = text.indexOf(word, from);
    if (at < 0) return out + text.slice(from);
    const before = at === 0 ? '' : text[at - 1] ?? '';
    const after = text[at + word.length] ?? '';
    const bounded = !NAME_CHAR.test(before) && !(NAME_CHAR.test(after) && !(after === '.' && !NAME_CHAR.test(text[at + word.length + 1] ?? '')));
    out += text.slice(from, at) + (bounded ? by : word);
    from = at + word.length;
  }
}
