/** Operation counters the storage reports in its heartbeat (stat_buff, fact sheet §3.4). */
import { emptyCounters, type StatCounterName, type StatCounters } from '../protocol/index.js';

type Op = 'Upload' | 'Append' | 'Modify' | 'Truncate' | 'SetMeta' | 'Delete' | 'Download' | 'GetMeta';
type ByteOp = 'Upload' | 'Append' | 'Modify' | 'Download' | 'SyncIn' | 'SyncOut';

export class StorageCounters {
  readonly values: StatCounters = emptyCounters();
  /** Bumped on every change so the reporter sends stat_buff only when something moved. */
  version = 0;

  async track(op: Op, work: Promise<void>): Promise<void> {
    this.values[`total${op}Count` as StatCounterName]++;
    this.version++;
    await work;
    this.values[`success${op}Count` as StatCounterName]++;
    this.version++;
    if (op !== 'Download' && op !== 'GetMeta') this.values.lastSourceUpdate = Math.floor(Date.now() / 1000);
  }

  bytes(op: ByteOp, n: number): void {
    this.values[`total${op}Bytes` as StatCounterName] += n;
    this.values[`success${op}Bytes` as StatCounterName] += n;
    this.version++;
  }

  connection(delta: 1 | -1): void {
    if (delta > 0) this.values.connAllocCount++;
    this.values.connCurrentCount += delta;
    this.values.connMaxCount = Math.max(this.values.connMaxCount, this.values.connCurrentCount);
  }
}
