/** Operation counters the storage reports in its heartbeat (stat_buff, fact sheet §3.4). */
import { emptyCounters, type StatCounterName, type StatCounters } from '../protocol/index.js';

const OPS = ['Upload', 'Append', 'Modify', 'Truncate', 'SetMeta', 'Delete', 'Download', 'GetMeta'] as const;
const BYTE_OPS = ['Upload', 'Append', 'Modify', 'Download', 'SyncIn', 'SyncOut'] as const;
type Op = (typeof OPS)[number];
type ByteOp = (typeof BYTE_OPS)[number];
interface Names {
  readonly total: StatCounterName;
  readonly success: StatCounterName;
}

/** Counter names made once: a template string per request showed in profiles of cached GETs. */
function namesOf<K extends string>(ops: readonly K[], suffix: 'Count' | 'Bytes'): Record<K, Names> {
  const out = {} as Record<K, Names>;
  for (const op of ops)
    out[op] = {
      total: `total${op}${suffix}` as StatCounterName,
      success: `success${op}${suffix}` as StatCounterName,
    };
  return out;
}
const OP_NAMES = namesOf(OPS, 'Count');
const BYTE_NAMES = namesOf(BYTE_OPS, 'Bytes');

export class StorageCounters {
  readonly values: StatCounters = emptyCounters();
  /** Bumped on every change so the reporter sends stat_buff only when something moved. */
  version = 0;

  /** Counts the attempt at once and the success when `work` resolves. */
  async track(op: Op, work: Promise<void>): Promise<void> {
    const k = OP_NAMES[op];
    this.values[k.total]++;
    this.version++;
    await work;
    this.succeeded(op, k.success);
  }

  /** An operation already over (a download answered from memory): no promise on the hot path. */
  count(op: Op, ok: boolean): void {
    const k = OP_NAMES[op];
    this.values[k.total]++;
    this.version++;
    if (ok) this.succeeded(op, k.success);
  }

  private succeeded(op: Op, key: StatCounterName): void {
    this.values[key]++;
    this.version++;
    if (op !== 'Download' && op !== 'GetMeta') this.values.lastSourceUpdate = Math.floor(Date.now() / 1000);
  }

  bytes(op: ByteOp, n: number): void {
    const k = BYTE_NAMES[op];
    this.values[k.total] += n;
    this.values[k.success] += n;
    this.version++;
  }

  /** Adds a storage worker process's changes (see workers/); the newest timestamps win. */
  add(delta: Partial<StatCounters>): void {
    for (const [k, v] of Object.entries(delta) as [keyof StatCounters, number][]) {
      if (k === 'connMaxCount') continue;
      if (k.startsWith('last')) this.values[k] = Math.max(this.values[k], v);
      else this.values[k] += v;
    }
    this.values.connMaxCount = Math.max(this.values.connMaxCount, this.values.connCurrentCount);
    this.version++;
  }

  /** What changed since `since` (a copy of values taken then), as `add` takes it. */
  changesSince(since: StatCounters): Partial<StatCounters> {
    const out: Partial<StatCounters> = {};
    for (const [k, v] of Object.entries(this.values) as [keyof StatCounters, number][]) {
      if (k === 'connMaxCount') continue;
      if (k.startsWith('last')) {
        if (v > since[k]) out[k] = v;
      } else if (v !== since[k]) out[k] = v - since[k];
    }
    return out;
  }

  connection(delta: 1 | -1): void {
    if (delta > 0) this.values.connAllocCount++;
    this.values.connCurrentCount += delta;
    this.values.connMaxCount = Math.max(this.values.connMaxCount, this.values.connCurrentCount);
  }
}
