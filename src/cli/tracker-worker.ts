/**
 * The tracker of `fdfs start` on its own thread (see tracker-thread.ts): starts it from the config
 * it is handed, reports its address or its start failure, and closes it when told.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger, FdfsError, toStatus } from '../common/index.js';
import type { TrackerConfig } from '../config/types.js';
import { startTracker } from '../tracker/index.js';

export type FromTracker =
  | { readonly type: 'ready'; readonly host: string; readonly port: number }
  | { readonly type: 'failed'; readonly status: number; readonly message: string }
  | { readonly type: 'closed' };

const port = parentPort;
if (!port) throw new Error('tracker-worker runs as a worker thread');
const { config } = workerData as { config: TrackerConfig };
const post = (m: FromTracker) => port.postMessage(m);

try {
  const tracker = await startTracker(config, { logger: createLogger({ level: config.logLevel }) });
  port.once('message', () => {
    void tracker.close().finally(() => {
      post({ type: 'closed' });
      port.close();
    });
  });
  post({ type: 'ready', host: tracker.address.host, port: tracker.address.port });
} catch (err) {
  const status = err instanceof FdfsError ? err.status : toStatus(err);
  post({ type: 'failed', status, message: (err as Error).message });
  port.close();
}
