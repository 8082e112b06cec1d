/**
 * Deleted files' slots going back to the trunk server: zeroed first (the name no longer finds a
 * header there), then freed in its list; those freed while no trunk server is known are owed
 * and paid once one is.
 */
import { FdfsError, type Logger, Status } from '../../common/index.js';
import { describeSlot, type TrunkLocation, type TrunkSlot } from './slot.js';

export interface GiveBackDeps {
  readonly groupName: string;
  readonly logger: Logger;
  /** Zeroes a whole slot (synced when durable). */
  readonly zero: (slot: TrunkSlot) => Promise<void>;
  /** Frees a slot in the trunk server's list (EAGAIN: no trunk server known). */
  readonly free: (slot: TrunkSlot) => Promise<void>;
  /** Whether the slot still holds the named file's header. */
  readonly holds: (loc: TrunkLocation) => Promise<boolean>;
  /** Whether a trunk server is known (this storage or another). */
  readonly serverKnown: () => boolean;
}

export class SlotGiveBack {
  /** Slots of deleted files still to give back: no trunk server was known when they were freed. */
  private readonly owed: TrunkSlot[] = [];

  constructor(private readonly deps: GiveBackDeps) {}

  /**
   * A deleted file's slot: zeroed and given back. A failed give-back is logged, not thrown: the
   * file is gone either way, as in FastDFS.
   */
  async release(remote: string, loc: TrunkLocation): Promise<void> {
    await this.deps.zero(loc.slot);
    await this.deps.free(loc.slot).catch((err: unknown) => {
      const owed = err instanceof FdfsError && err.status === Status.EAGAIN;
      if (owed) this.owed.push(loc.slot);
      this.deps.logger.warn(
        owed
          ? 'trunk slot of a deleted file kept until a trunk server is known'
          : 'trunk slot of a deleted file not given back',
        {
          fileId: `${this.deps.groupName}/${remote}`,
          slot: describeSlot(loc.slot),
          err,
        },
      );
    });
  }

  /**
   * At start, a delete the binlog holds but a crash cut short: while the slot still holds the
   * file's header it is zeroed and given back (once a trunk server is known). A slot already
   * zeroed is left alone: whether it was given back cannot be told, and giving it twice could
   * hand it out twice.
   */
  async finishDelete(remote: string, loc: TrunkLocation): Promise<boolean> {
    if (!(await this.deps.holds(loc))) return false;
    await this.deps.zero(loc.slot);
    this.owed.push(loc.slot);
    this.deps.logger.info('finished a trunk delete logged before a crash', {
      fileId: `${this.deps.groupName}/${remote}`,
    });
    return true;
  }

  /** Gives back the slots freed while no trunk server was known, now that one is. */
  async payOwed(): Promise<void> {
    while (this.owed.length > 0 && this.deps.serverKnown()) {
      const slot = this.owed[0] as TrunkSlot;
      try {
        await this.deps.free(slot);
      } catch (err) {
        if (!(err instanceof FdfsError && err.status === Status.EEXIST)) {
          this.deps.logger.warn('trunk slot not given back yet', { slot: describeSlot(slot), err });
          return;
        }
      }
      this.owed.shift();
    }
  }
}
