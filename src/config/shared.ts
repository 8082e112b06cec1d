/** Pieces the three role loaders share. */
import { dirname, isAbsolute, resolve } from 'node:path';
import { type AllowRule, parseAllowHostsValue } from './allow-hosts.js';
import { COMMAND_LINE, type ConfEntry } from './conf-file.js';
import { badValue, type ConfReader } from './reader.js';
import type { HostPort } from './types.js';
import { DEFAULT_TRACKER_PORT, isValidGroupName } from './values.js';

/** `--set key=value` pairs from the command line, key → values in order. */
export type Overrides = ReadonlyMap<string, readonly string[]>;

export interface Loaded<T> {
  readonly config: T;
  /** Unknown keys and repeated single-valued keys, each naming file:line. */
  readonly warnings: string[];
}

export interface BuildOptions {
  /** The conf file read; named when a required key is missing, and the folder that a
   * defaulted relative path (storage_ids_filename) resolves against. */
  readonly source?: string;
  /** No conf file at all: base_path and tracker_server fall back to the single-machine
   * defaults instead of being required. */
  readonly noFile?: boolean;
}

/** base_path: required in a conf file, as FastDFS requires it; relative means from the cwd. */
export function basePathOf(r: ConfReader, options: BuildOptions, fallback: string): string {
  const entry = r.entry('base_path');
  if (entry === undefined) {
    if (options.noFile === true) return resolve(fallback);
    throw r.missing('base_path');
  }
  if (entry.value === '') throw badValue(entry, 'base_path', 'a directory path');
  return resolve(entry.value);
}

/**
 * A path named in a conf file is relative to that file's folder, as FastDFS resolves
 * storage_ids_filename; command-line values are relative to the cwd.
 */
export function relativeToConf(
  entry: ConfEntry | undefined,
  fallback: string,
  options: BuildOptions,
): string {
  const value = entry?.value || fallback;
  if (isAbsolute(value)) return value;
  let dir = options.source === undefined ? '.' : dirname(options.source);
  if (entry !== undefined) dir = entry.file === COMMAND_LINE ? '.' : dirname(entry.file);
  return resolve(dir, value);
}

export function requireGroupName(r: ConfReader, key: string, entry: ConfEntry | undefined): string {
  if (entry === undefined) throw r.missing(key);
  if (!isValidGroupName(entry.value)) throw badValue(entry, key, 'a group name of 1 to 16 letters or digits');
  return entry.value;
}

export function timeouts(r: ConfReader): { connectTimeout: number; networkTimeout: number } {
  return {
    connectTimeout: r.duration('connect_timeout', 5000, 's', 1),
    networkTimeout: r.duration('network_timeout', 60_000, 's', 1),
  };
}

/** tracker_server lines: at least one is required unless there is no conf file. */
export function trackerServersOf(r: ConfReader, options: BuildOptions): readonly HostPort[] {
  let list = r.hostPorts('tracker_server');
  if (list.length === 0) {
    if (options.noFile !== true) throw r.missing('tracker_server');
    list = [{ host: '127.0.0.1', port: DEFAULT_TRACKER_PORT }];
  }
  return Object.freeze(list.map((hp) => Object.freeze(hp)));
}

/** allow_hosts: every occurrence adds rules; none at all allows everyone (FastDFS' default). */
export function allowHostsOf(r: ConfReader): readonly AllowRule[] {
  const rules: AllowRule[] = [];
  for (const entry of r.all('allow_hosts')) {
    const parsed = parseAllowHostsValue(entry.value);
    if (!parsed) {
      throw badValue(entry, 'allow_hosts', '*, an address, a CIDR block, a [range] or a host name');
    }
    rules.push(...parsed);
  }
  return Object.freeze(rules);
}
