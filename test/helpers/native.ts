import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Whether this machine can build the sendfile addon (what src/native/build.ts needs). */
export function canBuildAddon(): boolean {
  if (process.platform !== 'linux' || process.env.FDFS_NATIVE === '0') return false;
  if (!existsSync(join(dirname(process.execPath), '..', 'include', 'node', 'node_api.h'))) return false;
  try {
    execFileSync(process.env.CC || 'cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
