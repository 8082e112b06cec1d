/**
 * The trunk server's scheduled tasks (FastDFS' sched_thread): trunk files made ahead of need
 * (trunk_create_file_*) and the trunk binlog's compression (trunk_compress_binlog_*), each at
 * a time of day and every interval after, as FastDFS' scheduler counts, so a group of stock and
 * fastdfs-ts storages runs them at the same hours.
 */
import type { Logger } from '../../common/index.js';

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

export interface ScheduledDeps {
  /** What the task does; its errors are logged, and the schedule goes on. */
  readonly run: () => Promise<void>;
  /** The schedule in force: its time of day and interval, or undefined while the task is off. */
  readonly when: () => { readonly timeBase: string; readonly intervalMs: number } | undefined;
  readonly name: string;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** A task of the trunk server on FastDFS' schedule; armed while this storage has the role. */
export class ScheduledTask {
  private timer: NodeJS.Timeout | undefined;
  private due = 0;
  private running: Promise<void> | undefined;
  private finished = 0;
  private readonly now: () => number;

  constructor(private readonly deps: ScheduledDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Runs finished so far (monitoring, tests). */
  get runs(): number {
    return this.finished;
  }

  /** (Re)arms for the schedule in force; with the task off it stays idle. */
  arm(): void {
    this.stop();
    const w = this.deps.when();
    if (!w || w.intervalMs <= 0) return;
    this.due = nextRunAt(this.now(), w.timeBase, w.intervalMs);
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
    try {
      await this.deps.run();
    } catch (err) {
      this.deps.logger.warn(`${this.deps.name} failed`, { err });
    }
    this.finished++;
  }

  /** Disarms; a run under way finishes first. */
  async close(): Promise<void> {
    this.stop();
    await this.running;
  }

  /** Disarms without waiting for a run under way (it finds the role gone). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due = 0;
  }
}
