/**
 * A thread that writes small uploads into trunk files, as FastDFS' dio threads do: the event loop
 * hands it whole files (header + bytes at a slot) and gets one answer per batch, instead of a
 * thread-pool round trip per system call (each wakes a pool thread and, answered, the loop; see
 * ../disk-thread.ts). Per batch it checks each slot is free (no header), writes header and bytes
 * in one pwritev, then, durable, makes every trunk file it wrote to durable with one fdatasync:
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
  port.on('message', (jobs: SlotWrite[]) => {
    const answers: Answer[] = [];
    const touched = new Map<number, number[]>();
    jobs.forEach((job, i) => {
      try {
        const fd = fdOf(job.path, job.fileSize);
        // Someone's file already there (a free list that lags the disk): refused, not overwritten.
        const n = fs.readSync(fd, head, 0, 24, job.offset);
        if (n === 24 && head.some((b) => b !== 0)) {
          answers.push({ code: 'EEXIST', message: `slot at ${job.offset} of ${job.path} is occupied` });
          return;
        }
        const total = job.header.length + job.data.length;
        let done = fs.writevSync(fd, [job.header, job.data], job.offset);
        while (done < total) {
          const all = Buffer.concat([job.header, job.data]);
          done += fs.writeSync(fd, all, done, total - done, job.offset + done);
        }
        answers.push(null);
        const list = touched.get(fd) ?? [];
        list.push(i);
        touched.set(fd, list);
      } catch (err) {
        const e = err as { code?: string; message?: string };
        answers.push({ code: e.code, message: e.message ?? String(err) });
      }
    });
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
  private queue: SlotWrite[] = [];
  private waiting: Pending[] = [];
  /** Batches posted and not answered yet, oldest first (the thread answers in order). */
  private readonly posted: Pending[][] = [];
  private scheduled = false;
  /** Batches handed to the thread so far (each one fdatasync when durable). */
  batches = 0;
  private failure: Error | undefined;
  private onIdle: (() => void) | undefined;
  private readonly exited: Promise<void>;

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
      `require('node:worker_threads').parentPort, ${durable ? 'true' : 'false'})`;
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
    this.queue.push({ ...job, header: new Uint8Array(job.header), data: new Uint8Array(job.data) });
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
    const waiting = this.waiting;
    this.queue = [];
    this.waiting = [];
    if (this.failure) for (const w of waiting) w.reject(this.failure);
    if (this.failure || jobs.length === 0) {
      this.idle();
      return;
    }
    const transfer: ArrayBuffer[] = [];
    for (const j of jobs) transfer.push(j.header.buffer as ArrayBuffer, j.data.buffer as ArrayBuffer);
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
    this.batches++;
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
