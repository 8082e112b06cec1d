/**
 * The change-log reply to beats, disk and sync reports (tracker_check_and_sync): the leader tells
 * each storage who leads, its group's trunk server and every storage of its group with its
 * status, each part only when it changed since this link last got it. A stock storage learns its
 * peers (and starts pushing to them) from nothing else. A follower answers the flags byte 0.
 */
import { type ChangeLog, EMPTY_BRIEF, encodeChangeLog, type StorageBrief } from '../protocol/index.js';
import type { ConnectionState, TrackerContext } from './context.js';
import type { StorageGroup } from './group.js';
import { trunkServerOf } from './trunk.js';

/** STORAGE_ID_SIZE − 1: the leader's ip stands in its id field. */
const ID_CHARS = 15;

/** The group's storages as briefs, sorted by id (upstream's sorted_servers). */
export function groupBriefs(group: StorageGroup): StorageBrief[] {
  return group.sorted().map((s) => ({ status: s.status, port: s.port, id: s.id, ip: s.ip }));
}

const sig = (b: StorageBrief) => `${b.status}/${b.port}/${b.id}/${b.ip}`;

export function changeLogFor(ctx: TrackerContext, conn: ConnectionState, groupName: string): Buffer {
  const rel = ctx.relationship;
  const group = ctx.cluster.group(groupName);
  if (!rel.leaderSelf || !group) return encodeChangeLog({});
  conn.sent ??= { leader: '', trunk: '', group: '' };
  const sent = conn.sent;
  const out: { leader?: StorageBrief; trunk?: StorageBrief; servers?: StorageBrief[] } = {};
  const leader = rel.leader;
  const leaderSig = `${rel.leaderText() ?? ''}#${rel.leaderChanges}`;
  if (leader && sent.leader !== leaderSig) {
    const ip = leader.ips[0] ?? '';
    out.leader = { status: 0, port: leader.port, id: ip.slice(0, ID_CHARS), ip };
    sent.leader = leaderSig;
  }
  if (ctx.config.trunk.useTrunkFile) {
    const t = trunkServerOf(group, true);
    const trunkSig = t ? `${t.id}/${t.ip}/${t.port}` : '-';
    if (sent.trunk !== trunkSig) {
      out.trunk = t ? { status: t.status, port: t.port, id: t.id, ip: t.ip } : EMPTY_BRIEF;
      sent.trunk = trunkSig;
    }
  }
  const servers = groupBriefs(group);
  const groupSig = servers.map(sig).join(',');
  if (sent.group !== groupSig) {
    out.servers = servers;
    sent.group = groupSig;
  }
  return encodeChangeLog(out satisfies ChangeLog);
}
