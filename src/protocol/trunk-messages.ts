/**
 * Bodies of the trunk-file commands between storages (tracker_proto.h, trunk_client.c,
 * storage_service.c): a storage asks its group's trunk server for space (27), confirms or gives
 * back what it got (28), frees the slot of a deleted file (29); the trunk server pushes its
 * binlog to peers (30); a tracker asks a storage how big its trunk binlog is (31).
 */
import { FdfsError, Status } from '../common/index.js';
import { GROUP_NAME_LEN } from './constants.js';
import { BodyReader, BodyWriter } from './fields.js';

/** A slot as FDFSTrunkInfoBuff carries it. */
export interface TrunkSlotFields {
  readonly storePathIndex: number;
  readonly subdirHigh: number;
  readonly subdirLow: number;
  /** Trunk file id: the file is named after it. */
  readonly id: number;
  readonly offset: number;
  /** Bytes given to the file, header included (slot_min_size, aligned). */
  readonly size: number;
}

/** FDFSTrunkInfoBuff: path index, high, low (1 byte each), id, offset, size (int32 each). */
export const TRUNK_INFO_SIZE = 15;
/** 27 request: group str[16] + file size int32 + store path index 1. */
export const TRUNK_ALLOC_REQ_SIZE = GROUP_NAME_LEN + 5;
/** 28 / 29 request: group str[16] + FDFSTrunkInfoBuff. */
export const TRUNK_CONFIRM_REQ_SIZE = GROUP_NAME_LEN + TRUNK_INFO_SIZE;

function writeSlot(w: BodyWriter, s: TrunkSlotFields): BodyWriter {
  return w
    .uint8(s.storePathIndex)
    .uint8(s.subdirHigh)
    .uint8(s.subdirLow)
    .int32(s.id)
    .int32(s.offset)
    .int32(s.size);
}

function readSlot(r: BodyReader): TrunkSlotFields {
  const slot = {
    storePathIndex: r.uint8(),
    subdirHigh: r.uint8(),
    subdirLow: r.uint8(),
    id: r.int32() >>> 0,
    offset: r.int32(),
    size: r.int32(),
  };
  if (slot.offset < 0 || slot.size < 0) {
    throw new FdfsError(Status.EINVAL, `trunk slot with offset ${slot.offset} and size ${slot.size}`);
  }
  return slot;
}

export function encodeTrunkSlot(s: TrunkSlotFields): Buffer {
  return writeSlot(new BodyWriter(TRUNK_INFO_SIZE), s).buf;
}

export function decodeTrunkSlot(body: Buffer): TrunkSlotFields {
  if (body.length !== TRUNK_INFO_SIZE) {
    throw new FdfsError(
      Status.EINVAL,
      `trunk slot reply of ${body.length} bytes, expected ${TRUNK_INFO_SIZE}`,
    );
  }
  return readSlot(new BodyReader(body, 'trunk slot'));
}

export function encodeTrunkAlloc(group: string, size: number, storePathIndex: number): Buffer {
  return new BodyWriter(TRUNK_ALLOC_REQ_SIZE).fixed(group, GROUP_NAME_LEN).int32(size).uint8(storePathIndex)
    .buf;
}

export function decodeTrunkAlloc(body: Buffer): { group: string; size: number; storePathIndex: number } {
  if (body.length !== TRUNK_ALLOC_REQ_SIZE) {
    throw new FdfsError(
      Status.EINVAL,
      `trunk alloc: body of ${body.length} bytes, expected ${TRUNK_ALLOC_REQ_SIZE}`,
    );
  }
  const r = new BodyReader(body, 'trunk alloc');
  return { group: r.fixed(GROUP_NAME_LEN), size: r.int32(), storePathIndex: r.uint8() };
}

/** 28 and 29 bodies; 28 carries the upload's result (0, EEXIST or an error) in the header status. */
export function encodeTrunkConfirm(group: string, slot: TrunkSlotFields): Buffer {
  return writeSlot(new BodyWriter(TRUNK_CONFIRM_REQ_SIZE).fixed(group, GROUP_NAME_LEN), slot).buf;
}

export function decodeTrunkConfirm(body: Buffer): { group: string; slot: TrunkSlotFields } {
  if (body.length !== TRUNK_CONFIRM_REQ_SIZE) {
    throw new FdfsError(
      Status.EINVAL,
      `trunk confirm/free: body of ${body.length} bytes, expected ${TRUNK_CONFIRM_REQ_SIZE}`,
    );
  }
  const r = new BodyReader(body, 'trunk confirm');
  return { group: r.fixed(GROUP_NAME_LEN), slot: readSlot(r) };
}
