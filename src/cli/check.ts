/** `fdfs check`: validates a tracker/storage/client/http conf and prints the config it yields. */
import { stat } from 'node:fs/promises';
import {
  applyOverrides,
  type ConfRole,
  clientConfigFrom,
  httpConfigFrom,
  keysOf,
  knownUnusedKeysOf,
  type Loaded,
  type RawConf,
  readConfFile,
  storageConfigFrom,
  trackerConfigFrom,
} from '../config/index.js';
import { emit, expectPositionals, usageError, type Verb } from './verb.js';

type Role = ConfRole | 'http';
const ROLES: readonly Role[] = ['tracker', 'storage', 'client', 'http'];

export const checkVerb: Verb = {
  name: 'check',
  synopsis: '<conf> [--role ROLE]',
  summary: 'validate a tracker/storage/client/http conf, print what it runs with',
  help: `fdfs check <conf> [--role tracker|storage|client|http] [options]
  Reads a FastDFS-format conf file (with its #include files and any --set overrides), tells which
  role it is for, validates every value, and prints the effective configuration the role would
  run with (durations in ms, sizes in bytes), plus warnings for unknown or repeated keys.
  Exits 0 when the conf is valid, 22 (EINVAL) naming file:line when it is not.
  The role is told from the keys: group_name, store_path0, … → storage; store_lookup, … →
  tracker; keys only the gateway reads (http.server_port, http.jwt.*, …) → http; tracker_server
  without those → client; stock http.conf keys alone → http. --role overrides the guess.
  Secrets (http.jwt.secret, http.auth.api_key, …) print as [redacted].
  --role ROLE         tracker, storage, client or http
Examples:
  fdfs check /etc/fdfs/storage.conf
  fdfs check conf/tracker.conf --set port=22123 --json`,
  options: { role: { type: 'string' } },
  subject: (p) => p[0],
  async run(ctx) {
    expectPositionals(ctx, ['conf']);
    const path = ctx.positionals[0] ?? '';
    const given = ctx.values.role as string | undefined;
    if (given !== undefined && !ROLES.includes(given as Role)) {
      throw usageError(`--role ${given}: expected one of ${ROLES.join(', ')}`);
    }
    const raw = applyOverrides(await readConfFile(path), ctx.overrides);
    const role = (given as Role | undefined) ?? detectRole(raw.keys());
    if (role === undefined) {
      throw usageError(
        `${path}: cannot tell which role this conf is for; pass --role tracker|storage|client|http`,
      );
    }
    const loaded = build(role, raw, path);
    const notes = await pathNotes(loaded.config as unknown as Record<string, unknown>);
    const head = [
      `# ${path}: ${role} conf, valid; effective values (durations in ms, sizes in bytes)`,
      ...loaded.warnings.map((w) => `# warning: ${w}`),
    ];
    head.push(...notes.map((n) => `# note: ${n}`));
    const body = confLines(role, loaded.config).map(([k, v]) => `${k} = ${v}`);
    emit(ctx, [...head, ...body].join('\n'), {
      conf: path,
      role,
      valid: true,
      warnings: loaded.warnings,
      notes,
      config: redact(loaded.config),
    });
  },
};

function build(role: Role, raw: RawConf, source: string): Loaded<object> {
  if (role === 'tracker') return trackerConfigFrom(raw, { source });
  if (role === 'storage') return storageConfigFrom(raw, { source });
  if (role === 'http') return httpConfigFrom(raw, { source });
  return clientConfigFrom(raw, { source });
}

/**
 * The role a conf is for, from keys only one role reads: storage (group_name, store_path0, …) or
 * tracker (store_lookup, check_active_interval, …). With neither, gateway keys (http.server_port,
 * http.anti_steal.*, …) make an http.conf, and a tracker_server alone a client.conf. undefined
 * when it cannot be told (then `--role` decides).
 */
export function detectRole(keys: Iterable<string>): Role | undefined {
  const list = [...keys];
  const tracker = keysOf('tracker');
  const storage = keysOf('storage');
  // Keys a client.conf or http.conf may carry too say nothing about tracker vs storage.
  const shared = (k: string) =>
    keysOf('client').has(k) || knownUnusedKeysOf('client').has(k) || keysOf('http').has(k);
  const t = list.filter((k) => tracker.has(k) && !storage.has(k) && !shared(k)).length;
  const s = list.filter((k) => storage.has(k) && !tracker.has(k) && !shared(k)).length;
  if (t > s) return 'tracker';
  if (s > t) return 'storage';
  if (t > 0) return undefined;
  // A FastDFS client.conf may `#include http.conf` (stock http.* keys): only keys the gateway
  // alone reads (http.server_port, http.jwt.*, …) make it an http.conf then.
  const http = list.filter((k) => k.startsWith('http.') && keysOf('http').has(k));
  if (http.some((k) => !knownUnusedKeysOf('client').has(k))) return 'http';
  if (list.includes('tracker_server')) return 'client';
  return http.length > 0 ? 'http' : undefined;
}

