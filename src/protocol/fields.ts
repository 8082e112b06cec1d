import { FdfsError, Status } from '../common/index.js';

/** Writes fixed-width, big-endian fields into a pre-sized buffer. */
export class BodyWriter {
  readonly buf: Buffer;
  private pos = 0;

  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }

  int64(v: number | bigint): this {
    this.buf.writeBigInt64BE(BigInt(v), this.pos);
    this.pos += 8;
    return this;
  }

  int32(v: number): this {
    this.buf.writeInt32BE(v | 0, this.pos);
    this.pos += 4;
    return this;
  }

  uint8(v: number): this {
    this.buf.writeUInt8(v & 0xff, this.pos);
    this.pos += 1;
    return this;
  }

  /** NUL-padded str[width]; a value that fills the width gets no terminator, longer is cut. */
  fixed(s: string, width: number): this {
    const bytes = Buffer.from(s, 'utf8');
    bytes.copy(this.buf, this.pos, 0, Math.min(bytes.length, width));
    this.pos += width;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  string(s: string): this {
    return this.bytes(Buffer.from(s, 'utf8'));
  }

  get offset(): number {
    return this.pos;
  }
}

/** Reads fixed-width fields; every read is bounds-checked and fails with EINVAL. */
export class BodyReader {
  private pos = 0;

  constructor(
    readonly buf: Buffer,
    private readonly what = 'packet',
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new FdfsError(
        Status.EINVAL,
        `${this.what}: body too short (need ${this.pos + n}, have ${this.buf.length})`,
      );
    }
  }

  /** int64 as a safe non-negative number; a negative or huge value is EINVAL. */
  length(field: string): number {
    const v = this.int64Big();
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new FdfsError(Status.EINVAL, `${this.what}: invalid ${field} ${v}`);
    }
    return Number(v);
  }

  int64Big(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  int64(): number {
    return Number(this.int64Big());
  }

  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  uint8(): number {
    this.need(1);
    const v = this.buf.readUInt8(this.pos);
    this.pos += 1;
    return v;
  }

  fixed(width: number): string {
    this.need(width);
    const slice = this.buf.subarray(this.pos, this.pos + width);
    this.pos += width;
    const nul = slice.indexOf(0);
    return slice.toString('utf8', 0, nul < 0 ? width : nul);
  }

  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  string(n: number): string {
    return this.bytes(n).toString('utf8');
  }

  rest(): Buffer {
    const b = this.buf.subarray(this.pos);
    this.pos = this.buf.length;
    return b;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }
}

export function fixedString(s: string, width: number): Buffer {
  return new BodyWriter(width).fixed(s, width).buf;
}
