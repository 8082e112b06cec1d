/**
 * A disk thread for non-durable writes, as FastDFS has its dio threads: the event loop hands it
 * whole small files and binlog lines and gets one answer per job, instead of a thread-pool
 * round trip per system call (open, pwritev, close, link, unlink, the binlog's write). Profiles
 * of 4 KB uploads put about half of a request's CPU in those round trips: each wakes a libuv
 * pool thread with a futex, the woken thread often preempts the event loop, and its answer
 * wakes the loop again. Here the jobs that arrive during one turn of the event loop go over in
 * one message, the thread runs their system calls back to back (blocking calls belong on such
 * a thread, as on libuv's own pool threads; no event loop ever waits for them), in the order
 * they were asked for, and answers a whole batch in one message.
 *
 * Only `durable_writes = false` without the native addon uses it: durable writes wait for fsyncs,
 * which concurrent pool threads overlap and one thread would serialise, and the addon's file
 * jobs do the same work with no message to copy (its one-thread lane, see src/native/jobs.c). A
 * file gets its name only once complete, so a killed process never leaves a half file under a
 * real name: it is written under a temp name, linked and the temp name dropped.
 */
import { Worker } from 'node:worker_threads';
import { FdfsError, Status } from '../common/index.js';
import type { BinlogWriter } from './binlog.js';

/** A binlog line a create job writes first (the file appears only once its record is written). */
export interface LogLine {
  readonly fd: number;
  readonly text: string;
}

/**
 * What the engine and the binlog hand non-durable small files and records to: this thread, or
 * the native addon's jobs where it is built (native-disk.ts).
 */
export interface DiskWriter extends BinlogWriter {
  /**
   * Writes `data` to a new file named `final` (via `tmp` where it needs a temp name), never
   * replacing a name: a taken one fails EEXIST with `tempKept` set, the complete file left at
   * `tmp`. With `log`, that record is appended first, and a failure there makes no file.
   */
  createFile(tmp: string, final: string, data: Uint8Array, log?: LogLine): Promise<void>;
  close(): Promise<void>;
}

/**
 * Jobs travel as one flat array per batch: a profile showed the structured clone of an object
 * per job (and a nested one for its binlog line) costing 3x a flat array's, about 20 us a job
 * at the small batches of a moderate load.
 *   append: APPEND, fd, text
 *   create: CREATE, tmp, final, data, log fd (-1: none), log text
 */
const APPEND = 0;
const CREATE = 1;
type Field = number | string | Uint8Array;

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
 * but its parameters (so APPEND is the literal 0 in it).
 */
function diskThreadMain(fs: typeof import('node:fs'), port: import('node:worker_threads').MessagePort): void {
  // Appends at the end: the binlog is opened with O_APPEND, so no position is given.
  const appendAll = (fd: number, text: string) => {
    const b = Buffer.from(text, 'utf8');
    let off = 0;
    while (off < b.length) off += fs.writeSync(fd, b, off, b.length - off);
  };
  const failure = (err: unknown, kept: boolean) => {
    const e = err as { code?: string; message?: string };
    return { code: e.code, message: e.message ?? String(err), kept };
  };
  port.on('message', (jobs: (number | string | Uint8Array)[]) => {
    const answers: (ReturnType<typeof failure> | null)[] = [];
    let i = 0;
    while (i < jobs.length) {
      if (jobs[i++] === 0) {
        const fd = jobs[i++] as number;
        const text = jobs[i++] as string;
        try {
          appendAll(fd, text);
          answers.push(null);
        } catch (err) {
          answers.push(failure(err, false));
        }
        continue;
      }
      const tmp = jobs[i++] as string;
      const final = jobs[i++] as string;
      const data = jobs[i++] as Uint8Array;
      const logFd = jobs[i++] as number;
      const logText = jobs[i++] as string;
      let fd = -1;
      let written = false;
      try {
        if (logFd >= 0) appendAll(logFd, logText);
        fd = fs.openSync(tmp, 'wx', 0o644);
        let at = 0;
        while (at < data.length) at += fs.writeSync(fd, data, at, data.length - at, at);
        fs.closeSync(fd);
        fd = -1;
        written = true;
        // link, never rename: an existing file of that name is refused (EEXIST), never replaced.
        fs.linkSync(tmp, final);
      } catch (err) {
        const kept = written && (err as { code?: string }).code === 'EEXIST';
        if (fd >= 0) {
          try {
            fs.closeSync(fd);
          } catch {}
        }
        if (!kept) {
          try {
            fs.unlinkSync(tmp);
          } catch {}
        }
        answers.push(failure(err, kept));
        continue;
      }
      // A temp name left behind is only clutter (start clears .tmp): the file is in place.
      try {
        fs.unlinkSync(tmp);
      } catch {}
      answers.push(null);
    }
    port.postMessage(answers);
  });
}

