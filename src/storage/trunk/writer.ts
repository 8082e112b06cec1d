/**
 * A thread that writes small uploads into trunk files, as FastDFS' dio threads do: the event loop
 * hands it whole files (header + bytes at a slot) and gets one answer per batch, instead of a
 * thread-pool round trip per system call (each wakes a pool thread and, answered, the loop; see
 * ../disk-thread.ts). Per batch it checks each slot is free (no header), writes header and bytes
 * in one pwrite, then, durable, makes every trunk file it wrote to durable with one fdatasync:
 * uploads that arrive while one batch syncs go together in the next. Trunk files stay open here.
 */
import { Worker } from 'node:worker_threads';
import { FdfsError, Status } from '../../common/index.js';

export interface SlotWrite {
  /** The trunk file (created at `fileSize` bytes, sparse, when missing). */
  readonly path: string;
  readonly fileSize: number;
  /** Where the slot starts: the header goes here, the bytes right after it. */
  readonly offset: number;
  readonly header: Uint8Array;
  readonly data: Uint8Array;
}

/**
 * Jobs travel as one flat array per batch, `path, fileSize, offset, header + bytes` each: the
 * structured clone of an object per job costs about 3x a flat array's (see ../disk-thread.ts).
 */
const JOB_FIELDS = 4;
type Field = string | number | Uint8Array;

/** An answer: null when written (and synced), else the error's fields. */
type Answer = { readonly code: string | undefined; readonly message: string } | null;

/**
 * The thread's whole program; its source text is what the thread runs (`eval`), so it may use
 * nothing but its parameters (the same code runs from dist/ and under the test runner).
 */
function writerMain(
  fs: typeof import('node:fs'),
  path: typeof import('node:path'),
  port: import('node:worker_threads').MessagePort,
  durable: boolean,
  jobFields: number,
): void {
  const fds = new Map<string, number>();
  const fdOf = (file: string, size: number): number => {
    const known = fds.get(file);
    if (known !== undefined) return known;
    let fd: number;
    try {
      fd = fs.openSync(file, 'r+');
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
      fs.mkdirSync(path.dirname(file), { recursive: true });
      try {
        fd = fs.openSync(file, 'wx+', 0o644);
      } catch (e) {
        if ((e as { code?: string }).code !== 'EEXIST') throw e;
        fd = fs.openSync(file, 'r+');
      }
      if (fs.fstatSync(fd).size < size) fs.ftruncateSync(fd, size);
      if (durable) {
        fs.fdatasyncSync(fd);
        const dir = fs.openSync(path.dirname(file), 'r');
        try {
          fs.fsyncSync(dir);
        } finally {
          fs.closeSync(dir);
        }
      }
    }
    fds.set(file, fd);
    return fd;
  };
  const head = Buffer.alloc(24);
  port.on('message', (flat: Field[]) => {
    const answers: Answer[] = [];
    const touched = new Map<number, number[]>();
    for (let at = 0, i = 0; at < flat.length; at += jobFields, i++) {
      const file = flat[at] as string;
      const offset = flat[at + 2] as number;
      const bytes = flat[at + 3] as Uint8Array;
      try {
        const fd = fdOf(file, flat[at + 1] as number);
        // Someone's file already there (a free list that lags the disk): refused, not overwritten.
        const n = fs.readSync(fd, head, 0, 24, offset);
        if (n === 24 && head.some((b) => b !== 0)) {
          answers.push({ code: 'EEXIST', message: `slot at ${offset} of ${file} is occupied` });
          continue;
        }
        let done = 0;
        while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done, offset + done);
        answers.push(null);
        const list = touched.get(fd) ?? [];
        list.push(i);
        touched.set(fd, list);
      } catch (err) {
        const e = err as { code?: string; message?: string };
        answers.push({ code: e.code, message: e.message ?? String(err) });
      }
    }
    if (durable) {
      for (const [fd, which] of touched) {
        try {
          fs.fdatasyncSync(fd);
        } catch (err) {
          const e = err as { code?: string; message?: string };
          for (const i of which) answers[i] = { code: e.code, message: e.message ?? String(err) };
        }
      }
    }
    port.postMessage(answers);
  });
}

