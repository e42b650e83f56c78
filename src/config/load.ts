// Reading the config file. YAML is parsed as YAML 1.1, the dialect kube-apiserver, kubectl and Helm
// read (sigs.k8s.io/yaml sits on go-yaml v2), so a file means the same to vcnet as to vCluster's
// tooling. Every problem, syntax or schema, is reported with its line and column.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Tags, YAMLError } from 'yaml';
import { ConfigError, ConfigErrors, formatPath } from './errors.ts';
import type { PathSegment } from './errors.ts';
import type { Problem } from './fields.ts';
import type { VcnetConfig } from './schema.ts';
import { readConfig } from './validate.ts';
import type { ParseOptions } from './validate.ts';

/** Parses and validates YAML text. An empty text (or only comments) gives the defaults. Throws ConfigErrors. */
export function loadConfigText(text: string, opts: ParseOptions = {}): VcnetConfig {
  const { source } = opts;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { version: '1.1', customTags: goYamlV2Tags, lineCounter, prettyErrors: true, uniqueKeys: true });
  // Warnings too (an unknown tag such as `!foo`): the value would silently differ from what was written.
  const syntax = [...doc.errors, ...doc.warnings];
  if (syntax.length > 0) throw new ConfigErrors(syntax.map((e) => yamlError(e, text, source)), source);

  let input: unknown;
  try {
    // The alias limit stops "billion laughs" expansion (yaml's own default, made explicit).
    input = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigErrors([new ConfigError('', `YAML error: ${(err as Error).message}`, { source, cause: err })], source);
  }

  const { config, problems } = readConfig(input, opts);
  if (problems.length === 0) return config;
  const errors = problems
    .map((p) => ({ p, pos: locate(doc, p, lineCounter) }))
    .sort((a, b) => (a.pos?.line ?? Infinity) - (b.pos?.line ?? Infinity) || (a.pos?.col ?? 0) - (b.pos?.col ?? 0))
    .map(({ p, pos }) => new ConfigError(formatPath(p.at), p.detail, { source, line: pos?.line, column: pos?.col }));
  throw new ConfigErrors(errors, source);
}

/**
 * YAML 1.1 as go-yaml v2 reads it into JSON: no sexagesimal numbers (`1:2:3:4:5:6:7:8` is an IPv6
 * address, not a base-60 number) and no timestamps (`2024-01-01` stays a string).
 */
function goYamlV2Tags(tags: Tags): Tags {
  return tags.filter((tag) => {
    const { tag: id, format } = tag as { tag?: string; format?: string };
    return id !== 'tag:yaml.org,2002:timestamp' && format !== 'TIME';
  });
}

/** Reads a config file. Relative paths written in it are taken relative to the file's directory. */
export function loadConfigFile(path: string): VcnetConfig {
  const absolute = resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (err) {
    throw new ConfigErrors([new ConfigError('', `cannot read the config file: ${readFailure(err)}`, { source: path, cause: err })], path);
  }
  return loadConfigText(text, { source: path, baseDir: dirname(absolute) });
}

function readFailure(err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT': return 'no such file';
    case 'EACCES': return 'permission denied';
    case 'EISDIR': return 'it is a directory';
    default: return (err as Error).message;
  }
}

function yamlError(e: YAMLError, text: string, source: string | undefined): ConfigError {
  // yaml appends " at line L, column C:" and a source excerpt; the position goes in front instead.
  let detail = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
  const kind = e.name === 'YAMLWarning' ? 'YAML warning' : 'YAML syntax error';
  const pos = e.linePos?.[0];
  // An unquoted value ending in ':' reads as a key, and the IPv6 address `::` is exactly that.
  const rest = pos === undefined ? '' : (text.split(/\r?\n/)[pos.line - 1] ?? '').slice(pos.col - 1);
  if (e.code === 'BLOCK_AS_IMPLICIT_KEY' && /^[^\s#'"]*:\s*(#.*)?$/.test(rest)) {
    detail += `; a value ending in ':' must be quoted, as in "${rest.replace(/\s*(#.*)?$/, '')}"`;
  }
  return new ConfigError('', `${kind}: ${detail}`, { source, line: pos?.line, column: pos?.col, cause: e });
}

/**
 * Where in the text a problem is: the value at the problem's path, or the key for an unknown field.
 * A path that leaves the text (a default, a merged `<<` key) points at the deepest part that is in it.
 */
function locate(doc: Document, problem: Problem, lineCounter: LineCounter): { line: number; col: number } | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  let found = true;
  for (const segment of problem.at as readonly PathSegment[]) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(segment));
      if (pair === undefined) { found = false; break; }
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
      node = node.items[segment];
      offset = rangeStart(node) ?? offset;
    } else {
      found = false;
      break;
    }
  }
  if (found && problem.onKey !== true) offset = rangeStart(node) ?? offset;
  return offset === undefined ? undefined : lineCounter.linePos(offset);
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: readonly number[] | null } | null | undefined)?.range;
  return range?.[0];
}
