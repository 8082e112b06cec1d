/**
 * What start does about a crash (kill -9, power loss) before serving: state-file temps are
 * removed (a torn write never replaced the real file, so they hold nothing needed), and deletes
 * that were logged but not yet carried out are finished (the engine logs before it unlinks).
 * Upload temps in `<store>/data/.tmp/` are cleared by StorePaths.init.
 */
import { unlink } from 'node:fs/promises';
import { type Logger, removeAtomicTemps } from '../common/index.js';
import type { Binlog } from './binlog.js';
import { META_SUFFIX } from './metadata-file.js';
import type { StorePaths } from './store-paths.js';
import type { Trunks } from './trunk/index.js';

export async function removeStateTemps(dirs: readonly string[], logger: Logger): Promise<number> {
  let removed = 0;
  for (const dir of dirs) removed += (await removeAtomicTemps(dir)).length;
  if (removed > 0) logger.info('removed state temp files left by a crash', { removed, dirs });
  return removed;
}

export async function finishLoggedDeletes(
  binlog: Binlog,
  paths: StorePaths,
  logger: Logger,
  trunks?: Trunks,
): Promise<number> {
  let done = 0;
  for (const name of binlog.tombstones.takeRecentDeletes()) {
    const trunk = trunks?.locate(name);
    if (trunk) {
      if (await trunks?.finishDelete(name, trunk)) done++;
      continue;
    }
    const meta = name.endsWith(META_SUFFIX);
    const path = paths.resolve(meta ? name.slice(0, -META_SUFFIX.length) : name) + (meta ? META_SUFFIX : '');
    const gone = await unlink(path).then(
      () => true,
      () => false,
    );
    if (gone) {
      done++;
      logger.info('finished a delete logged before a crash', { name });
    }
  }
  return done;
}
