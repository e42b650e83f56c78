// The building blocks of the schema in schema.ts: a field knows its type, its default, how to check
// a value and what it means (the text docs/configuration.md shows). The TypeScript type of the whole
// configuration is computed from the schema, so a new field is one entry there and nothing else.

import type { PathSegment } from './errors.ts';
import { quote } from './checks.ts';

export interface Problem {
  readonly at: readonly PathSegment[];
  readonly detail: string;
  /** The problem is the key itself (an unknown field), not its value: errors point at the key. */
  readonly onKey?: boolean;
}

/** Returned by Leaf.read when the value was refused; the problems say why. */
export const INVALID: unique symbol = Symbol('invalid');

export interface Leaf<T> {
  readonly kind: 'leaf';
  /** The type as a reader knows it: "string", "integer", "list of strings", ... */
  readonly type: string;
  readonly default: T;
  readonly doc: string;
  /** A filesystem path: a relative value read from a file is taken relative to that file's directory. */
  readonly file: boolean;
  read(raw: unknown, at: readonly PathSegment[], problems: Problem[]): T | typeof INVALID;
}

export interface Section<F extends Fields> {
  readonly kind: 'section';
  readonly doc: string;
  readonly fields: F;
}

export type Field = Leaf<unknown> | Section<Fields>;

export interface Fields {
  readonly [key: string]: Field;
}

/** The value a field holds once read and defaulted. */
export type ValueOf<F> = F extends Leaf<infer T> ? T
  : F extends Section<infer G> ? { readonly [K in keyof G]: ValueOf<G[K]> }
  : never;

/** A value check: undefined when the value is good, otherwise the reason, starting with the quoted value. */
export type Check<T> = (value: T) => string | undefined;

export function section<const F extends Fields>(doc: string, fields: F): Section<F> {
  return { kind: 'section', doc, fields };
}

export function string(opts: { default: string; doc: string; check?: Check<string>; file?: boolean }): Leaf<string> {
  const file = opts.file ?? false;
  return leaf('string', opts.default, opts.doc, file, (raw, at, problems) => {
    if (typeof raw !== 'string') return typeMismatch('a string', raw, at, problems);
    const reason = opts.check?.(raw) ?? (file ? checkFilePath(raw) : undefined);
    if (reason !== undefined) return refuse(reason, at, problems);
    return raw;
  });
}

export function integer(opts: { default: number; min: number; max?: number; doc: string; unit?: string }): Leaf<number> {
  const { min, max } = opts;
  const range = max === undefined ? `at least ${min}` : `from ${min} to ${max}${opts.unit === undefined ? '' : ` ${opts.unit}`}`;
  return leaf('integer', opts.default, opts.doc, false, (raw, at, problems) => {
    if (typeof raw !== 'number' || !Number.isInteger(raw)) return typeMismatch('an integer', raw, at, problems);
    if (raw < min || (max !== undefined && raw > max)) return refuse(`must be an integer ${range}, got ${raw}`, at, problems);
    return raw;
  });
}

export function oneOf<const V extends string>(values: readonly V[], opts: { default: NoInfer<V>; doc: string }): Leaf<V> {
  const type = values.map((v) => JSON.stringify(v)).join(' | ');
  return leaf(type, opts.default, opts.doc, false, (raw, at, problems) => {
    if (typeof raw !== 'string') return typeMismatch('a string', raw, at, problems);
    if ((values as readonly string[]).includes(raw)) return raw as V;
    const near = values.find((v) => v.toLowerCase() === raw.toLowerCase());
    const hint = near === undefined ? '' : `; did you mean "${near}"?`;
    return refuse(`${quote(raw)} is not one of ${values.join(', ')}${hint}`, at, problems);
  });
}

export function stringList(opts: { default: readonly string[]; doc: string; check: Check<string> }): Leaf<readonly string[]> {
  return leaf('list of strings', opts.default, opts.doc, false, (raw, at, problems) => {
    if (!Array.isArray(raw)) return typeMismatch('a list', raw, at, problems);
    const before = problems.length;
    const out: string[] = [];
    raw.forEach((item: unknown, i) => {
      if (typeof item !== 'string') {
        typeMismatch('a string', item, [...at, i], problems);
        return;
      }
      const reason = opts.check(item);
      if (reason !== undefined) refuse(reason, [...at, i], problems);
      else out.push(item);
    });
    return problems.length === before ? out : INVALID;
  });
}

