/**
 * A progress bar on stderr for large transfers, drawn only when stderr is a terminal: scripts and
 * pipes get no control characters. The meter is a pass-through Transform in the data path.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { humanBytes } from './output.js';

/** Transfers below this many bytes finish too fast for a bar to help. */
export const PROGRESS_THRESHOLD = 4 * 1024 * 1024;
const REDRAW_MS = 100;
const BAR_WIDTH = 24;

export interface ProgressTarget {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

export interface ProgressOptions {
  readonly label: string;
  /** Expected bytes; unknown totals show a running count once past the threshold. */
  readonly total?: number;
  readonly threshold?: number;
  /** Milliseconds clock, for the rate; injectable for tests. */
  readonly now?: () => number;
}

/** `label [=======>      ]  42% 12.00 MB / 28.50 MB  3.20 MB/s` (pure; used by the meter). */
export function renderProgress(label: string, done: number, total: number | undefined, ms: number): string {
  const rate = ms > 0 ? `${humanBytes(Math.round((done * 1000) / ms))}/s` : '';
  if (total === undefined || total <= 0) return `${label} ${humanBytes(done)}  ${rate}`.trimEnd();
  const ratio = Math.min(1, done / total);
  const filled = Math.round(ratio * BAR_WIDTH);
  const bar = `${'='.repeat(Math.max(0, filled - 1))}${filled > 0 ? (ratio < 1 ? '>' : '=') : ''}`;
  const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
  return `${label} [${bar.padEnd(BAR_WIDTH)}] ${pct} ${humanBytes(done)} / ${humanBytes(total)}  ${rate}`.trimEnd();
}

/** Whether a transfer of `total` bytes (undefined = unknown) gets a bar on `target`. */
export function wantsProgress(
  target: ProgressTarget,
  total: number | undefined,
  threshold = PROGRESS_THRESHOLD,
) {
  return target.isTTY === true && (total === undefined || total >= threshold);
}

/**
 * Counts the bytes flowing through (`done`) and redraws the bar at most ten times a second; the
 * final state is drawn and the line ended when the stream finishes.
 */
export class ProgressMeter extends Transform {
  /** Bytes passed through so far. */
  done = 0;
  private readonly started: number;
  private readonly threshold: number;
  private readonly enabled: boolean;
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly target: ProgressTarget,
    private readonly opts: ProgressOptions,
  ) {
    super();
    this.threshold = opts.threshold ?? PROGRESS_THRESHOLD;
    this.enabled = wantsProgress(target, opts.total, this.threshold);
    this.started = this.now();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.done += chunk.length;
    const t = this.now();
    if (t - this.lastDraw >= REDRAW_MS) {
      this.lastDraw = t;
      this.draw();
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.draw();
    if (this.drawn) this.target.write('\n');
    this.drawn = false;
    cb();
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    if (this.drawn) this.target.write('\n');
    this.drawn = false;
    cb(err);
  }

  private now(): number {
    return (this.opts.now ?? Date.now)();
  }

  private draw(): void {
    if (!this.enabled || (this.opts.total === undefined && this.done < this.threshold)) return;
    const line = renderProgress(this.opts.label, this.done, this.opts.total, this.now() - this.started);
    const width = Math.max(20, (this.target.columns || 80) - 1);
    this.target.write(`\r${line.slice(0, width).padEnd(width)}`);
    this.drawn = true;
  }
}

export function progressMeter(target: ProgressTarget, opts: ProgressOptions): ProgressMeter {
  return new ProgressMeter(target, opts);
}
