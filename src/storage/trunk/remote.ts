/**
 * The trunk server when it is another storage of the group: asked over the wire for a slot (27),
 * told how an upload into it ended (28) and given freed slots back (29).
 */
import { ConnectionPool } from '../../client/index.js';
import type { Logger } from '../../common/index.js';
import type { HostPort, StorageConfig } from '../../config/types.js';
import { Cmd, decodeTrunkSlot, encodeTrunkAlloc, encodeTrunkConfirm } from '../../protocol/index.js';
import type { TrunkSlot } from './slot.js';

export class RemoteTrunkServer {
  private readonly pool: ConnectionPool;
  private readonly group: string;

  constructor(config: StorageConfig, logger: Logger) {
    this.group = config.groupName;
    this.pool = new ConnectionPool({
      connectTimeout: config.connectTimeout,
      networkTimeout: config.networkTimeout,
      maxIdleTime: 60_000,
      ...(config.bindAddr && config.bindAddr !== '0.0.0.0' ? { localAddress: config.bindAddr } : {}),
      logger,
    });
  }

  async alloc(to: HostPort, size: number, storePathIndex: number): Promise<TrunkSlot> {
    const reply = await this.pool.use(to, (c) =>
      c.call(Cmd.TRUNK_ALLOC_SPACE, encodeTrunkAlloc(this.group, size, storePathIndex)),
    );
    return decodeTrunkSlot(reply);
  }

  async confirm(to: HostPort, slot: TrunkSlot, status: number): Promise<void> {
    await this.pool.use(to, (c) =>
      c.call(Cmd.TRUNK_ALLOC_CONFIRM, encodeTrunkConfirm(this.group, slot), status),
    );
  }

  async free(to: HostPort, slot: TrunkSlot): Promise<void> {
    await this.pool.use(to, (c) => c.call(Cmd.TRUNK_FREE_SPACE, encodeTrunkConfirm(this.group, slot)));
  }

  close(): void {
    this.pool.close();
  }
}