export function boolean(opts: { default: boolean; doc: string }): Leaf<boolean> {
  return leaf('boolean', opts.default, opts.doc, false, (raw, at, problems) => {
    if (typeof raw === 'boolean') return raw;
    const detail = `expected a boolean (true or false), got ${describe(raw)}`;
    // "true" in quotes is text in YAML; Kubernetes' own strict decoding refuses it the same way.
    const hint = typeof raw === 'string' && /^(true|false)$/i.test(raw) ? '; write it without quotes' : '';
    return refuse(detail + hint, at, problems);
  });
}

/**
 * A mapping of strings to strings (labels, an image map). Each problem names the entry by its key,
 * `translateImage["nginx:1.25"]`; a key that is refused points at the key itself.
 */
export function stringMap(opts: {
  default: Readonly<Record<string, string>>;
  doc: string;
  checkKey: Check<string>;
  checkValue: Check<string>;
}): Leaf<Readonly<Record<string, string>>> {
  return leaf('map of strings', Object.freeze({ ...opts.default }), opts.doc, false, (raw, at, problems) => {
    if (!isPlainObject(raw)) return typeMismatch('a mapping', raw, at, problems);
    const before = problems.length;
    const entries: Array<[string, string]> = [];
    for (const [key, value] of Object.entries(raw)) {
      const keyReason = opts.checkKey(key);
      if (keyReason !== undefined) {
        problems.push({ at: [...at, key], detail: keyReason, onKey: true });
        continue;
      }
      if (typeof value !== 'string') {
        typeMismatch('a string', value, [...at, key], problems);
        continue;
      }
      const valueReason = opts.checkValue(value);
      if (valueReason !== undefined) refuse(valueReason, [...at, key], problems);
      else entries.push([key, value]);
    }
    // fromEntries defines own properties, so a key named "__proto__" stays a key.
    return problems.length === before ? Object.freeze(Object.fromEntries(entries)) : INVALID;
  });
}

function leaf<T>(type: string, dflt: T, doc: string, file: boolean, read: Leaf<T>['read']): Leaf<T> {
  return { kind: 'leaf', type, default: dflt, doc, file, read };
}

function refuse(detail: string, at: readonly PathSegment[], problems: Problem[]): typeof INVALID {
  problems.push({ at, detail });
  return INVALID;
}

function typeMismatch(expected: string, raw: unknown, at: readonly PathSegment[], problems: Problem[]): typeof INVALID {
  let detail = `expected ${expected}, got ${describe(raw)}`;
  // YAML 1.1 (the dialect of kubectl and Helm) reads unquoted yes/no/on/off/y/n as booleans and
  // 0755 as a number; the fix is always the same.
  if (expected === 'a string' && (typeof raw === 'boolean' || typeof raw === 'number')) {
    detail += '; put the value in quotes to keep it as text';
  }
  return refuse(detail, at, problems);
}

/** "a number (8443)", "a list", "a mapping": what the user wrote, in YAML's words. */
export function describe(raw: unknown): string {
  if (raw === null || raw === undefined) return 'nothing (null)';
  if (Array.isArray(raw)) return 'a list';
  switch (typeof raw) {
    case 'string': return `a string (${quote(raw)})`;
    case 'number': return `a number (${raw})`;
    case 'boolean': return `a boolean (${raw})`;
    case 'object': return isPlainObject(raw) ? 'a mapping' : `a ${raw.constructor?.name ?? 'value'}`;
    default: return `a ${typeof raw}`;
  }
}

export function isPlainObject(raw: unknown): raw is Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return false;
  const proto = Object.getPrototypeOf(raw) as unknown;
  return proto === Object.prototype || proto === null;
}

function checkFilePath(value: string): string | undefined {
  if (value.includes('\0')) return `${quote(value)} contains a NUL character, which no file path can hold`;
  // Nothing expands `~` in a config file, so it would silently name a directory called "~".
  if (value === '~' || value.startsWith('~/')) {
    return `${quote(value)} starts with ~, which vcnet does not expand; write the full path, or one relative to the config file`;
  }
  return undefined;
}
