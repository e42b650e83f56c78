// Config errors name the field they are about by its path in the file (`controlPlane.proxy.port`,
// `controlPlane.proxy.extraSANs[1]`), and all of a file's problems are reported together so a user
// fixes them in one round. The code matches the VCN_ERR_CONFIG_INVALID entry of src/errors.ts; it is
// repeated rather than imported because config depends on no other part of vcnet (DESIGN.md).

export type PathSegment = string | number;

export interface ConfigErrorOptions {
  /** Where the configuration came from: a file path, or a name such as "command-line flags". */
  readonly source?: string | undefined;
  /** 1-based position in the source text, when the configuration was read from YAML. */
  readonly line?: number | undefined;
  readonly column?: number | undefined;
  readonly cause?: unknown;
}

export class ConfigError extends Error {
  readonly code = 'VCN_ERR_CONFIG_INVALID';
  /** The field path, such as `controlPlane.proxy.extraSANs[1]`; "" for the file as a whole. */
  readonly path: string;
  /** The message without the path. */
  readonly detail: string;
  readonly source: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(path: string, detail: string, opts: ConfigErrorOptions = {}) {
    super(path === '' ? detail : `${path}: ${detail}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ConfigError';
    this.path = path;
    this.detail = detail;
    this.source = opts.source;
    this.line = opts.line;
    this.column = opts.column;
  }

  /** `file:line:column: ` (or the parts of it that are known), the way compilers point at a spot. */
  get location(): string {
    if (this.line === undefined) return '';
    const column = this.column ?? 1;
    return this.source === undefined ? `line ${this.line}, column ${column}: ` : `${this.source}:${this.line}:${column}: `;
  }
}

export class ConfigErrors extends Error {
  readonly code = 'VCN_ERR_CONFIG_INVALID';
  readonly errors: ConfigError[];
  readonly source: string | undefined;

  constructor(errors: ConfigError[], source?: string) {
    const where = source === undefined ? '' : ` in ${source}`;
    const count = errors.length === 1 ? '1 problem' : `${errors.length} problems`;
    super([`invalid vcnet configuration${where} (${count}):`, ...errors.map((e) => `  ${e.location}${e.message}`)].join('\n'));
    this.name = 'ConfigErrors';
    this.errors = errors;
    this.source = source;
  }
}

/** `a.b[2].c`; keys that are not plain identifiers are quoted, as in `networking["pod cidr"]`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(s)}]`;
  }
  return out;
}
