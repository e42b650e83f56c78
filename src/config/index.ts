// The vcnet configuration: a vcluster.yaml-compatible subset plus vcnet's own `vcnet:` section.
// - schema.ts    every field: type, default, check, meaning (the one place to add a field)
// - fields.ts    the field kinds the schema is written with (string, integer, boolean, oneOf, lists, maps)
// - checks.ts    value checks: IP, CIDR, DNS names, labels, tolerations, quantities, images, webhook URLs
// - validate.ts  checking a value against the schema, defaults, merging overrides
// - load.ts      YAML text and files, with line and column in every error
// - errors.ts    ConfigError (one problem, named by field path) and ConfigErrors (all of them)
// - vcluster.ts  vcluster.yaml fields vcnet does not support, for clearer errors
// Reference: docs/configuration.md.

export { ConfigError, ConfigErrors, formatPath } from './errors.ts';
export type { ConfigErrorOptions, PathSegment } from './errors.ts';
export type { VcnetConfig } from './schema.ts';
export type { ResolveDNSRule, ResolveDNSTarget } from './resolve-dns.ts';
export { configFields, defaultConfig, mergeConfig, parseConfig } from './validate.ts';
export type { DeepPartial, FieldInfo, ParseOptions } from './validate.ts';
export { loadConfigFile, loadConfigText } from './load.ts';
