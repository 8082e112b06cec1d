/**
 * Tracker leader election as FastDFS' tracker_relationship.c runs it, so a fastdfs-ts tracker
 * can stand beside stock ones. The trackers of a cluster are the ones its storages list in their
 * joins. With none known there is no leader; otherwise, about every second: without a leader,
 * ask every tracker its running status (64) and rank them (a leader first, then the longest
 * running, the shortest restart interval, the highest address); the winner notifies every tracker
 * (66) and then commits (67) itself as leader; a loser waits for that, or adopts a winner that
 * already leads. With a leader, a follower joins it (58) and pings it (65); three failed pings
 * and it elects again. Only the leader fills the change-log replies storages read their group's
 * servers from (handlers-storage.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../common/index.js';
import {
  Cmd,
  decodePingLeaderReply,
  decodeTrackerStatus,
  encodeJoinLeader,
  encodePingLeader,
  FdfsError,
  formatIpPort,
  isFdfsError,
  parseIpPort,
  Status,
  type TrackerRunningStatus,
} from '../protocol/index.js';

/** One tracker of the cluster; a multi-address entry ("ip1,ip2:port") is one tracker. */
export interface TrackerAddr {
  readonly ips: readonly string[];
  readonly port: number;
}

/** A request/answer channel to another tracker (PeerLink in production, scripted in tests). */
export interface TrackerChannel {
  call(cmd: number, body?: Buffer): Promise<Buffer>;
  readonly usable: boolean;
  close(): void;
}

export interface RelationshipDeps {
  /** The port this tracker listens on: an entry is this tracker when its port and one of its ips match. */
  readonly port: () => number;
  readonly logger: Logger;
  /** Clock in ms. */
  readonly now: () => number;
  /** Opens a channel to `ip`:`port`; a rejection means "cannot connect", not an answer. */
  readonly connect: (ip: string, port: number) => Promise<TrackerChannel>;
  /** FastDFS trackers answer ENOENT to a status query until they know a group. */
  readonly hasGroups: () => boolean;
  /** Version sent when joining a leader (8 bytes on the wire). */
  readonly version: string;
  /** Connection counts sent with pings (alloc, current, max). */
  readonly connections?: () => { alloc: number; current: number; max: number };
  /** Rows of a leader's ping answer: each group's trunk server id ('' for none). */
  readonly onTrunkServers?: (rows: readonly { group: string; trunkId: string }[]) => void;
}

/** TRACKER_SYNC_STATUS_FILE_INTERVAL: running times are compared in whole 5-minute steps. */
const STATUS_STEP_SEC = 300;
/** Three failed pings and the leader is given up (relationship_thread_entrance). */
const MAX_PING_FAILURES = 3;

const addrText = (a: TrackerAddr) => formatIpPort(a.ips[0] ?? '', a.port);

/** Parses a join's tracker line ("ip:port", "ip1,ip2:port", "[v6]:port"); other lines are not trackers. */
export function parseTrackerLine(line: string): TrackerAddr | undefined {
  const text = line.trim();
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return undefined;
  const port = Number(text.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65535) return undefined;
  const ips = text
    .slice(0, colon)
    .split(',')
    .map((ip) => ip.trim().replace(/^\[(.*)\]$/, '$1'))
    .filter((ip) => ip !== '');
  if (ips.length === 0 || ips.some((ip) => !/^[0-9A-Za-z.:%-]+$/.test(ip))) return undefined;
  return { ips, port };
}

interface Ranked {
  readonly addr: TrackerAddr;
  readonly status: TrackerRunningStatus;
}

/** relationship_cmp_tracker_status: the greatest wins. */
export function compareTrackers(a: Ranked, b: Ranked): number {
  const byLeader = Number(a.status.ifLeader) - Number(b.status.ifLeader);
  if (byLeader !== 0) return byLeader;
  if (a.status.runningTime !== b.status.runningTime) return a.status.runningTime - b.status.runningTime;
  if (a.status.restartInterval !== b.status.restartInterval)
    return b.status.restartInterval - a.status.restartInterval;
  const ipA = a.addr.ips[0] ?? '';
  const ipB = b.addr.ips[0] ?? '';
  if (ipA !== ipB) return ipA < ipB ? -1 : 1;
  return a.addr.port - b.addr.port;
}

