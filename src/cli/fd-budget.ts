/**
 * RLIMIT_NOFILE at start. Node has no setrlimit: it raises the soft limit to the hard one itself
 * when it boots, and where that did not happen we ask util-linux's `prlimit`. Then connection
 * caps are sized from the limit so idle HTTP clients cannot take the descriptors the native
 * ports need (an idle flood used to make uploads fail with ECONNRESET and /healthz hang).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../common/index.js';

export interface FdLimit {
  readonly soft: number;
  readonly hard: number; // Infinity = unlimited
}

export interface FdBudget {
  /** Most HTTP connections; Infinity = no limit to fit. */
  readonly http: number;
  /** Most connections on each native port (tracker, storage). */
  readonly nativePerPort: number;
}

/** Descriptors for the process itself: stdio, logs, binlogs, links to trackers and peers. */
const BASE = 64;
const MIN_NATIVE = 64;

function limitValue(s: string | undefined): number | undefined {
  if (s === 'unlimited') return Number.POSITIVE_INFINITY;
  const n = Number(s);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** The "Max open files" line of /proc/<pid>/limits. */
export function parseProcLimits(text: string): FdLimit | undefined {
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  const soft = limitValue(m?.[1]);
  const hard = limitValue(m?.[2]);
  return soft !== undefined && hard !== undefined ? { soft, hard } : undefined;
}

/**
 * Splits `limit` descriptors: BASE for the process, a quarter (at least 64) that HTTP never gets
 * for the native ports, the rest for HTTP. A connection counts as two descriptors: its socket and
 * the file or upstream connection it may open while it is served.
 */
export function fdBudget(limit: number, roles: { http: boolean; nativePorts: number }): FdBudget {
  if (!Number.isFinite(limit)) {
    return { http: Number.POSITIVE_INFINITY, nativePerPort: Number.POSITIVE_INFINITY };
  }
  const usable = Math.max(0, limit - BASE);
  let native = 0;
  if (roles.nativePorts > 0) native = roles.http ? Math.max(MIN_NATIVE, Math.floor(limit / 4)) : usable;
  const http = roles.http ? Math.max(0, usable - native) : 0;
  return {
    http: roles.http ? Math.max(1, Math.floor(http / 2)) : 0,
    nativePerPort: roles.nativePorts > 0 ? Math.max(1, Math.floor(native / 2 / roles.nativePorts)) : 0,
  };
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 2000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
}

async function readLimit(): Promise<FdLimit | undefined> {
  const proc = await readFile('/proc/self/limits', 'utf8').then(parseProcLimits, () => undefined);
  if (proc) return proc;
  // Not Linux: a child shell inherits our limits.
  const out = await run('/bin/sh', ['-c', 'ulimit -Sn; ulimit -Hn']).catch(() => '');
  const [soft, hard] = out.trim().split(/\s+/).map(limitValue);
  return soft !== undefined && hard !== undefined ? { soft, hard } : undefined;
}

/** Raises the soft limit to the hard one where needed and logs what was done; the limit in force. */
export async function raiseFdLimit(logger: Logger): Promise<FdLimit | undefined> {
  const before = await readLimit();
  if (!before) {
    logger.warn('descriptor limit unknown: connection caps are the configured ones');
    return undefined;
  }
  if (before.soft >= before.hard) {
    logger.info('descriptor limit', { soft: before.soft, hard: before.hard, raised: false });
    return before;
  }
  const hard = Number.isFinite(before.hard) ? String(before.hard) : 'unlimited';
  try {
    await run('prlimit', ['--pid', String(process.pid), `--nofile=${hard}:${hard}`]);
  } catch (err) {
    logger.warn('descriptor limit not raised (prlimit failed or is missing)', {
      soft: before.soft,
      hard: before.hard,
      err,
    });
    return before;
  }
  const after = (await readLimit()) ?? before;
  logger.info('descriptor limit', {
    soft: after.soft,
    hard: after.hard,
    raised: after.soft > before.soft,
    from: before.soft,
  });
  return after;
}

/** A native role's config with max_connections lowered to fit the budget, when it must be. */
export function capped<C extends { readonly maxConnections: number }>(
  config: C,
  budget: FdBudget | undefined,
): C {
  if (!budget || budget.nativePerPort >= config.maxConnections) return config;
  return Object.freeze({ ...config, maxConnections: budget.nativePerPort });
}

/** raiseFdLimit, then the budget for these roles, logged; undefined when the limit is unknown. */
export async function budgetFor(
  logger: Logger,
  roles: { http: boolean; nativePorts: number },
): Promise<FdBudget | undefined> {
  const limit = await raiseFdLimit(logger);
  if (!limit) return undefined;
  const budget = fdBudget(limit.soft, roles);
  // Infinity prints as null: nothing to fit.
  logger.info('connection caps from the descriptor limit (the configured caps apply when lower)', {
    limit: limit.soft,
    http: roles.http ? budget.http : undefined,
    nativePerPort: roles.nativePorts > 0 ? budget.nativePerPort : undefined,
  });
  return budget;
}
