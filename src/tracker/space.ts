/** reserved_storage_space checks, as upstream `fdfs_check_reserved_space*` (fdfs_shared_func.c). */
import type { ReservedSpace } from '../config/types.js';
import type { GroupSpace } from './group.js';
import type { PathUsage } from './storage-node.js';

const MB = 1024 * 1024;

/** The reserve in MB for a server or group of `totalMb` (what stat records print as reserved_mb). */
export function reservedMb(reserve: ReservedSpace, totalMb: number): number {
  return reserve.kind === 'bytes' ? Math.floor(reserve.bytes / MB) : Math.floor(totalMb * reserve.ratio);
}

/** A group may take uploads while its fullest member has more free space than the reserve. */
export function groupHasSpace(reserve: ReservedSpace, space: GroupSpace): boolean {
  if (reserve.kind === 'bytes') return space.freeMb > Math.floor(reserve.bytes / MB);
  return space.totalMb > 0 && space.freeMb / space.totalMb > reserve.ratio;
}

/** One store path: an absolute reserve is shared evenly between the paths. */
export function pathHasSpace(
  reserve: ReservedSpace,
  path: PathUsage | undefined,
  pathCount: number,
): boolean {
  const p = path ?? { totalMb: 0, freeMb: 0 };
  if (reserve.kind === 'bytes') {
    return p.freeMb > Math.floor(Math.floor(reserve.bytes / MB) / Math.max(1, pathCount));
  }
  return p.totalMb > 0 && p.freeMb / p.totalMb > reserve.ratio;
}

/** `reserved_storage_space` as the tracker prints it in cmd 75: `NMB` or `20.00%`. */
export function formatReserved(reserve: ReservedSpace): string {
  return reserve.kind === 'bytes'
    ? `${Math.floor(reserve.bytes / MB)}MB`
    : `${(reserve.ratio * 100).toFixed(2)}%`;
}
