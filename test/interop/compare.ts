/**
 * Compares our answers with a stock daemon's, command by command. A difference is reported under a
 * stable key (`<cmd> <field>`) with both values; fields that depend on the moment (times, free
 * space, counters, connection counts) are not compared. The tests hold every key that differs to
 * a table of differences the README explains.
 */
import {
  type ChangeLog,
  decodeChangeLog,
  decodeFetch,
  decodeGroupStats,
  decodeStorageStats,
  decodeStoreAll,
  decodeStoreOne,
  decodeSyncSource,
  decodeTrackerStatus,
  STORAGE_ID_SIZE,
  type StorageBrief,
  statusName,
} from '../../src/protocol/index.js';
import type { Answer, Exchange } from './replay.js';

export interface Difference {
  readonly key: string;
  readonly detail: string;
}

/** Test-world values mapped back to the recording's (our ports → 22122 and so on). */
export interface Normalizer {
  readonly port: (p: number) => number;
  readonly text: (s: string) => string;
}

const latin = (b: Buffer) => b.toString('latin1');
const cstr = (b: Buffer) => {
  const nul = b.indexOf(0);
  return latin(nul < 0 ? b : b.subarray(0, nul));
};

function diff(out: Difference[], key: string, stock: unknown, ours: unknown): void {
  const a = JSON.stringify(stock);
  const b = JSON.stringify(ours);
  if (a !== b) out.push({ key, detail: `stock ${a}, ours ${b}` });
}

function keyValues(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) m.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return m;
}

/** Sections of a FastDFS INI data file: name → key/value lines. */
function iniSections(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let cur = new Map<string, string>();
  out.set('', cur);
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      cur = out.get(sec[1] ?? '') ?? new Map();
      out.set(sec[1] ?? '', cur);
    } else if (line.includes('=') && !line.startsWith('#')) {
      const eq = line.indexOf('=');
      cur.set(line.slice(0, eq), line.slice(eq + 1));
    }
  }
  return out;
}

/** Keys of the sys files whose values are the moment's, not the cluster's shape. */
const VOLATILE_SYS_KEY =
  /^(join_time|total_mb|free_mb|changelog_offset|sync_until_timestamp|last_\w+|total_\w+|success_\w+)$/;

function compareSysFile(out: Difference[], index: number, stock: Buffer, ours: Buffer): void {
  const s = latin(stock.subarray(8));
  const o = latin(ours.subarray(8));
  if (index === 2) {
    // group,id,<timestamp per member>: the rows and their widths, not the times.
    const shape = (t: string) =>
      t
        .split('\n')
        .filter(Boolean)
        .map((r) => `${r.split(',').slice(0, 2).join(',')}/${r.split(',').length}`);
    diff(out, '63 sync timestamps rows', shape(s), shape(o));
    return;
  }
  if (index === 3) {
    diff(out, '63 changelog', s, o);
    return;
  }
  const a = iniSections(s);
  const b = iniSections(o);
  diff(out, `63 file ${index} sections`, [...a.keys()], [...b.keys()]);
  for (const [name, kv] of a) {
    const mine = b.get(name);
    if (!mine) continue;
    diff(out, `63 file ${index} keys`, [...kv.keys()], [...mine.keys()]);
    for (const [k, v] of kv) {
      if (VOLATILE_SYS_KEY.test(k) || !mine.has(k)) continue;
      diff(out, `63 file ${index} ${k}`, v, mine.get(k));
    }
  }
}

const brief = (b: StorageBrief, n: Normalizer) => ({ ...b, ip: n.text(b.ip), id: n.text(b.id) });

/** What a storage learned from the change-log replies on one link: the last of each part. */
export class ChangeView {
  leader: StorageBrief | undefined;
  servers: readonly StorageBrief[] | undefined;

  add(log: ChangeLog): void {
    if (log.leader) this.leader = log.leader;
    if (log.servers) this.servers = log.servers;
  }
}

const CHANGE_LOG_CMDS: ReadonlySet<number> = new Set([83, 84, 89]);

/**
 * One tracker exchange. Change-log replies (83/84/89) are not compared one by one (which beat
 * first carries the leader depends on when the election ended) but summed up per link in `views`.
 */
