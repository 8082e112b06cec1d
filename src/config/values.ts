/**
 * Pure value parsers for conf text. Each returns `undefined` for text it does not accept, so
 * the caller (which knows the key, file and line) builds the error message.
 */
import type { HostPort, ReservedSpace } from './types.js';

/** FastDFS' default tracker port, used when a `tracker_server` value has none. */
export const DEFAULT_TRACKER_PORT = 22122;

export function parseInteger(text: string): number | undefined {
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

const booleans: Readonly<Record<string, boolean>> = {
  true: true,
  yes: true,
  on: true,
  '1': true,
  false: false,
  no: false,
  off: false,
  '0': false,
};

export function parseBoolean(text: string): boolean | undefined {
  return booleans[text.toLowerCase()];
}

// Binary multiples, as FastDFS' parse_bytes uses; the trailing B is optional.
const sizeUnits: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
};

/** `256KB`, `1MB`, `4G`, `65536` → bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text);
  if (m?.[1] === undefined) return undefined;
  const unit = sizeUnits[(m[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : undefined;
}

const durationUnits: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

export type BareUnit = 'ms' | 's';

/** `500ms`, `30s`, `5m`, `1h`, `1d` → milliseconds; a bare number is taken in `bare` units. */
export function parseDuration(text: string, bare: BareUnit): number | undefined {
  const m = /^(\d+)\s*([a-z]*)$/i.exec(text);
  if (m?.[1] === undefined) return undefined;
  const unit = durationUnits[(m[2] || bare).toLowerCase()];
  if (unit === undefined) return undefined;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `20%` or `12.5%` → 0.2 / 0.125. */
export function parsePercent(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(text);
  if (m?.[1] === undefined) return undefined;
  const pct = Number(m[1]);
  return pct <= 100 ? pct / 100 : undefined;
}

/** `reserved_storage_space`: a percentage of each path, or an absolute size. */
export function parseReservedSpace(text: string): ReservedSpace | undefined {
  if (text.endsWith('%')) {
    const ratio = parsePercent(text);
    return ratio === undefined ? undefined : { kind: 'ratio', ratio };
  }
  const bytes = parseSize(text);
  return bytes === undefined ? undefined : { kind: 'bytes', bytes };
}

const hostPattern = /^[A-Za-z0-9_.-]+$/;
const ipv6Pattern = /^[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?$/;

/**
 * `host:port`, `host` (port defaults), `[v6]:port` or `[v6]`. FastDFS' dual-address form
 * (`ip1,ip2:port`) is not accepted: we keep one address per tracker.
 */
export function parseHostPort(text: string, defaultPort = DEFAULT_TRACKER_PORT): HostPort | undefined {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
    if (m?.[1] === undefined || !ipv6Pattern.test(m[1])) return undefined;
    host = m[1];
    portText = m[2];
  } else {
    const colon = text.lastIndexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    portText = colon < 0 ? undefined : text.slice(colon + 1);
    if (!hostPattern.test(host)) return undefined;
  }
  if (portText === undefined) return { host, port: defaultPort };
  const port = parseInteger(portText);
  if (port === undefined || port < 1 || port > 65535 || !/^\d+$/.test(portText)) return undefined;
  return { host, port };
}

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

// FastDFS takes syslog names; we fold them onto our four levels.
const logLevels: Readonly<Record<string, LogLevelName>> = {
  emerg: 'error',
  alert: 'error',
  crit: 'error',
  error: 'error',
  err: 'error',
  warn: 'warn',
  warning: 'warn',
  notice: 'info',
  info: 'info',
  debug: 'debug',
};

export function parseLogLevel(text: string): LogLevelName | undefined {
  return logLevels[text.toLowerCase()];
}

/** FastDFS group names: 1 to 16 ASCII letters or digits. */
export function isValidGroupName(text: string): boolean {
  return /^[A-Za-z0-9]{1,16}$/.test(text);
}
