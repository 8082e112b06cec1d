/**
 * Typed, frozen configuration for each role. Field names are camelCase forms of FastDFS' conf
 * keys (`heart_beat_interval` → heartBeatInterval) so they can be found in its docs.
 * Durations are milliseconds, sizes bytes, unless the name says otherwise.
 */

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `reserved_storage_space`: an absolute size or a percentage of the path's capacity. */
export type ReservedSpace =
  | { readonly kind: 'bytes'; readonly bytes: number }
  | { readonly kind: 'ratio'; readonly ratio: number };

/** Which group/storage stat record sizes cmd 90/91/92 emit (fact sheet §3.4). */
export type StatLayout = 'current' | 'classic';

export interface TrackerConfig {
  readonly disabled: boolean;
  readonly bindAddr: string; // '' = all interfaces
  readonly port: number; // 22122
  readonly connectTimeout: number; // ms
  readonly networkTimeout: number; // ms
  readonly basePath: string;
  readonly maxConnections: number;
  readonly storeLookup: 0 | 1 | 2; // round robin, named group, most free space
  readonly storeGroup: string;
  readonly storeServer: 0 | 1 | 2; // round robin, first by ip, first by priority
  readonly storePath: 0 | 2; // round robin, most free space
  readonly downloadServer: 0 | 1; // round robin, source first
  readonly reservedStorageSpace: ReservedSpace;
  readonly checkActiveInterval: number; // ms without a heartbeat before OFFLINE
  readonly storageSyncFileMaxDelay: number; // ms
  readonly storageSyncFileMaxTime: number; // ms
  readonly useStorageId: boolean;
  readonly storageIdsFilename: string;
  readonly idTypeInFilename: 'ip' | 'id';
  readonly statLayout: StatLayout;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export interface StorageConfig {
  readonly disabled: boolean;
  readonly groupName: string;
  readonly bindAddr: string;
  readonly port: number; // 23000
  readonly connectTimeout: number;
  readonly networkTimeout: number;
  readonly heartBeatInterval: number;
  readonly statReportInterval: number;
  readonly basePath: string;
  readonly maxConnections: number;
  readonly buffSize: number; // bytes; control bodies must fit in it
  readonly storePaths: readonly string[]; // store_path0..N (store_path0 defaults to base_path)
  readonly subdirCountPerPath: number;
  readonly trackerServers: readonly HostPort[];
  readonly fileDistributePathMode: 0 | 1;
  readonly fileDistributeRotateCount: number;
  readonly reservedStorageSpace: ReservedSpace;
  readonly syncWaitMsec: number;
  readonly syncInterval: number;
  readonly uploadPriority: number;
  /** Our switch: fsync each file before acknowledging it. Default true; false is stock FastDFS. */
  readonly durableWrites: boolean;
  /** The address written into file ids and reported to trackers; '' = derive from the tracker link. */
  readonly advertiseAddr: string;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

export interface ClientConfig {
  readonly connectTimeout: number;
  readonly networkTimeout: number;
  readonly basePath: string;
  readonly trackerServers: readonly HostPort[];
  readonly useConnectionPool: boolean;
  readonly connectionPoolMaxIdleTime: number; // ms
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}
