/**
 * Whether this storage can vouch for its copy of the trunk binlog when it takes the trunk server
 * role: the copy holds every slot the last trunk server confirmed for an answered upload. It can
 * when the binlog is its own (it was the last to write it as trunk server: `trunk_binlog_writer`
 * in `.data_init_flag`), or when, since this process started, the trunk server said the copy is
 * whole (an empty push, sync.ts) and has not emptied it since; from then on every answer waited
 * for this copy. It cannot after a restart during which the trunk server answered without it:
 * taking the role before it was caught up, it would hand out slots of answered files (chaos
 * --trunk found it). Then the list's free space is set aside (server.ts setAside) and trunk file
 * ids jump past any the last trunk server may have made unseen.
 */
import type { FlagKeys } from './store.js';

const WRITER_KEY = 'trunk_binlog_writer';
/** Trunk file ids skipped by a successor that cannot vouch for its copy. */
export const UNSEEN_ID_GAP = 1000;

export class CopyVouch {
  /** The trunk server said this process's copy is whole. */
  private whole = false;

  constructor(private readonly flag: () => FlagKeys) {}

  /** A push from the trunk server: empty, it says the copy is whole. */
  async pushed(lines: Buffer): Promise<void> {
    if (lines.length === 0) this.whole = true;
    if (this.flag().get(WRITER_KEY) !== 'peer') await this.flag().set(WRITER_KEY, 'peer');
  }

  /** The trunk server emptied the copy to send it again from the start (33). */
  async emptied(): Promise<void> {
    this.whole = false;
    if (this.flag().get(WRITER_KEY) !== 'peer') await this.flag().set(WRITER_KEY, 'peer');
  }

  /** True when the copy can be taken over as it is. A store from before this key: its own. */
  get canVouch(): boolean {
    return this.whole || this.flag().get(WRITER_KEY) !== 'peer';
  }

  /** This storage writes the binlog now, as trunk server. */
  async own(): Promise<void> {
    this.whole = false;
    await this.flag().set(WRITER_KEY, 'self');
  }
}