export function compareTracker(
  ex: Exchange,
  n: Normalizer,
  views: Map<number, { stock: ChangeView; ours: ChangeView }>,
): Difference[] {
  const out: Difference[] = [];
  const exp = ex.expected;
  const act: Answer | undefined = ex.actual;
  if (!exp) return out;
  if (!act) {
    out.push({ key: `${ex.cmd} closed`, detail: `stock answered ${statusName(exp.status)}, ours closed` });
    return out;
  }
  diff(out, `${ex.cmd} status`, statusName(exp.status), statusName(act.status));
  if (exp.status !== 0 || act.status !== 0) return out;
  const e = exp.body;
  const a = act.body;
  switch (ex.cmd) {
    case 60:
    case 95:
      diff(out, `${ex.cmd} body`, latin(e), n.text(latin(a)));
      break;
    case 75: {
      const s = keyValues(latin(e));
      const o = keyValues(latin(a));
      diff(out, '75 keys', [...s.keys()], [...o.keys()]);
      for (const [k, v] of s) if (o.has(k)) diff(out, `75 ${k}`, v, o.get(k));
      break;
    }
    case 81:
      diff(out, '81 my_status', e[0], a[0]);
      diff(
        out,
        '81 src_id',
        cstr(e.subarray(1, 1 + STORAGE_ID_SIZE)),
        cstr(a.subarray(1, 1 + STORAGE_ID_SIZE)),
      );
      break;
    case 79:
    case 86:
    case 87:
      diff(out, `${ex.cmd} src_id`, decodeSyncSource(e)?.srcId, decodeSyncSource(a)?.srcId);
      break;
    case 64: {
      const s = decodeTrackerStatus(e);
      const o = decodeTrackerStatus(a);
      diff(out, '64 if_leader', s.ifLeader, o.ifLeader);
      diff(out, '64 running_time', s.runningTime, o.runningTime);
      diff(out, '64 restart_interval', s.restartInterval, o.restartInterval);
      break;
    }
    case 63:
      compareSysFile(out, ex.request[0] ?? -1, e, a);
      break;
    case 69: {
      const lines = (b: Buffer) => latin(b.subarray(8)).split('\n').filter(Boolean);
      diff(out, '69 counts', [e.readInt32BE(0), e.readInt32BE(4)], [a.readInt32BE(0), a.readInt32BE(4)]);
      diff(out, '69 lines', lines(e), lines(a));
      break;
    }
    case 91: {
      const g = (b: Buffer) =>
        decodeGroupStats(b, 'current').map((x) => [
          x.groupName,
          x.storageCount,
          x.storagePort,
          x.activeCount,
        ]);
      diff(out, '91 groups', g(e), g(a));
      break;
    }
    case 92: {
      const st = (b: Buffer) =>
        decodeStorageStats(b, 'current').map((x) => ({
          id: x.id,
          ip: n.text(x.ip),
          status: x.status,
          srcId: x.srcId,
          version: x.version,
          port: x.storagePort,
          paths: x.storePathCount,
          subdirs: x.subdirCountPerPath,
        }));
      diff(out, '92 storages', st(e), st(a));
      break;
    }
    case 101:
    case 104:
      diff(out, `${ex.cmd} group`, decodeStoreOne(e).group, decodeStoreOne(a).group);
      diff(out, `${ex.cmd} storage`, decodeStoreOne(e), {
        ...decodeStoreOne(a),
        ip: n.text(decodeStoreOne(a).ip),
      });
      break;
    case 106:
    case 107:
      diff(out, `${ex.cmd} storages`, decodeStoreAll(e), decodeStoreAll(a));
      break;
    case 102:
    case 103:
    case 105:
      diff(out, `${ex.cmd} storage`, decodeFetch(e), decodeFetch(a));
      break;
    default:
      if (CHANGE_LOG_CMDS.has(ex.cmd)) {
        const v = views.get(ex.conn.id) ?? { stock: new ChangeView(), ours: new ChangeView() };
        views.set(ex.conn.id, v);
        v.stock.add(decodeChangeLog(e));
        v.ours.add(decodeChangeLog(a));
      } else diff(out, `${ex.cmd} body`, e.toString('hex'), a.toString('hex'));
  }
  return out;
}

/** The change-log summaries of each link: the same leader and the same group view by its end. */
export function compareViews(
  views: Map<number, { stock: ChangeView; ours: ChangeView }>,
  n: Normalizer,
): Difference[] {
  const out: Difference[] = [];
  for (const { stock, ours } of views.values()) {
    const leader = (b: StorageBrief | undefined) =>
      b ? { ...brief(b, n), port: n.port(b.port) } : undefined;
    diff(out, 'change-log leader', leader(stock.leader), leader(ours.leader));
    diff(
      out,
      'change-log servers',
      stock.servers?.map((b) => brief(b, n)),
      ours.servers?.map((b) => brief(b, n)),
    );
  }
  return out;
}
