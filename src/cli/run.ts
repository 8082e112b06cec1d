/** Runs a long-lived role until SIGINT/SIGTERM, then closes it cleanly. Only cli does this. */
import type { Logger } from '../common/index.js';

export async function runUntilSignal(logger: Logger, close: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn('second signal, exiting now', { signal });
        process.exit(1);
      }
      stopping = true;
      logger.info('shutting down', { signal });
      close().then(resolve, (err) => {
        logger.error('shutdown failed', { err });
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
