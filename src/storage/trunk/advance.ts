/**
 * trunk_create_file_advance: the trunk server makes trunk files ahead of need at a quiet hour
 * (trunk_create_file_time_base, then every trunk_create_file_interval), until the free list
 * holds trunk_create_file_space_threshold bytes, so uploads at busy hours do not wait for a
 * new 64 MB file to be made and synced. When FastDFS' scheduler runs it is kept, so a group
 * of stock and fastdfs-ts storages makes its files at the same hours.
 */
import type { Logger } from '../../common/index.js';
import type { TrunkConfig } from '../../config/types.js';

/** setTimeout's longest wait; a later run is waited for in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * When a task with a time of day `timeBase` (HH:MM, local time) and `intervalMs` next runs after
 * `nowMs`: on the grid of intervals from the time base's last occurrence (today's, or
 * yesterday's when it is not yet reached), as libfastcommon's sched_make_first_call_time counts.
 */
export function nextRunAt(nowMs: number, timeBase: string, intervalMs: number): number {
  const [hh, mm] = timeBase.split(':').map(Number);
  const base = new Date(nowMs);
  base.setHours(hh ?? 0, mm ?? 0, 0, 0);
  if (base.getTime() > nowMs) base.setDate(base.getDate() - 1);
  const since = nowMs - base.getTime();
  return since === 0 ? nowMs : nowMs + intervalMs - (since % intervalMs);
}

export interface AheadDeps {
  /** The trunk keys in force (the tracker's, cmd 75). */
  readonly params: () => TrunkConfig;
  /** Makes the files while this storage is the trunk server; the number made. */
  readonly create: (threshold: number) => Promise<number>;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** The schedule of trunk_create_file_advance; armed while this storage is the trunk server. */
export class TrunkAhead {
  private timer: NodeJS.Timeout | undefined;
  private due = 0;
  private running: Promise<void> | undefined;
  private finished = 0;
  private readonly now: () => number;

  constructor(private readonly deps: AheadDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Runs finished so far (monitoring, tests). */
  get runs(): number {
    return this.finished;
  }

  /** (Re)arms for the keys in force; with trunk_create_file_advance off it stays idle. */
  arm(): void {
    this.stop();
    const p = this.deps.params();
    if (!p.useTrunkFile || !p.trunkCreateFileAdvance || p.trunkCreateFileInterval <= 0) return;
    this.due = nextRunAt(this.now(), p.trunkCreateFileTimeBase, p.trunkCreateFileInterval);
    this.wait();
  }

  private wait(): void {
    const left = this.due - this.now();
    this.timer = setTimeout(() => this.fire(), Math.max(0, Math.min(left, MAX_TIMER_MS)));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    if (this.now() < this.due) {
      this.wait(); // a step of a wait longer than one timer
      return;
    }
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.due !== 0) this.arm();
    });
  }

  private async run(): Promise<void> {
    const threshold = this.deps.params().trunkCreateFileSpaceThreshold;
    try {
      const made = await this.deps.create(threshold);
      if (made > 0) this.deps.logger.info('trunk files created ahead of need', { count: made, threshold });
    } catch (err) {
      this.deps.logger.warn('trunk files ahead of need: not created', { threshold, err });
    }
    this.finished++;
  }

  /** Disarms; a run under way finishes first. */
  async close(): Promise<void> {
    this.stop();
    await this.running;
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due = 0;
  }
}