/** Paths the role will use that do not exist yet: not an error (they are made at start). */
async function pathNotes(config: Record<string, unknown>): Promise<string[]> {
  const paths: [string, string][] = [];
  const client = config.client as { basePath?: unknown } | undefined;
  const base = config.basePath ?? client?.basePath;
  if (typeof base === 'string') paths.push(['base_path', base]);
  if (Array.isArray(config.storePaths)) {
    config.storePaths.forEach((p, i) => {
      if (typeof p === 'string') paths.push([`store_path${i}`, p]);
    });
  }
  const notes: string[] = [];
  for (const [key, p] of paths) {
    const st = await stat(p).catch(() => undefined);
    if (!st) notes.push(`${key} ${p} does not exist yet`);
    else if (!st.isDirectory()) notes.push(`${key} ${p} is not a directory`);
  }
  return notes;
}

// Secrets never reach a terminal or a CI log; an unset one still shows as ''.
const SECRET = /secret|password|api_?keys?$/i;

/** The config with every non-empty secret replaced by "[redacted]", passwords in URLs too. */
function redact(value: unknown, key = ''): unknown {
  if (SECRET.test(key)) {
    if (Array.isArray(value)) return value.map(() => '[redacted]');
    return value === '' ? '' : '[redacted]';
  }
  // s3.namespace = postgres://user:password@host/db
  if (typeof value === 'string')
    return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/i, '$1[redacted]@');
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  }
  return value;
}

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

// Fields whose conf key is not the plain snake_case of their path.
const RENAMED: Readonly<Record<string, string>> = {
  'http.port': 'http.server_port',
  'http.multi_range': 'http.multi_range.enabled',
  'http.jwt.previous': 'http.jwt.previous_secret',
  'http.auth.api_keys': 'http.auth.api_key',
  'http.s3.port': 's3.server_port',
  'http.s3.region': 's3.region',
  'http.s3.credentials': 's3.credential',
  'http.s3.domain': 's3.domain',
  'http.s3.max_object_size': 's3.max_object_size',
  'http.s3.gc_interval': 's3.gc_interval',
  'http.s3.gc_grace': 's3.gc_grace',
  'http.s3.namespace': 's3.namespace',
  tracker_servers: 'tracker_server',
  store_paths: 'store_path',
};

/**
 * The conf key a config field comes from: `heartBeatInterval` → heart_beat_interval; the
 * gateway's own fields sit under `http.` (`antiSteal.checkToken` → http.anti_steal.check_token),
 * its client settings (`client.basePath`) are plain client keys.
 */
export function confKeyOf(role: Role, path: readonly string[]): string {
  const client = role === 'http' && path[0] === 'client';
  // The tracker's trunk settings are grouped in `trunk` but are plain keys (use_trunk_file, …).
  const grouped = client || (role === 'tracker' && path[0] === 'trunk');
  const parts = (grouped ? path.slice(1) : path).map(snake);
  const key = role === 'http' && !client ? `http.${parts.join('.')}` : parts.join('.');
  return RENAMED[key] ?? key;
}

/**
 * `key = value` lines under the conf keys the values come from. Repeatable keys get a line per
 * value (tracker_server, http.auth.api_key), store paths their numbered keys (store_path0, …).
 */
export function confLines(role: Role, config: object): [string, string][] {
  const out: [string, string][] = [];
  const walk = (value: unknown, path: string[]) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !isHostPort(value)) {
      const o = value as Record<string, unknown>;
      if (o.kind === 'ratio' || o.kind === 'bytes') out.push([confKeyOf(role, path), formatValue(o)]);
      else for (const [k, v] of Object.entries(o)) walk(v, [...path, k]);
      return;
    }
    const key = confKeyOf(role, path);
    if (!Array.isArray(value)) out.push([key, formatValue(value)]);
    else if (key === 'store_path') {
      for (const [i, v] of value.entries()) out.push([`store_path${i}`, formatValue(v)]);
    } else if (value.length === 0) out.push([key, '']);
    else for (const v of value) out.push([key, formatValue(v)]);
  };
  walk(redact(config), []);
  return out;
}

function isHostPort(v: object): boolean {
  return 'host' in v && 'port' in v;
}

function formatValue(v: unknown): string {
  if (v === null) return '';
  if (Array.isArray(v)) return v.map(formatValue).join(', ');
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (isHostPort(o)) return `${String(o.host)}:${String(o.port)}`;
    if ('kid' in o && 'secret' in o) return `${String(o.kid)}:${String(o.secret)}`;
    if ('accessKey' in o && 'secretKey' in o) return `${String(o.accessKey)}:${String(o.secretKey)}`;
    if ('width' in o && 'height' in o) return `${String(o.width)}x${String(o.height)}`;
    if (o.kind === 'ratio' && typeof o.ratio === 'number') return `${+(o.ratio * 100).toFixed(4)}%`;
    if (o.kind === 'bytes') return String(o.bytes);
    return JSON.stringify(v);
  }
  return String(v);
}