export class Relationship {
  readonly trackers: TrackerAddr[] = [];
  /** Addresses of this host as storages reach it (bind address, join sockets, their current_tracker_ip). */
  readonly localIps = new Set<string>();
  leader: TrackerAddr | undefined;
  leaderSelf = false;
  /** Bumped whenever this tracker becomes or stops being leader: storages are told again. */
  leaderChanges = 0;
  private next: TrackerAddr | undefined;
  private pingLink: TrackerChannel | undefined;
  private pingFailures = 0;
  private readonly upTime: number;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: RelationshipDeps) {
    this.upTime = deps.now();
  }

  /** Adds the trackers a storage listed in its join; returns how many were new. */
  addTrackers(lines: readonly string[]): number {
    let added = 0;
    for (const line of lines) {
      const t = parseTrackerLine(line);
      if (!t || this.find(t.ips, t.port)) continue;
      this.trackers.push(t);
      added++;
    }
    if (added > 0) {
      this.deps.logger.info('tracker servers', {
        trackers: this.trackers.map(addrText),
        self: this.self ? addrText(this.self) : undefined,
      });
    }
    return added;
  }

  private find(ips: readonly string[], port: number): TrackerAddr | undefined {
    return this.trackers.find((t) => t.port === port && t.ips.some((ip) => ips.includes(ip)));
  }

  get self(): TrackerAddr | undefined {
    return this.trackers.find(
      (t) => t.port === this.deps.port() && t.ips.some((ip) => this.localIps.has(ip)),
    );
  }

  private isSelf(t: TrackerAddr): boolean {
    return t === this.self;
  }

  /** Cmd 64 for this tracker (tracker_calc_running_times; no restart history is kept, so 0). */
  status(): TrackerRunningStatus {
    const running = Math.floor((this.deps.now() - this.upTime) / 1000);
    return {
      ifLeader: this.leaderSelf,
      runningTime: running - (running % STATUS_STEP_SEC),
      restartInterval: 0,
    };
  }

  private setLeader(t: TrackerAddr): void {
    const self = this.isSelf(t);
    this.leader = t;
    this.next = undefined;
    if (self) {
      this.leaderSelf = true;
      this.leaderChanges++;
    }
    this.deps.logger.info(self ? 'I am the tracker leader' : 'tracker leader', { leader: addrText(t) });
  }

  private stepDown(why: string): void {
    this.deps.logger.warn('tracker leader: stepping down', { why });
    this.leaderSelf = false;
    this.leader = undefined;
    this.leaderChanges++;
  }

  /** One round of the relationship thread; returns false after a failed election (back off). */
  async tick(): Promise<boolean> {
    if (this.trackers.length === 0) return true;
    if (!this.leader) return this.select();
    if (!this.leaderSelf) await this.ping();
    return true;
  }

  private async select(): Promise<boolean> {
    const ranked: Ranked[] = [];
    for (const addr of this.trackers) {
      if (this.isSelf(addr)) {
        ranked.push({ addr, status: this.status() });
        continue;
      }
      try {
        const ch = await this.deps.connect(addr.ips[0] ?? '', addr.port);
        try {
          ranked.push({ addr, status: decodeTrackerStatus(await ch.call(Cmd.TRACKER_GET_STATUS)) });
        } finally {
          ch.close();
        }
      } catch (err) {
        this.deps.logger.debug('tracker status unavailable', { tracker: addrText(addr), err });
      }
    }
    if (ranked.length === 0) return false;
    ranked.sort(compareTrackers);
    const best = ranked[ranked.length - 1] as Ranked;
    if (this.isSelf(best.addr)) return this.announce(best.addr);
    if (best.status.ifLeader) {
      this.setLeader(best.addr);
      return true;
    }
    this.deps.logger.debug('waiting for the candidate tracker leader', { candidate: addrText(best.addr) });
    return false;
  }

  /** Notify (66) then commit (67) ourselves to every tracker; unreachable ones are skipped. */
  private async announce(me: TrackerAddr): Promise<boolean> {
    const text = Buffer.from(addrText(me));
    for (const cmd of [Cmd.TRACKER_NOTIFY_NEXT_LEADER, Cmd.TRACKER_COMMIT_NEXT_LEADER]) {
      let reached = 0;
      for (const t of this.trackers) {
        if (this.isSelf(t)) {
          if (cmd === Cmd.TRACKER_NOTIFY_NEXT_LEADER) this.next = me;
          else if (this.next !== me) {
            this.next = undefined;
            return false;
          } else this.setLeader(me);
          reached++;
          continue;
        }
        let ch: TrackerChannel;
        try {
          ch = await this.deps.connect(t.ips[0] ?? '', t.port);
        } catch {
          continue;
        }
        try {
          await ch.call(cmd, text);
          reached++;
        } catch (err) {
          this.deps.logger.warn('leader notice refused', { tracker: addrText(t), err });
          return false;
        } finally {
          ch.close();
        }
      }
      if (reached === 0) return false;
    }
    return true;
  }

  private async ping(): Promise<void> {
    const leader = this.leader;
    if (!leader) return;
    try {
      if (!this.pingLink?.usable) {
        this.pingLink?.close();
        this.pingLink = await this.deps.connect(leader.ips[0] ?? '', leader.port);
        await this.pingLink.call(
          Cmd.TRACKER_JOIN_LEADER,
          encodeJoinLeader(Math.floor(this.upTime / 1000), this.deps.version, this.deps.port()),
        );
      }
      const c = this.deps.connections?.() ?? { alloc: 0, current: 0, max: 0 };
      const rows = decodePingLeaderReply(
        await this.pingLink.call(Cmd.TRACKER_PING_LEADER, encodePingLeader(c.alloc, c.current, c.max)),
      );
      if (rows.length > 0) this.deps.onTrunkServers?.(rows);
      this.pingFailures = 0;
    } catch (err) {
      this.pingLink?.close();
      this.pingLink = undefined;
      this.pingFailures++;
      this.deps.logger.warn('ping tracker leader failed', {
        leader: addrText(leader),
        failures: this.pingFailures,
        err,
      });
      if (this.pingFailures >= MAX_PING_FAILURES) {
        this.pingFailures = 0;
        this.leader = undefined;
      }
    }
  }

  private lookup(body: Buffer, what: string): TrackerAddr {
    const a = parseIpPort(body.toString('latin1'));
    if (!a) throw new FdfsError(Status.EINVAL, `${what}: invalid ip and port "${body.toString('latin1')}"`);
    const t = this.find([a.ip], a.port);
    if (!t) throw new FdfsError(Status.ENOENT, `${what}: tracker ${formatIpPort(a.ip, a.port)} not known`);
    return t;
  }

  /** Cmd 66: `body` ("ip:port") is about to become leader. A leader hearing of another steps down. */
  notifyNext(body: Buffer): void {
    const t = this.lookup(body, 'notify next leader');
    if (this.leaderSelf && !this.isSelf(t)) {
      this.stepDown(`two leaders: ${addrText(t)} announced itself`);
      throw new FdfsError(Status.EINVAL, `two leaders occur, new leader is ${addrText(t)}`);
    }
    this.next = t;
  }

  /** Cmd 67: the notified tracker is now leader. */
  commitNext(body: Buffer): void {
    const t = this.lookup(body, 'commit next leader');
    if (t !== this.next)
      throw new FdfsError(Status.EINVAL, `cannot commit leader ${addrText(t)}: not notified`);
    this.setLeader(t);
  }

  /** Cmd 68, from a storage that saw two leaders. */
  reselect(): void {
    if (!this.leaderSelf) throw new FdfsError(Status.EOPNOTSUPP, 'not the tracker leader');
    this.stepDown('a storage saw two leaders');
  }

  /** Cmds 58 and 65 are for the leader only. */
  requireLeader(what: string): void {
    if (!this.leaderSelf) throw new FdfsError(Status.EOPNOTSUPP, `${what}: not the tracker leader`);
  }

  /** The tracker at the connection's address and the port it says it listens on (cmd 58). */
  tracker(ip: string, port: number): TrackerAddr | undefined {
    return this.find([ip], port);
  }

  leaderText(): string | undefined {
    return this.leader ? addrText(this.leader) : undefined;
  }

  start(): void {
    const signal = this.abort.signal;
    this.loop ??= (async () => {
      while (!signal.aborted) {
        let ok = true;
        try {
          ok = await this.tick();
        } catch (err) {
          if (!isFdfsError(err)) this.deps.logger.error('tracker relationship', { err });
          ok = false;
        }
        // After a failed election, a random pause (1–10 s) keeps candidates from colliding.
        const pause = ok ? 1000 : 1000 + Math.floor(Math.random() * 9000);
        await sleep(pause, undefined, { signal }).catch(() => {});
      }
    })();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.pingLink?.close();
    await this.loop;
  }
}
