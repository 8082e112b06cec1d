/** `fdfs tracker <conf>` and `fdfs storage <conf>`: one role per process, as FastDFS runs them. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger, FdfsError, Status } from '../common/index.js';
import { loadStorageConfig, loadTrackerConfig } from '../config/index.js';
import { startStorage } from '../storage/index.js';
import { startTracker } from '../tracker/index.js';
import { overridesOf, parse } from './args.js';
import { acquirePidFile } from './pidfile.js';
import { runUntilSignal } from './run.js';

export const roleHelp = `fdfs tracker <tracker.conf> [--set key=value ...]
fdfs storage <storage.conf> [--set key=value ...]
  Runs one role from a FastDFS-format conf file; --set overrides any key (repeatable; a repeated
  key gives a list, like several tracker_server lines).
Example: fdfs storage conf/storage.conf --set port=23001 --set tracker_server=10.0.0.1:22122`;

export async function roleCommand(role: 'tracker' | 'storage', argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {});
  if (values.help) {
    process.stdout.write(`${roleHelp}\n`);
    return;
  }
  const confPath = positionals[0];
  if (!confPath)
    throw new FdfsError(
      Status.EINVAL,
      `fdfs ${role}: missing the conf file argument (see fdfs ${role} --help)`,
    );
  const overrides = overridesOf(values.set as string[] | undefined);
  const tracker = role === 'tracker' ? await loadTrackerConfig(confPath, overrides) : undefined;
  const storage = role === 'storage' ? await loadStorageConfig(confPath, overrides) : undefined;
  const loaded = tracker ?? storage;
  if (!loaded) return;
  const logger = createLogger({ level: loaded.config.logLevel });
  for (const w of loaded.warnings) logger.warn(w);
  await mkdir(loaded.config.basePath, { recursive: true });
  const releasePid = await acquirePidFile(join(loaded.config.basePath, `fdfs-${role}.pid`));
  const node = tracker
    ? await startTracker(tracker.config, { logger })
    : storage && (await startStorage(storage.config, { logger }));
  if (!node) return;
  process.stdout.write(`fdfs ready ${role}=${node.address.host}:${node.address.port}\n`);
  await runUntilSignal(logger, async () => {
    await node.close();
    await releasePid();
  });
}
