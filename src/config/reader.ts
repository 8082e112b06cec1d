/**
 * Typed access to a RawConf for one role. Every read names the key; a bad value throws with
 * the file and line it came from, and whatever was never read is reported as unknown.
 */
import { FdfsError, Status } from '../common/index.js';
import { type ConfEntry, type RawConf, where } from './conf-file.js';
import { type ConfRole, isKnownKey, keysOf } from './keys.js';
import type { HostPort, ReservedSpace } from './types.js';
import {
  type BareUnit,
  type LogLevelName,
  parseBoolean,
  parseDuration,
  parseHostPort,
  parseInteger,
  parseLogLevel,
  parseReservedSpace,
  parseSize,
} from './values.js';

export function badValue(entry: ConfEntry, key: string, what: string): FdfsError {
  return new FdfsError(Status.EINVAL, `${where(entry)}: ${key} = ${entry.value}: expected ${what}`);
}

/** A parsed value together with where it came from (undefined when defaulted). */
export interface Located<T> {
  readonly value: T;
  readonly entry: ConfEntry | undefined;
}

export class ConfReader {
  readonly warnings: string[] = [];
  private readonly seen = new Set<string>();

  /** `source` names the conf as a whole, for errors about keys that are missing. */
  constructor(
    private readonly raw: RawConf,
    private readonly role: ConfRole,
    readonly source: string,
  ) {}

  /** Every occurrence of a key, for keys that may repeat (tracker_server). */
  all(key: string): readonly ConfEntry[] {
    this.mark(key);
    return this.raw.get(key) ?? [];
  }

  /** The value of a single-valued key: the last one given wins, with a warning. */
  entry(key: string): ConfEntry | undefined {
    const list = this.all(key);
    const last = list.at(-1);
    const first = list[0];
    if (last !== undefined && first !== undefined && list.length > 1) {
      this.warnings.push(
        `${where(last)}: ${key} given ${list.length} times (first at ${where(first)}); using the last`,
      );
    }
    return last;
  }

  has(key: string): boolean {
    return (this.raw.get(key)?.length ?? 0) > 0;
  }

  missing(key: string): FdfsError {
    return new FdfsError(Status.EINVAL, `${this.source}: ${key}: required`);
  }

  /** Reads a key through `parse`; `what` describes the accepted form for the error. */
  get<T>(key: string, fallback: T, what: string, parse: (text: string) => T | undefined): Located<T> {
    const entry = this.entry(key);
    if (entry === undefined) return { value: fallback, entry };
    const value = parse(entry.value);
    if (value === undefined) throw badValue(entry, key, what);
    return { value, entry };
  }

  string(key: string, fallback: string): string {
    return this.entry(key)?.value ?? fallback;
  }

  int(key: string, fallback: number, min: number, max: number): number {
    const what = `an integer from ${min} to ${max}`;
    return this.get(key, fallback, what, (t) => inRange(parseInteger(t), min, max)).value;
  }

  bool(key: string, fallback: boolean): boolean {
    return this.get(key, fallback, 'true/false, yes/no, on/off or 1/0', parseBoolean).value;
  }

  /** Bytes; the text may carry a K/KB/M/MB/G/GB/T/TB unit (binary). */
  size(key: string, fallback: number, min: number, max: number): number {
    const what = `a size from ${min} to ${max} bytes (e.g. 256KB, 1MB)`;
    return this.get(key, fallback, what, (t) => inRange(parseSize(t), min, max)).value;
  }

  /** Milliseconds; a bare number counts in `bare` units, FastDFS style. */
  duration(key: string, fallback: number, bare: BareUnit, minMs: number): number {
    const what = `a duration of at least ${minMs}ms (a number of ${bare === 's' ? 'seconds' : 'milliseconds'} or e.g. 500ms, 30s, 5m, 1h, 1d)`;
    return this.get(key, fallback, what, (t) =>
      inRange(parseDuration(t, bare), minMs, Number.MAX_SAFE_INTEGER),
    ).value;
  }

  choice<const T extends string | number>(key: string, fallback: T, options: readonly T[]): T {
    const what = `one of ${options.join(', ')}`;
    const pick = (t: string): T | undefined =>
      options.find((o) => String(o).toLowerCase() === t.toLowerCase());
    return this.get(key, fallback, what, pick).value;
  }

  reservedSpace(key: string, fallback: ReservedSpace): ReservedSpace {
    return this.get(key, fallback, 'a percentage (e.g. 20%) or a size (e.g. 10G)', parseReservedSpace).value;
  }

  logLevel(key: string, fallback: LogLevelName): LogLevelName {
    const what = 'a syslog level (emerg, alert, crit, error, warn, notice, info, debug)';
    return this.get(key, fallback, what, parseLogLevel).value;
  }

  /** Every `host:port` given for a repeatable key; duplicates are dropped with a warning. */
  hostPorts(key: string): HostPort[] {
    const out: HostPort[] = [];
    for (const entry of this.all(key)) {
      const hp = parseHostPort(entry.value);
      if (hp === undefined) throw badValue(entry, key, 'host:port (one address, IPv6 as [addr]:port)');
      if (out.some((o) => o.host === hp.host && o.port === hp.port)) {
        this.warnings.push(`${where(entry)}: ${key} = ${entry.value} is listed twice; ignoring the repeat`);
        continue;
      }
      out.push(hp);
    }
    return out;
  }

  /** Warnings for keys no reader asked for and FastDFS does not define. Call last. */
  finish(): string[] {
    for (const [key, list] of this.raw) {
      if (this.seen.has(key) || isKnownKey(this.role, key)) continue;
      for (const entry of list) this.warnings.push(`${where(entry)}: unknown key ${key} (ignored)`);
    }
    return this.warnings;
  }

  private mark(key: string): void {
    // A loader reading an undeclared key would make keysOf() lie to the CLI.
    if (!keysOf(this.role).has(key)) {
      throw new FdfsError(Status.EINVAL, `internal: ${this.role} reads undeclared conf key ${key}`);
    }
    this.seen.add(key);
  }
}

function inRange(n: number | undefined, min: number, max: number): number | undefined {
  return n !== undefined && n >= min && n <= max ? n : undefined;
}
