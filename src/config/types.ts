/**
 * Typed, frozen configuration for each role. Field names are camelCase forms of FastDFS' conf
 * keys (`heart_beat_interval` → heartBeatInterval) so they can be found in its docs.
 * Durations are milliseconds, sizes bytes, unless the name says otherwise.
 */

import type { AllowRule } from './allow-hosts.js';

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

/**
 * Trunk files (tracker.conf; storages learn them from the tracker's cmd 75): files up to
 * slotMaxSize are packed into trunkFileSize-byte trunk files when useTrunkFile is on.
 */
export interface TrunkConfig {
  readonly useTrunkFile: boolean;
  readonly slotMinSize: number; // bytes: the smallest slot handed out (and kept on the free list)
  readonly slotMaxSize: number; // bytes: larger files (header included) are normal files
  readonly trunkAllocAlignmentSize: number; // bytes: slot sizes round up to this (0 = none)
  readonly trunkFileSize: number; // bytes
  readonly trunkCreateFileAdvance: boolean;
  readonly trunkCreateFileTimeBase: string; // HH:MM
  readonly trunkCreateFileInterval: number; // ms
  readonly trunkCreateFileSpaceThreshold: number; // bytes of free trunk space kept ahead
  readonly trunkInitCheckOccupying: boolean;
  readonly trunkInitReloadFromBinlog: boolean;
  readonly trunkFreeSpaceMerge: boolean;
  readonly deleteUnusedTrunkFiles: boolean;
  readonly trunkCompressBinlogMinInterval: number; // s
  readonly trunkCompressBinlogInterval: number; // s
  readonly trunkCompressBinlogTimeBase: string; // HH:MM
  readonly trunkBinlogMaxBackups: number;
}

