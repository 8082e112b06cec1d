/** `fdfs monitor` (and `fdfs_monitor`): groups and storages as a tracker sees them. */
import { type FdfsClient, isStatusReply, peerSync, TrackerClient } from '../client/index.js';
import { FdfsError, Status } from '../common/index.js';
import type { HostPort } from '../config/index.js';
import { storageStatusName } from '../protocol/index.js';
import { briefText, type GroupReport, monitorText, syncLag } from './monitor-format.js';
import { emit, loadConf, usageError, type Verb, type VerbContext, withClient } from './verb.js';

export const monitorVerb: Verb = {
  name: 'monitor',
  synopsis: '<conf> [list [group]]',
  summary: 'groups, storages, status, free space, heartbeat, sync lag (fdfs_monitor)',
  help: `fdfs monitor <client.conf> [list [group]] [options]
fdfs monitor <client.conf> delete <group> <storage_id>
  Prints what fdfs_monitor prints, from the first tracker that answers: every group (or only
  <group>) with its space and server counts, and every storage with its status (INIT, WAIT_SYNC,
  SYNCING, OFFLINE, ONLINE, ACTIVE, …), free space, counters, last heartbeat and, once its peers
  have written files, how far it lags behind them ("(5s delay)", "(never synced)"). A fastdfs-ts
  tracker also tells, per peer, up to when the storage holds that peer's files:
  "synced from 127.0.0.3 until 2026-11-22 03:01:02 (delay 3s)" (--json: syncFrom). Under the
  tracker's address, "tracker leader is IP:PORT": the leader that tracker follows (--json: leader).
  delete removes a storage that is no longer running from every tracker (fdfs_monitor delete).
  --tracker HOST:PORT ask this tracker instead of the conf's tracker_server list
  --brief             one line per group and per storage: status, free space, heartbeat age, sync lag
Examples:
  fdfs monitor /etc/fdfs/client.conf
  fdfs monitor /etc/fdfs/client.conf list group1 --brief
  fdfs monitor - --set tracker_server=10.0.0.1:22122 --json | jq '.groups[].storages[].statusName'`,
  options: { tracker: { type: 'string' }, brief: { type: 'boolean' } },
  async run(ctx) {
    const [confPath, op = 'list', group, storageId] = ctx.positionals;
    if (confPath === undefined) throw usageError('missing <conf>');
    const tracker = ctx.values.tracker as string | undefined;
    const sets = new Map(ctx.overrides);
    if (tracker !== undefined) sets.set('tracker_server', [tracker]);
    const config = await loadConf({ ...ctx, overrides: sets }, confPath);
    if (op === 'list') {
      if (storageId !== undefined) throw usageError(`unexpected argument ${JSON.stringify(storageId)}`);
      return withClient(ctx, (client) => list(ctx, client, config.trackerServers, group), config);
    }
    if (op === 'delete') {
      if (group === undefined || storageId === undefined)
        throw usageError('delete needs <group> <storage_id>');
      await withClient(ctx, (client) => client.tracker.deleteStorage(group, storageId), config);
      return emit(ctx, `delete storage server ${group}::${storageId} success`, {
        group,
        storageId,
        deleted: true,
      });
    }
    if (op === 'set_trunk_server') throw new FdfsError(Status.EOPNOTSUPP, 'trunk files are not supported');
    throw usageError(`unknown operation ${JSON.stringify(op)}: expected list or delete`);
  },
};

async function list(ctx: VerbContext, client: FdfsClient, trackers: readonly HostPort[], only?: string) {
  const { index, address, tracker, groups } = await firstAnswering(client, trackers);
  const picked = only === undefined ? groups : groups.filter((g) => g.groupName === only);
  if (only !== undefined && picked.length === 0) {
    throw new FdfsError(Status.ENOENT, `no group ${only} on tracker ${address}`, { peer: address });
  }
  const reports: GroupReport[] = [];
  for (const group of picked) {
    const storages = await tracker.listStorages(group.groupName);
    // Our trackers also say how far each storage holds each peer's files; FastDFS ones do not.
    const syncStatus = await tracker.syncStatus(group.groupName);
    reports.push({ group, storages, ...(syncStatus ? { syncStatus } : {}) });
  }
  const leader = await tracker.leader();
  const text = ctx.values.brief
    ? briefText(address, reports, Math.floor(Date.now() / 1000))
    : monitorText({ index, count: trackers.length, address, leader }, reports, only !== undefined);
  emit(ctx, text, {
    tracker: address,
    leader: leader ?? null,
    groups: reports.map(({ group, storages, syncStatus }) => ({
      ...group,
      storages: storages.map((s) => {
        const lag = syncLag(s, storages);
        return {
          ...s,
          statusName: storageStatusName(s.status),
          syncLagSeconds: lag.seconds,
          neverSynced: lag.neverSynced,
          // Per peer; null when the tracker cannot tell (a FastDFS tracker).
          syncFrom: syncStatus ? peerSync(s.id, syncStatus, storages) : null,
        };
      }),
    })),
  });
}

/** Lists groups on each tracker in turn; the first that answers is the one reported on. */
async function firstAnswering(client: FdfsClient, trackers: readonly HostPort[]) {
  let last: unknown;
  for (const [index, t] of trackers.entries()) {
    const tracker = new TrackerClient({ trackers: [t], pool: client.pool });
    try {
      return { index, address: `${t.host}:${t.port}`, tracker, groups: await tracker.listGroups() };
    } catch (err) {
      if (isStatusReply(err)) throw err;
      last = err;
    }
  }
  throw last ?? new FdfsError(Status.EINVAL, 'no tracker_server configured');
}
