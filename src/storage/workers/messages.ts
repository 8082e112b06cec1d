/**
 * What a storage and its worker processes say to each other over the IPC channel (structured
 * clone). The storage keeps every single-writer fact (names, binlog, locks, connection caps,
 * heartbeat counters); a worker serves connections and sends back what only the storage decides.
 */
import type { StorageConfig } from '../../config/types.js';
import type { NameKind } from '../../fileid/index.js';
import type { StatCounters } from '../../protocol/index.js';
import type { TempFile } from '../durable.js';

/** Where the storage's relay listens: an abstract Unix socket (Linux) or a loopback port. */
export type RelayAddress = { readonly path: string } | { readonly host: string; readonly port: number };

export interface WorkerInit {
  readonly t: 'init';
  readonly config: StorageConfig;
  /** Where requests a worker does not serve itself go (the storage's loopback relay port). */
  readonly relay: RelayAddress;
  readonly token: string;
}

export type ToWorker =
  | WorkerInit
  | { readonly t: 'forget'; readonly id: number; readonly name: string }
  | { readonly t: 'committed'; readonly id: number; readonly remote: string }
  | { readonly t: 'admitted'; readonly id: number; readonly refused: boolean }
  | { readonly t: 'failed'; readonly id: number; readonly status: number; readonly message: string }
  | { readonly t: 'close' };

export type FromWorker =
  | { readonly t: 'ready' }
  | {
      readonly t: 'commit';
      readonly id: number;
      readonly tmp: TempFile;
      readonly pathIndex: number;
      readonly ext: string;
      readonly kind: NameKind;
    }
  | { readonly t: 'forgot'; readonly id: number }
  | { readonly t: 'admit'; readonly id: number; readonly host: string }
  | { readonly t: 'release'; readonly host: string }
  /** Counter changes since the last report (connCurrentCount as a difference too). */
  | { readonly t: 'counters'; readonly delta: Partial<StatCounters> }
  | { readonly t: 'closed' };

/** First packet on a relay connection: this command number, body = token \0 client address \0 port. */
export const RELAY_HELLO = 250;
