/**
 * A disk thread for small non-durable uploads, as FastDFS has its dio threads: the event loop
 * hands it whole files and gets one answer per file, instead of five thread-pool round trips
 * (open, pwritev, close, link, unlink). Profiles of 4 KB uploads put about half of a request's
 * CPU in those round trips: each wakes a libuv pool thread with a futex, the woken thread often
 * preempts the event loop, and its answer wakes the loop again. Here the jobs that arrive during
 * one turn of the event loop go over in one message, the thread runs their system calls back to
 * back (blocking calls belong on such a thread, as on libuv's own pool threads; no event loop
 * ever waits for them), and answers a whole batch in one message.
 *
 * Only `durable_writes = false` uses it: durable uploads wait for fsyncs, which concurrent pool
 * threads overlap and one thread would serialise. The files keep the temp + link discipline of
 * durable.ts, so a killed process never leaves a half file under a real name.
 */
import { Worker } from 'node:worker_threads';
import { FdfsError, Status } from '../common/index.js';

interface CreateJob {
  readonly tmp: string;
  readonly final: string;
  readonly data: Uint8Array;
}

/**
 * A failed job: the fields of the system call's error, to rebuild it on this side. `kept`: the
 * temp file is complete and still there (the link found its name taken).
 */
interface JobFailure {
  readonly code: string | undefined;
  readonly message: string;
  readonly kept: boolean;
}

/**
 * The thread's whole program. Its source text is what the thread runs (`eval`), so the same code
 * works from dist/ and from the TypeScript sources under the test runner: it must use nothing
 * but its parameters.
 */
function diskThreadMain(fs: typeof import('node:fs'), port: import('node:worker_threads').MessagePort): void {
  port.on('message', (jobs: CreateJob[]) => {
    const answers: (JobFailure | null)[] = [];
    for (const job of jobs) {
      let fd = -1;
      let written = false;
      try {
        fd = fs.openSync(job.tmp, 'wx', 0o644);
        let at = 0;
        while (at < job.data.length) at += fs.writeSync(fd, job.data, at, job.data.length - at, at);
        fs.closeSync(fd);
        fd = -1;
        written = true;
        // link, never rename: an existing file of that name is refused (EEXIST), never replaced.
        fs.linkSync(job.tmp, job.final);
      } catch (err) {
        const e = err as { code?: string; message?: string };
        const kept = written && e.code === 'EEXIST';
        if (fd >= 0) {
          try {
            fs.closeSync(fd);
          } catch {}
        }
        if (!kept) {
          try {
            fs.unlinkSync(job.tmp);
          } catch {}
        }
        answers.push({ code: e.code, message: e.message ?? String(err), kept });
        continue;
      }
      // A temp name left behind is only clutter (start clears .tmp): the file is in place.
      try {
        fs.unlinkSync(job.tmp);
      } catch {}
      answers.push(null);
    }
    port.postMessage(answers);
  });
}

const SOURCE = `(${diskThreadMain.toString()})(require('node:fs'), require('node:worker_threads').parentPort)`;

interface Pending {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class DiskThread {
  private queue: CreateJob[] = [];
  private waiting: Pending[] = [];
  /** Batches posted and not answered yet, oldest first (the thread answers in order). */
  private readonly posted: Pending[][] = [];
  private scheduled = false;
  private failure: Error | undefined;
  /** close() waiting for the posted batches' answers. */
  private onIdle: (() => void) | undefined;
  private readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (answers: (JobFailure | null)[]) => this.answered(answers));
    worker.on('error', (err) => this.fail(err));
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    void this.exited.then(() => this.fail(new FdfsError(Status.EIO, 'the disk thread exited')));
    // It never keeps a process alive by itself: close() ends it, and so does the process's exit.
    worker.unref();
  }

  static start(): DiskThread {
    return new DiskThread(new Worker(SOURCE, { eval: true }));
  }

  /**
   * Writes `data` to the new file `tmp`, then links it to `final` and drops the temp name. If
   * `final` is taken the error is EEXIST with `tempKept` set: the complete temp file is still
   * there, for the caller to link under another name. `data` is handed over: its memory moves to
   * the thread when it spans a whole ArrayBuffer, and is copied otherwise.
   */
  createFile(tmp: string, final: string, data: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
    this.queue.push({ tmp, final, data: whole ? data : new Uint8Array(data) });
    const done = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    if (!this.scheduled) {
      this.scheduled = true;
      // Everything asked for during this turn of the event loop goes in one message.
      setImmediate(() => this.post());
    }
    return done;
  }

  private post(): void {
    this.scheduled = false;
    const jobs = this.queue;
    const waiting = this.waiting;
    this.queue = [];
    this.waiting = [];
    if (this.failure) {
      for (const w of waiting) w.reject(this.failure);
    }
    if (this.failure || jobs.length === 0) {
      this.idle();
      return;
    }
    this.posted.push(waiting);
    this.worker.postMessage(
      jobs,
      jobs.map((j) => j.data.buffer as ArrayBuffer),
    );
  }

  private idle(): void {
    if (this.onIdle && !this.scheduled && this.posted.length === 0) this.onIdle();
  }

  private answered(answers: (JobFailure | null)[]): void {
    const batch = this.posted.shift() ?? [];
    for (let i = 0; i < batch.length; i++) {
      const a = answers[i];
      const p = batch[i];
      if (!p) continue;
      if (a === null) p.resolve();
      else {
        const err = new Error(a?.message ?? 'disk thread: no answer');
        p.reject(Object.assign(err, { code: a?.code, tempKept: a?.kept === true }));
      }
    }
    this.idle();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const batch of this.posted.splice(0)) for (const p of batch) p.reject(this.failure);
    this.idle();
  }

  /** Ends the thread once the batches already posted are answered. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.onIdle = resolve;
      this.idle();
    });
    this.failure ??= new FdfsError(Status.EIO, 'the disk thread is closed');
    await this.worker.terminate();
    await this.exited;
  }
}