export interface TrackerConfig {
  readonly disabled: boolean;
  readonly bindAddr: string; // '' = all interfaces
  readonly port: number; // 22122
  readonly connectTimeout: number; // ms
  readonly networkTimeout: number; // ms
  readonly basePath: string;
  readonly maxConnections: number;
  /** Most connections from one address; 0 = half of maxConnections, at least 16. */
  readonly maxConnectionsPerHost: number;
  /** ms from accept to the first request header; an idle socket is closed after it. */
  readonly firstHeaderTimeout: number;
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
  /** allow_hosts: who may connect to the native port; empty = everyone. */
  readonly allowHosts: readonly AllowRule[];
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  readonly trunk: TrunkConfig;
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
  /** Most connections from one address; 0 = half of maxConnections, at least 16. */
  readonly maxConnectionsPerHost: number;
  /** ms from accept to the first request header; an idle socket is closed after it. */
  readonly firstHeaderTimeout: number;
  readonly buffSize: number; // bytes; control bodies must fit in it
  /** Downloads' small-file cache: files up to this size (0 = off), this much memory, served this long (ms). */
  readonly cacheMaxFileSize: number;
  readonly cacheMaxMemory: number;
  readonly cacheRevalidate: number;
  /** Child processes that accept connections beside the storage (0 = the storage alone). */
  readonly workProcesses: number;
  readonly storePaths: readonly string[]; // store_path0..N (store_path0 defaults to base_path)
  readonly subdirCountPerPath: number;
  readonly trackerServers: readonly HostPort[];
  readonly fileDistributePathMode: 0 | 1;
  readonly fileDistributeRotateCount: number;
  readonly reservedStorageSpace: ReservedSpace;
  readonly syncWaitMsec: number;
  readonly syncInterval: number;
  /**
   * Our key: connections a pusher uses to a fastdfs-ts peer, records of different files in flight
   * at once. 1 = FastDFS' one record at a time (always so towards a stock FastDFS peer).
   */
  readonly syncPushConnections: number;
  readonly uploadPriority: number;
  /** Our switch: fsync each file before acknowledging it. Default true; false is stock FastDFS. */
  readonly durableWrites: boolean;
  /** The address written into file ids and reported to trackers; '' = derive from the tracker link. */
  readonly advertiseAddr: string;
  /**
   * This storage's id (1..15 chars) when the trackers use storage ids (use_storage_id): sent at
   * join and to peers; it must be listed in the trackers' storage_ids.conf. '' = let the tracker
   * find the id by this server's address and port, or use the address when ids are off.
   */
  readonly serverId: string;
  /** allow_hosts: who may connect to the native port; empty = everyone. */
  readonly allowHosts: readonly AllowRule[];
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

/** `kid:secret` — a signing key that still verifies links made before a rotation. */
export interface JwtKey {
  readonly kid: string;
  readonly secret: string;
}

/** `ACCESS_KEY:SECRET_KEY` — one S3 owner (s3.credential). */
export interface S3Credential {
  readonly accessKey: string;
  readonly secretKey: string;
}

/** The S3 endpoint the gateway process serves on its own port (s3.* keys of http.conf). */
export interface S3Config {
  /** s3.server_port; null = no S3 endpoint (fdfs start runs one on 9000 unless told otherwise). */
  readonly port: number | null;
  readonly region: string; // us-east-1
  readonly credentials: readonly S3Credential[];
  /** Host names under which `bucket.<domain>` is virtual-host-style addressing ('' = localhost only). */
  readonly domain: string;
  /** Largest object a single PutObject or part may be, in bytes (S3: 5 GiB). */
  readonly maxObjectSize: number;
  /** ms between orphan passes beside a storage (s3.gc_interval; 0 = none). Default 1 h. */
  readonly gcInterval: number;
  /** ms an upload intent is left alone before a gc pass resolves it (s3.gc_grace). Default 10 min. */
  readonly gcGrace: number;
  /**
   * s3.namespace: '' = the embedded lmdb store under the data folder (one process); a
   * postgres://user@host:port/db URL = a PostgreSQL database every gateway naming it shares.
   */
  readonly namespace: string;
}

/** http.conf → the gateway's settings. Secrets stay out of logs (the logger redacts by name). */
export interface HttpConfig {
  readonly bindAddr: string; // '' = all interfaces (forced to 127.0.0.1 when no http.auth key is set)
  readonly port: number; // 8080
  /** Most client connections at once; beyond it 503 (fdfs start may lower it to fit RLIMIT_NOFILE). */
  readonly maxConnections: number;
  /** ms a connection may take to send its request headers; an idle one is closed after it. */
  readonly headerTimeout: number;
  /** tracker_server and the other client keys, for requests the local storage cannot answer. */
  readonly client: ClientConfig;
  /** Group of URLs without one (`/M00/…`); '' = the local storage's group. */
  readonly groupName: string;
  /** Base of the `url` in upload and sign answers, e.g. https://img.example.com; '' = the request's. */
  readonly publicUrl: string;
  readonly defaultContentType: string;
  readonly cacheMaxAge: number; // ms, Cache-Control max-age of public, immutable files
  readonly multiRange: boolean;
  readonly antiSteal: {
    readonly checkToken: boolean;
    readonly tokenTtl: number; // ms
    readonly secretKey: string;
    readonly tokenCheckFail: string; // file served (200) instead of 403; '' = none
    /** FastDFS' own rules: ts=0 never expires and a future ts passes. Off by default. */
    readonly allowLegacyTs: boolean;
  };
  readonly jwt: {
    readonly secret: string; // '' = signed links off
    readonly kid: string; // '' = no kid in the header
    readonly previous: readonly JwtKey[];
    readonly maxTtl: number; // ms
  };
  readonly auth: {
    readonly apiKeys: readonly string[];
    readonly jwtSecret: string;
  };
  readonly upload: {
    readonly maxSize: number; // bytes per file
    readonly maxFiles: number;
    readonly maxFields: number;
  };
  readonly cache: {
    readonly maxFileSize: number; // bytes; 0 = no cache
    readonly maxMemory: number; // bytes
    readonly revalidate: number; // ms a cached file is served without a stat
  };
  readonly s3: S3Config;
  readonly image: ImageConfig;
}

/** A size image variants may be rendered at without a signed URL; 0 = follow the other side. */
export interface ImagePreset {
  readonly width: number;
  readonly height: number;
}

/** http.image.*: image variants (thumbnails, format changes) stored as slave files. */
export interface ImageConfig {
  /** Sizes anyone may ask for; any other size needs a signed URL. Empty: signed only. */
  readonly presets: readonly ImagePreset[];
  /** Encoder quality 1..100 when the URL names none (and the only one unsigned URLs get). */
  readonly quality: number;
  /** Largest width or height a variant may ask for. */
  readonly maxDimension: number;
  /** Masters with more pixels (width × height × pages) are refused before decoding. */
  readonly maxPixels: number;
  /** Masters larger than this (bytes) are refused: a render holds its master in memory. */
  readonly maxInputSize: number;
  /** Renders at once; more wait in a queue of maxQueue, beyond which the answer is 503. */
  readonly maxRenders: number;
  readonly maxQueue: number;
  /** ms one render may take (decode, resize, encode) before it is abandoned with 504. */
  readonly renderTimeout: number;
}
