/** Runs a long-lived role until SIGINT/SIGTERM, then closes it cleanly. Only cli does this. */
import type { Logger } from '../common/index.js';

/**
 * Prints `readyLine` once SIGINT/SIGTERM are handled (Node installs a signal handler a few ms
 * after the first listener is added), so a supervisor that signals as soon as it reads the line
 * gets a clean shutdown, not the default action; then waits for the signal and closes.
 */
export async function runUntilSignal(
  logger: Logger,
  readyLine: string,
  close: () => Promise<void>,
): Promise<void> {
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
    process.stdout.write(`${readyLine}\n`);
  });
}

interface Step {
  readonly name: string;
  readonly close: () => Promise<void>;
}

/**
 * The start sequence of a command that runs several roles. Each started role (and the pid file)
 * is registered; when any step fails, those already running are closed, newest first, so a failed
 * start leaves nothing listening and no pid file, and the error goes up to main's one line and
 * exit status.
 */
export class Startup {
  private readonly steps: Step[] = [];

  constructor(private readonly logger: Logger) {}

  /** Registers something to undo on failure or shutdown; returns it. */
  add<T extends { close(): Promise<void> }>(name: string, node: T): T {
    this.steps.push({ name, close: () => node.close() });
    return node;
  }

  /** Runs `body`; if it throws, closes everything registered and rethrows. */
  async run<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      await this.closeAll();
      // A half-started role may still hold a timer or a socket: exit anyway once main has set
      // the exit status (unref'd, so a clean exit happens first when nothing is left).
      setTimeout(() => process.exit(), 2000).unref();
      throw err;
    }
  }

  /** Closes everything registered, newest first; one failure does not stop the others. */
  async closeAll(): Promise<void> {
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step.close();
      } catch (err) {
        this.logger.error('close failed', { what: step.name, err });
      }
    }
  }
}
