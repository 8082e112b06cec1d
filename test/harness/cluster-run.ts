/**
 * A small real cluster for the chaos run: two trackers and three storages in two groups
 * (group1 on 127.0.0.2 and .3, group2 on .4), each its own process, each restartable on its
 * port and data after a kill -9.
 */
import { FdfsClient } from '../../src/client/index.js';
import { defaultClientConfig } from '../../src/config/index.js';
import { type Proc, removeDirs, startStorageProc, startTrackerProc } from '../helpers/cluster.js';
import { tempDir } from '../helpers/node-process.js';

export interface Member {
  readonly name: string;
  readonly group?: string;
  proc: Proc;
  restart(): Promise<void>;
}

export interface Cluster {
  readonly trackers: Member[];
  readonly storages: Member[];
  readonly all: Member[];
  client(): FdfsClient;
  stop(): Promise<void>;
}

const STORAGE_SETS = ['durable_writes=true', 'log_level=warn'];

/** `trackerSets`: tracker.conf keys for both trackers (the trunk keys of `chaos --trunk`). */
export async function startCluster(trackerSets: readonly string[] = []): Promise<Cluster> {
  const trackers: Member[] = [];
  for (let i = 0; i < 2; i++) {
    const base = await tempDir('fdfs-chaos-trk-');
    const first = await startTrackerProc({ base, host: '127.0.0.1', sets: trackerSets });
    const m: Member = {
      name: `tracker${i + 1}`,
      proc: first,
      async restart() {
        m.proc = await startTrackerProc({ base, host: '127.0.0.1', port: first.port, sets: trackerSets });
      },
    };
    trackers.push(m);
  }
  const trackerAddrs = trackers.map((t) => ({ host: t.proc.host, port: t.proc.port }));
  const layout = [
    { host: '127.0.0.2', group: 'group1' },
    { host: '127.0.0.3', group: 'group1' },
    { host: '127.0.0.4', group: 'group2' },
  ];
  const storages: Member[] = [];
  for (const s of layout) {
    const base = await tempDir('fdfs-chaos-sto-');
    const first = await startStorageProc({
      host: s.host,
      group: s.group,
      trackers: trackerAddrs,
      base,
      sets: STORAGE_SETS,
    });
    const m: Member = {
      name: `storage ${s.host} (${s.group})`,
      group: s.group,
      proc: first,
      async restart() {
        m.proc = await startStorageProc({
          host: s.host,
          group: s.group,
          trackers: trackerAddrs,
          base,
          port: first.port,
          sets: STORAGE_SETS,
        });
      },
    };
    storages.push(m);
  }
  const all = [...trackers, ...storages];
  return {
    trackers,
    storages,
    all,
    client() {
      return new FdfsClient(
        defaultClientConfig(
          new Map([
            ['tracker_server', trackerAddrs.map((t) => `${t.host}:${t.port}`)],
            ['connect_timeout', ['2']],
            ['network_timeout', ['5']],
          ]),
        ).config,
      );
    },
    async stop() {
      for (const m of all) await m.proc.stop();
      await removeDirs(all.map((m) => m.proc.base));
    },
  };
}