interface Pending {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class TrunkWriter {
  private queue: Field[] = [];
  private moved: ArrayBuffer[] = [];
  private waiting: Pending[] = [];
  /** Batches posted and not answered yet, oldest first (the thread answers in order). */
  private readonly posted: Pending[][] = [];
  private scheduled = false;
  private posts = 0;
  private failure: Error | undefined;
  private onIdle: (() => void) | undefined;
  private readonly exited: Promise<void>;

  /** Batches handed to the thread so far (each one fdatasync when durable). */
  get batches(): number {
    return this.posts;
  }

  private constructor(private readonly worker: Worker) {
    worker.on('message', (answers: Answer[]) => this.answered(answers));
    worker.on('error', (err) => this.fail(err));
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    void this.exited.then(() => this.fail(new FdfsError(Status.EIO, 'the trunk writer thread exited')));
    worker.unref();
  }

  static start(durable: boolean): TrunkWriter {
    const source =
      `(${writerMain.toString()})(require('node:fs'), require('node:path'), ` +
      `require('node:worker_threads').parentPort, ${durable ? 'true' : 'false'}, ${JOB_FIELDS})`;
    return new TrunkWriter(new Worker(source, { eval: true }));
  }

  /**
   * Writes header + bytes at the slot and, durable, syncs the trunk file. EEXIST when the slot
   * already holds a header (nothing written). The thread gets its own copy of `data`: the caller
   * keeps it for another slot or a normal file should this one be taken (moving it would leave
   * the caller an emptied buffer; the copy costs far less than the write).
   */
  write(job: SlotWrite): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const bytes = new Uint8Array(job.header.length + job.data.length);
    bytes.set(job.header);
    bytes.set(job.data, job.header.length);
    this.queue.push(job.path, job.fileSize, job.offset, bytes);
    this.moved.push(bytes.buffer);
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.schedule();
    return done;
  }

  /**
   * One batch at the thread at a time: what is asked for while it writes and syncs waits here
   * and goes over as the next batch when it answers, sharing one fdatasync. Posting each turn's
   * jobs at once instead queued message behind message, each synced on its own.
   */
  private schedule(): void {
    if (this.scheduled || this.posted.length > 0 || this.queue.length === 0) return;
    this.scheduled = true;
    // Everything asked for during this turn of the event loop goes in one message.
    setImmediate(() => this.post());
  }

  private post(): void {
    this.scheduled = false;
    const jobs = this.queue;
    const transfer = this.moved;
    const waiting = this.waiting;
    this.queue = [];
    this.moved = [];
    this.waiting = [];
    if (this.failure) for (const w of waiting) w.reject(this.failure);
    if (this.failure || jobs.length === 0) {
      this.idle();
      return;
    }
    try {
      this.worker.postMessage(jobs, transfer);
    } catch (err) {
      // Nothing went to the thread: this batch fails alone, and later answers stay in step.
      const failed = new FdfsError(Status.EIO, 'trunk writer: the batch could not be handed over', {
        cause: err,
      });
      for (const w of waiting) w.reject(failed);
      this.idle();
      return;
    }
    this.posted.push(waiting);
    this.posts++;
  }

  private idle(): void {
    if (this.onIdle && !this.scheduled && this.posted.length === 0) this.onIdle();
  }

  private answered(answers: Answer[]): void {
    const batch = this.posted.shift() ?? [];
    batch.forEach((p, i) => {
      const a = answers[i];
      if (a === null) p.resolve();
      else {
        const status = a?.code === 'EEXIST' ? Status.EEXIST : Status.EIO;
        p.reject(new FdfsError(status, a?.message ?? 'trunk writer: no answer', { cause: a }));
      }
    });
    this.schedule();
    this.idle();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const batch of this.posted.splice(0)) for (const p of batch) p.reject(this.failure);
    this.schedule(); // jobs held back for the next batch are refused too (post() sees the failure)
    this.idle();
  }

  /** Ends the thread once the batches already posted are answered (its fds close with it). */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.onIdle = resolve;
      this.idle();
    });
    this.failure ??= new FdfsError(Status.EIO, 'the trunk writer thread is closed');
    await this.worker.terminate();
    await this.exited;
  }
}
