/** Rows of the PostgreSQL store ↔ the contract's records, with no undefined members. */
import type { BucketRecord, ObjectRecord, PartRecord, UploadRecord } from '../types.js';

export interface BucketRow {
  name: string;
  owner: string;
  created_at: number;
  grp: string | null;
  public: boolean;
}

export function bucketOf(r: BucketRow): BucketRecord {
  return {
    name: r.name,
    owner: r.owner,
    createdAt: r.created_at,
    public: r.public,
    ...(r.grp !== null && { group: r.grp }),
  };
}

/** The columns of `objects` after bucket and key, in table order. */
export const OBJECT_COLUMNS = 'parts, size, etag, last_modified, content_type, headers, meta, checksum';

export interface ObjectRow {
  key: string;
  parts: { fileId: string; size: number; borrowed?: true }[];
  size: number;
  etag: string;
  last_modified: number;
  content_type: string;
  headers: Record<string, string>;
  meta: Record<string, string>;
  checksum: { algorithm: string; value: string } | null;
}

export function objectOf(bucket: string, r: ObjectRow): ObjectRecord {
  return {
    bucket,
    key: r.key,
    parts: r.parts,
    size: r.size,
    etag: r.etag,
    lastModified: r.last_modified,
    contentType: r.content_type,
    headers: r.headers,
    meta: r.meta,
    ...(r.checksum !== null && { checksum: r.checksum }),
  };
}

/** The record as put_object (functions.ts) takes it; no checksum member when there is none. */
export function objectJson(rec: ObjectRecord): string {
  return JSON.stringify({
    parts: rec.parts.map((p) => ({
      fileId: p.fileId,
      size: p.size,
      ...(p.borrowed === true && { borrowed: true }),
    })),
    size: rec.size,
    etag: rec.etag,
    lastModified: rec.lastModified,
    contentType: rec.contentType,
    headers: rec.headers,
    meta: rec.meta,
    ...(rec.checksum && { checksum: { algorithm: rec.checksum.algorithm, value: rec.checksum.value } }),
  });
}

export const UPLOAD_COLUMNS = 'upload_id, bucket, key, owner, initiated_at, content_type, headers, meta, grp';

export interface UploadRow {
  upload_id: string;
  bucket: string;
  key: string;
  owner: string;
  initiated_at: number;
  content_type: string;
  headers: Record<string, string>;
  meta: Record<string, string>;
  grp: string | null;
}

export function uploadOf(r: UploadRow): UploadRecord {
  return {
    uploadId: r.upload_id,
    bucket: r.bucket,
    key: r.key,
    owner: r.owner,
    initiatedAt: r.initiated_at,
    contentType: r.content_type,
    headers: r.headers,
    meta: r.meta,
    ...(r.grp !== null && { group: r.grp }),
  };
}

export function uploadValues(u: UploadRecord): unknown[] {
  return [
    u.uploadId,
    u.bucket,
    u.key,
    u.owner,
    u.initiatedAt,
    u.contentType,
    JSON.stringify(u.headers),
    JSON.stringify(u.meta),
    u.group ?? null,
  ];
}

export interface PartRow {
  upload_id: string;
  part_number: number;
  file_id: string;
  size: number;
  etag: string;
  last_modified: number;
}

export function partOf(r: PartRow): PartRecord {
  return {
    uploadId: r.upload_id,
    partNumber: r.part_number,
    fileId: r.file_id,
    size: r.size,
    etag: r.etag,
    lastModified: r.last_modified,
  };
}
