/**
 * `fdfs start` runs its tracker on a worker thread: a native upload or download asks the tracker,
 * then the storage, and with both on one event loop the two halves of every operation queued
 * behind each other on one core. The thread is the tracker exactly as `fdfs tracker` runs it
 * (same code, its own event loop), started and stopped by this process: one command, one ready
 * line, one Ctrl-C.
 */
import { Worker } from 'node:worker_threads';
import { FdfsError, Status } from '../common/index.js';
import type { TrackerConfig } from '../config/types.js';
import type { FromTracker } from './tracker-worker.js';

export interface TrackerThread {
  readonly address: { readonly host: string; readonly port: number };
  close(): Promise<void>;
}

export async function startTrackerThread(config: TrackerConfig): Promise<TrackerThread> {
  const worker = new Worker(new URL('./tracker-worker.js', import.meta.url), { workerData: { config } });
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const first = await new Promise<FromTracker>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    void exited.then(() =>
      reject(new FdfsError(Status.EIO, 'the tracker thread exited before it was ready')),
    );
  });
  if (first.type !== 'ready') {
    await exited;
    throw new FdfsError(
      first.type === 'failed' ? first.status : Status.EIO,
      first.type === 'failed' ? first.message : 'tracker thread failed',
    );
  }
  // A crash of the tracker thread is a crash of the process, as when it shared the main thread.
  worker.on('error', (err) => {
    throw err;
  });
  return {
    address: { host: first.host, port: first.port },
    async close() {
      worker.postMessage('close');
      const timer = setTimeout(() => void worker.terminate(), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
