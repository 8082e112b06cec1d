/**
 * Admission of native (tracker/storage) connections: a total cap (max_connections) and a cap per
 * peer address (max_connections_per_host), so one client holding idle sockets cannot take every
 * slot. Plain bookkeeping, no sockets: the request loop asks `admit` and calls `release`.
 */

export interface GuardLimits {
  /** Most connections at once. */
  readonly maxConnections: number;
  /** Most connections from one address; 0 = half of maxConnections, at least 16. */
  readonly maxPerHost: number;
}

export type Refusal = 'max_connections' | 'max_connections_per_host';

/** The per-address cap a limit of 0 stands for, never above the total. */
export function perHostCap(limits: GuardLimits): number {
  const cap = limits.maxPerHost > 0 ? limits.maxPerHost : Math.max(16, Math.floor(limits.maxConnections / 2));
  return Math.min(cap, limits.maxConnections);
}

export class ConnectionGuard {
  readonly maxConnections: number;
  readonly maxPerHost: number;
  private total = 0;
  private readonly perHost = new Map<string, number>();
  private refusedSinceReport = 0;
  private lastReport = Number.NEGATIVE_INFINITY;

  constructor(limits: GuardLimits) {
    this.maxConnections = limits.maxConnections;
    this.maxPerHost = perHostCap(limits);
  }

  get size(): number {
    return this.total;
  }

  countOf(host: string): number {
    return this.perHost.get(host) ?? 0;
  }

  /** Takes a slot for `host`, or says which cap refuses it. */
  admit(host: string): Refusal | undefined {
    if (this.total >= this.maxConnections) return this.refuse('max_connections');
    const n = this.countOf(host);
    if (n >= this.maxPerHost) return this.refuse('max_connections_per_host');
    this.total++;
    this.perHost.set(host, n + 1);
    return undefined;
  }

  /** Gives back a slot taken by `admit`. */
  release(host: string): void {
    const n = this.countOf(host);
    if (n <= 0) return;
    this.total--;
    if (n === 1) this.perHost.delete(host);
    else this.perHost.set(host, n - 1);
  }

  /**
   * How many refusals to report now, or 0: at most one report per `everyMs`, so a flood of
   * connections costs one log line a second, not one each.
   */
  refusalsToReport(now: number, everyMs = 1000): number {
    if (this.refusedSinceReport === 0 || now - this.lastReport < everyMs) return 0;
    const n = this.refusedSinceReport;
    this.refusedSinceReport = 0;
    this.lastReport = now;
    return n;
  }

  private refuse(why: Refusal): Refusal {
    this.refusedSinceReport++;
    return why;
  }
}
