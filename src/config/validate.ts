// Reading a configuration value against the schema: type and value checks per field, unknown fields
// (with a suggestion), defaults, then the rules between fields. Every problem is collected before
// anything is thrown, so one run reports them all.

import { isAbsolute, resolve } from 'node:path';
import { ConfigError, ConfigErrors, formatPath } from './errors.ts';
import type { PathSegment } from './errors.ts';
import { INVALID, describe, isPlainObject } from './fields.ts';
import type { Field, Fields, Problem, Section } from './fields.ts';
import { crossChecks, schema } from './schema.ts';
import type { VcnetConfig } from './schema.ts';
import { VCLUSTER_FIELDS } from './vcluster.ts';

export interface ReadOptions {
  /** Relative file paths in the input are resolved against this directory (the config file's). */
  readonly baseDir?: string | undefined;
}

export interface ParseOptions extends ReadOptions {
  /** Named in error messages: a file path, or something like "command-line flags". */
  readonly source?: string | undefined;
}

/** Overrides for mergeConfig: any subset of the fields; `undefined` leaves a field as it is. */
export type DeepPartial<T> = T extends readonly unknown[] ? T
  : T extends object ? { readonly [K in keyof T]?: DeepPartial<T[K]> | undefined }
  : T;

/** Checks `input` and fills in defaults; never throws, the problems say what is wrong. */
export function readConfig(input: unknown, opts: ReadOptions = {}): { config: VcnetConfig; problems: Problem[] } {
  const ctx: Context = { problems: [], invalid: [], baseDir: opts.baseDir };
  const config = readSection(schema, input, [], ctx) as unknown as VcnetConfig;
  for (const rule of crossChecks) {
    const blocked = rule.fields.some((f) => ctx.invalid.some((p) => p === '' || f === p || f.startsWith(`${p}.`)));
    if (blocked) continue;
    for (const { path, detail } of rule.check(config)) ctx.problems.push({ at: path.split('.'), detail });
  }
  return { config, problems: ctx.problems };
}

/** Validates `input` (a parsed config file, or any object) and applies defaults. Throws ConfigErrors. */
export function parseConfig(input: unknown, opts: ParseOptions = {}): VcnetConfig {
  const { config, problems } = readConfig(input, opts);
  if (problems.length > 0) {
    throw new ConfigErrors(problems.map((p) => new ConfigError(formatPath(p.at), p.detail, { source: opts.source })), opts.source);
  }
  return config;
}

let defaults: VcnetConfig | undefined;

/** The configuration of an empty file. Frozen, so it is shared safely. */
export function defaultConfig(): VcnetConfig {
  defaults ??= parseConfig({});
  return defaults;
}

/**
 * Lays `overrides` (command-line flags, say) over `base` and validates the result as a whole, so an
 * override that conflicts with the file is caught. Lists are replaced, not appended to; `undefined`
 * leaves a field alone and `null` puts it back to its default.
 */
export function mergeConfig(base: VcnetConfig, overrides: DeepPartial<VcnetConfig>, opts: { readonly source?: string } = {}): VcnetConfig {
  return parseConfig(mergeValues(base, overrides), { source: opts.source });
}

export interface FieldInfo {
  readonly path: string;
  readonly type: string;
  readonly default: unknown;
  readonly doc: string;
  /** The field exists in vCluster's vcluster.yaml with the same meaning. */
  readonly vcluster: boolean;
  /** A filesystem path, resolved against the config file's directory. */
  readonly file: boolean;
}

/** Every leaf field of the schema, in file order: the source of docs/configuration.md's table. */
export function configFields(): FieldInfo[] {
  const out: FieldInfo[] = [];
  const walk = (fields: Fields, at: string[]): void => {
    for (const [key, field] of Object.entries(fields)) {
      const path = [...at, key];
      if (field.kind === 'section') walk(field.fields, path);
      else out.push({ path: path.join('.'), type: field.type, default: field.default, doc: field.doc, vcluster: path[0] !== 'vcnet', file: field.file });
    }
  };
  walk(schema.fields, []);
  return out;
}

