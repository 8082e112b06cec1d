/**
 * Which storage of a group is its trunk server (FastDFS' pTrunkServer): the one that hands out
 * trunk space when use_trunk_file is on. It keeps the role while ACTIVE; otherwise the first
 * ACTIVE storage by id takes it. Storages learn it from the if_trunk_server flag of cmd 92.
 */
import type { StorageGroup } from './group.js';
import type { StorageNode } from './storage-node.js';

export function trunkServerOf(g: StorageGroup, useTrunkFile: boolean): StorageNode | undefined {
  if (!useTrunkFile) return undefined;
  const current = g.trunkServerId === undefined ? undefined : g.storages.get(g.trunkServerId);
  if (current?.isActive) return current;
  const next = g.active()[0];
  g.trunkServerId = next?.id;
  return next;
}
