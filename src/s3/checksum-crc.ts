/**
 * CRC-32C (Castagnoli) and CRC-64/NVME, the two S3 checksums Node has no native code for.
 * Both are reflected CRCs, table-driven eight bytes at a time ("slicing-by-8") so a 1 GB body does
 * not cost seconds. CRC-64 runs on two 32-bit halves: BigInt per byte would be ~50× slower.
 */

function crc32Tables(poly: number): Uint32Array[] {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const t0 = tables[0] as Uint32Array;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ poly : c >>> 1;
    t0[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t0[n] as number;
    for (let k = 1; k < 8; k++) {
      c = ((t0[c & 0xff] as number) ^ (c >>> 8)) >>> 0;
      (tables[k] as Uint32Array)[n] = c;
    }
  }
  return tables;
}

const C = crc32Tables(0x82f63b78); // reflected 0x1EDC6F41
const [C0, C1, C2, C3, C4, C5, C6, C7] = C as [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
];

/** Continues a CRC-32C; pass the previous result as `prev` (0 to start). */
export function crc32c(data: Uint8Array, prev = 0): number {
  let crc = ~prev >>> 0;
  let i = 0;
  const end8 = data.length - (data.length % 8);
  for (; i < end8; i += 8) {
    const a =
      (crc ^
        ((data[i] as number) |
          ((data[i + 1] as number) << 8) |
          ((data[i + 2] as number) << 16) |
          ((data[i + 3] as number) << 24))) >>>
      0;
    crc =
      (C7[a & 0xff] as number) ^
      (C6[(a >>> 8) & 0xff] as number) ^
      (C5[(a >>> 16) & 0xff] as number) ^
      (C4[a >>> 24] as number) ^
      (C3[data[i + 4] as number] as number) ^
      (C2[data[i + 5] as number] as number) ^
      (C1[data[i + 6] as number] as number) ^
      (C0[data[i + 7] as number] as number);
  }
  for (; i < data.length; i++) crc = (C0[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}

// CRC-64/NVME: reflected polynomial 0x9A6C9329AC4BC9B5, init and xorout all ones.
const POLY_HI = 0x9a6c9329;
const POLY_LO = 0xac4bc9b5;
const H: Uint32Array[] = Array.from({ length: 8 }, () => new Uint32Array(256));
const L: Uint32Array[] = Array.from({ length: 8 }, () => new Uint32Array(256));
{
  const h0 = H[0] as Uint32Array;
  const l0 = L[0] as Uint32Array;
  for (let n = 0; n < 256; n++) {
    let hi = 0;
    let lo = n;
    for (let k = 0; k < 8; k++) {
      const bit = lo & 1;
      lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
      hi >>>= 1;
      if (bit) {
        hi = (hi ^ POLY_HI) >>> 0;
        lo = (lo ^ POLY_LO) >>> 0;
      }
    }
    h0[n] = hi;
    l0[n] = lo;
  }
  for (let n = 0; n < 256; n++) {
    let hi = h0[n] as number;
    let lo = l0[n] as number;
    for (let k = 1; k < 8; k++) {
      const idx = lo & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ (l0[idx] as number)) >>> 0;
      hi = ((hi >>> 8) ^ (h0[idx] as number)) >>> 0;
      (H[k] as Uint32Array)[n] = hi;
      (L[k] as Uint32Array)[n] = lo;
    }
  }
}

const [H0, H1, H2, H3, H4, H5, H6, H7] = H as [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
];
const [L0, L1, L2, L3, L4, L5, L6, L7] = L as [
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
  Uint32Array,
];

/** A running CRC-64/NVME held as two 32-bit halves. */
export class Crc64Nvme {
  #hi = 0xffffffff;
  #lo = 0xffffffff;

  update(data: Uint8Array): this {
    let hi = this.#hi;
    let lo = this.#lo;
    let i = 0;
    const end8 = data.length - (data.length % 8);
    for (; i < end8; i += 8) {
      // XOR eight input bytes into the register (little-endian: reflected CRC), then look each
      // byte up in the table that advances it by its distance from the end of the block.
      const a =
        (lo ^
          ((data[i] as number) |
            ((data[i + 1] as number) << 8) |
            ((data[i + 2] as number) << 16) |
            ((data[i + 3] as number) << 24))) >>>
        0;
      const b =
        (hi ^
          ((data[i + 4] as number) |
            ((data[i + 5] as number) << 8) |
            ((data[i + 6] as number) << 16) |
            ((data[i + 7] as number) << 24))) >>>
        0;
      const i0 = a & 0xff;
      const i1 = (a >>> 8) & 0xff;
      const i2 = (a >>> 16) & 0xff;
      const i3 = a >>> 24;
      const i4 = b & 0xff;
      const i5 = (b >>> 8) & 0xff;
      const i6 = (b >>> 16) & 0xff;
      const i7 = b >>> 24;
      hi =
        (H7[i0] as number) ^
        (H6[i1] as number) ^
        (H5[i2] as number) ^
        (H4[i3] as number) ^
        (H3[i4] as number) ^
        (H2[i5] as number) ^
        (H1[i6] as number) ^
        (H0[i7] as number);
      lo =
        (L7[i0] as number) ^
        (L6[i1] as number) ^
        (L5[i2] as number) ^
        (L4[i3] as number) ^
        (L3[i4] as number) ^
        (L2[i5] as number) ^
        (L1[i6] as number) ^
        (L0[i7] as number);
    }
    for (; i < data.length; i++) {
      const idx = (lo ^ (data[i] as number)) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ (L0[idx] as number)) >>> 0;
      hi = ((hi >>> 8) ^ (H0[idx] as number)) >>> 0;
    }
    this.#hi = hi >>> 0;
    this.#lo = lo >>> 0;
    return this;
  }

  /** The finished CRC, 8 bytes big-endian (the order S3 base64-encodes). */
  digest(): Buffer {
    const out = Buffer.alloc(8);
    out.writeUInt32BE(~this.#hi >>> 0, 0);
    out.writeUInt32BE(~this.#lo >>> 0, 4);
    return out;
  }
}
