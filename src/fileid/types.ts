/** Who wrote a file: the storage's IPv4 address, or its numeric id (`id_type_in_filename=id`). */
export type SourceId = { kind: 'ip'; ip: string } | { kind: 'id'; id: number };

/** Location of a small file inside a trunk file (the extra 16 chars of a 60-char trunk name). */
export interface TrunkInfo {
  trunkFileId: number;
  offset: number;
  allocSize: number;
}

export type NameKind = 'normal' | 'appender' | 'trunk';

export interface EncodeNameInput {
  storePathIndex: number;
  subdirHigh: number;
  subdirLow: number;
  source: SourceId;
  /** Unix seconds. */
  timestamp: number;
  size: bigint | number;
  crc32: number;
  /** Extension without the dot, ≤ 6 chars; '' for none. */
  ext: string;
  kind?: NameKind;
  /** Source of [0,1) numbers for the ext digits (and the size-word bits when `randomBits` is absent). */
  random?: () => number;
  /** The 23 random bits of the size word (bits 32..54); fixed by tests to reproduce known names. */
  randomBits?: number;
  /** Only with kind 'trunk': appends the 16-char trunk location, giving a 60-char name. */
  trunk?: TrunkInfo;
}

export type FileType = 'normal' | 'appender' | 'slave' | 'trunk';

export interface DecodedName {
  storePathIndex: number;
  subdirHigh: number;
  subdirLow: number;
  base64Part: string;
  /** Last path segment, i.e. the file's name inside `data/HH/LL/`. */
  fileName: string;
  source: SourceId;
  timestamp: number;
  sizeWord: bigint;
  /** -1 when the name does not carry it (appender, slave). */
  size: number;
  crc32: number;
  type: FileType;
  /** Without the dot, '' if none. */
  ext: string;
  /** Present for 60-char trunk names. */
  trunk?: TrunkInfo;
}

export interface FileId {
  group: string;
  remoteFilename: string;
}

export interface RegenerateInput {
  timestamp: number;
  size: bigint | number;
  crc32: number;
  random?: () => number;
  randomBits?: number;
}
