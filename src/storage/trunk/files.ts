/**
 * Open trunk files for writing, shared by the uploads into them, with group commit: every upload
 * that asks for a sync while one runs shares the next fdatasync, so N concurrent small uploads
 * into one trunk file cost about two syncs, not N. A trunk file missing here (a replica that has
 * not seen it yet, a file lost in a crash) is created at its full size, sparse, as FastDFS'
 * trunk_check_and_init_file does.
 */
import { ftruncate } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncDir } from '../../common/index.js';
import { closeFd, datasyncFd, openFd, sizeOfFd } from '../fd-io.js';

interface OpenFile {
  readonly fd: number;
  users: number;
  idleTimer: NodeJS.Timeout | undefined;
  /** The fdatasync running now, and the one queued behind it that new callers share. */
  running: Promise<void> | undefined;
  next: Promise<void> | undefined;
  closed: boolean;
}

/** Kept open this long after the last upload into it (ms). */
const IDLE_MS = 5000;

function ftruncateFd(fd: number, len: number): Promise<void> {
  return new Promise((resolve, reject) => ftruncate(fd, len, (err) => (err ? reject(err) : resolve())));
}

export class TrunkFiles {
  private readonly files = new Map<string, Promise<OpenFile>>();
  /** The same files once open: sync() hands out shared promises, so it must not await. */
  private readonly ready = new Map<string, OpenFile>();

  constructor(private readonly durable: boolean) {}

  /** An fd of `path` for writing, created (sized `fileSize`) when missing; give it back with release(). */
  async acquire(path: string, fileSize: number): Promise<number> {
    let p = this.files.get(path);
    if (!p) {
      p = this.openFile(path, fileSize);
      this.files.set(path, p);
      p.then(
        (f) => this.ready.set(path, f),
        () => this.files.delete(path),
      );
    }
    const f = await p;
    f.users++;
    if (f.idleTimer) {
      clearTimeout(f.idleTimer);
      f.idleTimer = undefined;
    }
    return f.fd;
  }

  release(path: string): void {
    void this.files.get(path)?.then((f) => {
      f.users--;
      if (f.users > 0 || f.closed) return;
      f.idleTimer = setTimeout(() => void this.closeIdle(path, f), IDLE_MS);
      f.idleTimer.unref();
    });
  }

  private async closeIdle(path: string, f: OpenFile): Promise<void> {
    if (f.users > 0 || f.closed) return;
    f.closed = true;
    this.files.delete(path);
    this.ready.delete(path);
    await this.settle(f);
    await closeFd(f.fd).catch(() => {});
  }

  private async settle(f: OpenFile): Promise<void> {
    while (f.running || f.next) await (f.next ?? f.running)?.catch(() => {});
  }

  private async openFile(path: string, fileSize: number): Promise<OpenFile> {
    let fd: number;
    try {
      fd = await openFd(path, 'r+');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(dirname(path), { recursive: true });
      try {
        fd = await openFd(path, 'wx+', 0o644);
      } catch (e) {
        // Another writer made it between the two opens: use theirs.
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        fd = await openFd(path, 'r+');
      }
      if ((await sizeOfFd(fd)) < fileSize) await ftruncateFd(fd, fileSize);
      if (this.durable) {
        await datasyncFd(fd);
        await syncDir(dirname(path));
      }
    }
    return { fd, users: 0, idleTimer: undefined, running: undefined, next: undefined, closed: false };
  }

  /**
   * Resolves once everything written to `path` (an acquired file) before the call is on disk: the
   * caller shares the running fdatasync's successor with everyone else who asks meanwhile.
   */
  sync(path: string): Promise<void> {
    const f = this.ready.get(path);
    if (!this.durable || !f) return Promise.resolve();
    if (!f.running) {
      f.running = this.start(f);
      return f.running;
    }
    // A sync is running: it may have begun before this caller's write, so wait for the next one.
    f.next ??= f.running
      .catch(() => {})
      .then(() => {
        const mine = this.start(f);
        f.running = mine;
        f.next = undefined;
        return mine;
      });
    return f.next;
  }

  private start(f: OpenFile): Promise<void> {
    const p = datasyncFd(f.fd);
    const clear = () => {
      if (f.running === p) f.running = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  async close(): Promise<void> {
    const all = [...this.files.values()];
    this.files.clear();
    this.ready.clear();
    for (const p of all) {
      const f = await p.catch(() => undefined);
      if (!f || f.closed) continue;
      f.closed = true;
      if (f.idleTimer) clearTimeout(f.idleTimer);
      await this.settle(f);
      await closeFd(f.fd).catch(() => {});
    }
  }
}