const threadSource = `(${diskThreadMain.toString()})(require('node:fs'), require('node:worker_threads').parentPort)`;

interface Pending {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class DiskThread implements DiskWriter {
  private queue: Field[] = [];
  private moved: ArrayBuffer[] = [];
  private waiting: Pending[] = [];
  /** Batches posted and not answered yet, oldest first (the thread answers in order). */
  private readonly posted: Pending[][] = [];
  private scheduled = false;
  private failure: Error | undefined;
  /** Jobs asked for and jobs settled so far; drain() waits for the second to reach the first. */
  private asked = 0;
  private settled = 0;
  private drains: { readonly upTo: number; readonly resolve: () => void }[] = [];
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
    return new DiskThread(new Worker(threadSource, { eval: true }));
  }

  /**
   * Writes `data` to the new file `tmp`, then links it to `final` and drops the temp name; with
   * `log`, that binlog line is appended first and a failure to write it leaves no file. If
   * `final` is taken the error is EEXIST with `tempKept` set: the complete temp file is still
   * there, for the caller to link under another name. `data` is handed over: its memory moves
   * to the thread when it spans a whole ArrayBuffer, and is copied otherwise.
   */
  createFile(tmp: string, final: string, data: Uint8Array, log?: LogLine): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength;
    const own = whole ? data : new Uint8Array(data);
    this.moved.push(own.buffer as ArrayBuffer);
    this.queue.push(CREATE, tmp, final, own, log?.fd ?? -1, log?.text ?? '');
    return this.ask();
  }

  /** Appends `text` to `fd` (opened with O_APPEND), after every job asked for before. */
  append(fd: number, text: string): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.queue.push(APPEND, fd, text);
    return this.ask();
  }

  /** Resolves once every job asked for so far is settled (before its fd may be closed). */
  drain(): Promise<void> {
    if (this.settled >= this.asked) return Promise.resolve();
    return new Promise((resolve) => this.drains.push({ upTo: this.asked, resolve }));
  }

  /** Counts the job just queued and schedules the batch. */
  private ask(): Promise<void> {
    this.asked++;
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
    const moved = this.moved;
    const waiting = this.waiting;
    this.queue = [];
    this.moved = [];
    this.waiting = [];
    if (waiting.length === 0) return;
    if (this.failure) {
      this.settle(waiting, () => this.failure);
      return;
    }
    this.posted.push(waiting);
    this.worker.postMessage(jobs, moved);
  }

  private answered(answers: (JobFailure | null)[]): void {
    this.settle(this.posted.shift() ?? [], (i) => {
      const a = answers[i];
      if (a === null) return undefined;
      const err = new Error(a?.message ?? 'disk thread: no answer');
      return Object.assign(err, { code: a?.code, tempKept: a?.kept === true });
    });
  }

  private settle(batch: readonly Pending[], outcome: (i: number) => Error | undefined): void {
    for (let i = 0; i < batch.length; i++) {
      const err = outcome(i);
      if (err) batch[i]?.reject(err);
      else batch[i]?.resolve();
    }
    this.settled += batch.length;
    if (this.drains.length > 0) {
      const due = this.drains.filter((d) => d.upTo <= this.settled);
      this.drains = this.drains.filter((d) => d.upTo > this.settled);
      for (const d of due) d.resolve();
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const batch of this.posted.splice(0)) this.settle(batch, () => this.failure);
  }

  /** Ends the thread once the jobs already asked for are settled; later ones are refused. */
  async close(): Promise<void> {
    await this.drain();
    this.failure ??= new FdfsError(Status.EIO, 'the disk thread is closed');
    await this.worker.terminate();
    await this.exited;
  }
}