interface Context {
  readonly problems: Problem[];
  /** Paths whose value was refused (and defaulted); rules between fields skip them. */
  readonly invalid: string[];
  readonly baseDir: string | undefined;
}

function readSection(section: Section<Fields>, raw: unknown, at: PathSegment[], ctx: Context): Record<string, unknown> {
  let given: Record<string, unknown> = {};
  // null is an empty entry (`networking:` with nothing under it); like Helm, that means the defaults.
  if (raw !== null && raw !== undefined) {
    if (isPlainObject(raw)) {
      given = raw;
    } else {
      const detail = at.length === 0
        ? `the configuration must be a mapping of fields (such as "networking:"), got ${describe(raw)}`
        : `expected a mapping of fields, got ${describe(raw)}`;
      ctx.problems.push({ at, detail });
      ctx.invalid.push(formatPath(at));
    }
  }
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(section.fields, key)) ctx.problems.push({ at: [...at, key], detail: unknownField(section, at, key), onKey: true });
  }
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(section.fields)) {
    out[key] = readField(field, Object.hasOwn(given, key) ? given[key] : undefined, [...at, key], ctx);
  }
  return Object.freeze(out);
}

function readField(field: Field, raw: unknown, at: PathSegment[], ctx: Context): unknown {
  if (field.kind === 'section') return readSection(field, raw, at, ctx);
  if (raw === null || raw === undefined) return freezeCopy(field.default);
  const value = field.read(raw, at, ctx.problems);
  if (value === INVALID) {
    ctx.invalid.push(formatPath(at));
    return freezeCopy(field.default);
  }
  if (field.file && ctx.baseDir !== undefined && typeof value === 'string' && value !== '' && !isAbsolute(value)) {
    return resolve(ctx.baseDir, value);
  }
  return freezeCopy(value);
}

function freezeCopy(value: unknown): unknown {
  return Array.isArray(value) ? Object.freeze([...value]) : value;
}

function unknownField(section: Section<Fields>, at: readonly PathSegment[], key: string): string {
  const path = formatPath([...at, key]);
  if (VCLUSTER_FIELDS.has(path)) return `unknown field: vCluster's "${path}" is not supported by vcnet`;
  const siblings = Object.keys(section.fields);
  const near = closest(key, siblings);
  if (near !== undefined) return `unknown field; did you mean "${near}"?`;
  const elsewhere = pathsByName().get(key.toLowerCase());
  if (elsewhere !== undefined) return `unknown field here; did you mean ${elsewhere.map((p) => `"${p}"`).join(' or ')}?`;
  return `unknown field; the fields here are ${siblings.join(', ')}`;
}

let byName: Map<string, string[]> | undefined;

/** Every field and section of the schema by its (lower-cased) last name, for "it goes over there" hints. */
function pathsByName(): Map<string, string[]> {
  if (byName !== undefined) return byName;
  const map = new Map<string, string[]>();
  const walk = (fields: Fields, at: string[]): void => {
    for (const [key, field] of Object.entries(fields)) {
      const path = [...at, key];
      const name = key.toLowerCase();
      map.set(name, [...(map.get(name) ?? []), path.join('.')]);
      if (field.kind === 'section') walk(field.fields, path);
    }
  };
  walk(schema.fields, []);
  byName = map;
  return map;
}

/** The candidate a typo most likely meant: a small edit distance, a different case, or a prefix. */
export function closest(key: string, candidates: readonly string[]): string | undefined {
  const k = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    const d = editDistance(k, c);
    const near = d <= (k.length < 5 ? 1 : 2) || (Math.min(k.length, c.length) >= 4 && (c.startsWith(k) || k.startsWith(c)));
    if (near && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] as number;
}

function mergeValues(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const out: Record<string, unknown> = { ...base };
  for (const key of Object.keys(override)) {
    // defineProperty, so that a key named "__proto__" stays a key (and is reported as unknown).
    Object.defineProperty(out, key, {
      value: mergeValues(Object.hasOwn(base, key) ? base[key] : undefined, override[key]),
      enumerable: true, writable: true, configurable: true,
    });
  }
  return out;
}
