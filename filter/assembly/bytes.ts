// Byte-string helpers over raw linear memory. Rule data is kept as ArrayBuffers
// (pointer = changetype<usize>(buffer)); request data is compared in place in
// the host-allocated header buffer, so matching allocates nothing.

export function bytesOf(ptr: usize, len: i32): ArrayBuffer {
  const out = new ArrayBuffer(len);
  if (len > 0) memory.copy(changetype<usize>(out), ptr, <usize>len);
  return out;
}

export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

export function str(b: ArrayBuffer): string {
  return String.UTF8.decode(b);
}

@inline export function ptrOf(b: ArrayBuffer): usize {
  return changetype<usize>(b);
}

@inline function lower(c: u32): u32 {
  return c - 65 < 26 ? c | 32 : c;
}

export function eqBytes(a: usize, aLen: i32, b: usize, bLen: i32): bool {
  if (aLen != bLen) return false;
  return memory.compare(a, b, <usize>aLen) == 0;
}

export function eqIgnoreCase(a: usize, aLen: i32, b: usize, bLen: i32): bool {
  if (aLen != bLen) return false;
  for (let i = 0; i < aLen; i++) {
    if (lower(<u32>load<u8>(a + <usize>i)) != lower(<u32>load<u8>(b + <usize>i))) return false;
  }
  return true;
}

export function startsWith(a: usize, aLen: i32, prefix: usize, pLen: i32): bool {
  if (pLen > aLen) return false;
  return memory.compare(a, prefix, <usize>pLen) == 0;
}

export function startsWithIgnoreCase(a: usize, aLen: i32, prefix: usize, pLen: i32): bool {
  if (pLen > aLen) return false;
  return eqIgnoreCase(a, pLen, prefix, pLen);
}

/** [p, p+n) as a plain decimal number of 1..maxDigits digits (no sign, no spaces); -1 otherwise. maxDigits <= 18. */
export function decimal(p: usize, n: i32, maxDigits: i32): i64 {
  if (n <= 0 || n > maxDigits) return -1;
  let v: i64 = 0;
  for (let i = 0; i < n; i++) {
    const c = <u32>load<u8>(p + <usize>i) - 48;
    if (c > 9) return -1;
    v = v * 10 + <i64>c;
  }
  return v;
}

export function toLowerAscii(b: ArrayBuffer): ArrayBuffer {
  const out = new ArrayBuffer(b.byteLength);
  const src = changetype<usize>(b);
  const dst = changetype<usize>(out);
  for (let i = 0; i < b.byteLength; i++) store<u8>(dst + <usize>i, <u8>lower(<u32>load<u8>(src + <usize>i)));
  return out;
}

/** Growable byte buffer for the few messages the filter builds (Subscribe/ACK/NACK, header pairs). */
export class ByteWriter {
  buf: usize;
  cap: i32;
  len: i32 = 0;

  constructor(initial: i32 = 64) {
    this.cap = initial < 16 ? 16 : initial;
    this.buf = heap.alloc(<usize>this.cap);
  }

  private ensure(extra: i32): void {
    const need = this.len + extra;
    if (need <= this.cap) return;
    let cap = this.cap * 2;
    while (cap < need) cap *= 2;
    this.buf = heap.realloc(this.buf, <usize>cap);
    this.cap = cap;
  }

  byte(b: u32): void {
    this.ensure(1);
    store<u8>(this.buf + <usize>this.len, <u8>b);
    this.len++;
  }

  u32le(v: u32): void {
    this.ensure(4);
    store<u32>(this.buf + <usize>this.len, v);
    this.len += 4;
  }

  raw(ptr: usize, n: i32): void {
    if (n <= 0) return;
    this.ensure(n);
    memory.copy(this.buf + <usize>this.len, ptr, <usize>n);
    this.len += n;
  }

  bytes(b: ArrayBuffer): void {
    this.raw(changetype<usize>(b), b.byteLength);
  }

  varint(v: u64): void {
    while (v >= 0x80) {
      this.byte(<u32>(v & 0x7f) | 0x80);
      v >>= 7;
    }
    this.byte(<u32>v);
  }

  /** Protobuf length-delimited field. */
  field(fieldNo: u32, ptr: usize, n: i32): void {
    this.varint(<u64>((fieldNo << 3) | 2));
    this.varint(<u64>n);
    this.raw(ptr, n);
  }

  fieldBytes(fieldNo: u32, b: ArrayBuffer): void {
    this.field(fieldNo, changetype<usize>(b), b.byteLength);
  }

  /** Proto3: empty strings are omitted. */
  fieldString(fieldNo: u32, b: ArrayBuffer): void {
    if (b.byteLength > 0) this.fieldBytes(fieldNo, b);
  }

  finish(): ArrayBuffer {
    const out = bytesOf(this.buf, this.len);
    heap.free(this.buf);
    this.buf = 0;
    this.cap = 0;
    this.len = 0;
    return out;
  }
}

/** Serialises header pairs in the proxy-wasm map format. */
export function encodePairs(keys: ArrayBuffer[], values: ArrayBuffer[]): ArrayBuffer {
  const w = new ByteWriter(64);
  const n = keys.length;
  w.u32le(<u32>n);
  for (let i = 0; i < n; i++) {
    w.u32le(<u32>keys[i].byteLength);
    w.u32le(<u32>values[i].byteLength);
  }
  for (let i = 0; i < n; i++) {
    w.bytes(keys[i]);
    w.byte(0);
    w.bytes(values[i]);
    w.byte(0);
  }
  return w.finish();
}

/**
 * A parsed view of a proxy-wasm pair map in memory (no copies). Returns false
 * (and leaves count 0) when the buffer is malformed. The pair table is read
 * as raw words (no per-access bounds or GC bookkeeping): this is on the
 * per-request path.
 */
export class PairsView {
  count: i32 = 0;
  // Per pair 16 bytes: key ptr, key length, value ptr, value length (u32 each).
  ents: StaticArray<u32> = new StaticArray<u32>(256);

  parse(ptr: usize, size: i32): bool {
    this.count = 0;
    if (size < 4) return size == 0 || size == 1;
    const n = <i32>load<u32>(ptr);
    if (n < 0 || n > (size - 4) / 8) return false;
    if (n * 4 > this.ents.length) this.ents = new StaticArray<u32>(n * 4);
    let e = changetype<usize>(this.ents);
    let at: i64 = 4 + <i64>n * 8;
    for (let i = 0; i < n; i++, e += 16) {
      const kl = <i64>load<u32>(ptr + 4 + <usize>i * 8);
      const vl = <i64>load<u32>(ptr + 8 + <usize>i * 8);
      if (at + kl + vl + 2 > <i64>size) return false;
      store<u32>(e, <u32>(ptr + <usize>at));
      store<u32>(e, <u32>kl, 4);
      at += kl + 1;
      store<u32>(e, <u32>(ptr + <usize>at), 8);
      store<u32>(e, <u32>vl, 12);
      at += vl + 1;
    }
    this.count = n;
    return true;
  }

  @inline keyPtr(i: i32): usize { return <usize>load<u32>(changetype<usize>(this.ents) + (<usize>i << 4)); }
  @inline keyLen(i: i32): i32 { return load<i32>(changetype<usize>(this.ents) + (<usize>i << 4), 4); }
  @inline valPtr(i: i32): usize { return <usize>load<u32>(changetype<usize>(this.ents) + (<usize>i << 4), 8); }
  @inline valLen(i: i32): i32 { return load<i32>(changetype<usize>(this.ents) + (<usize>i << 4), 12); }

  /** Index of the first pair from `from` on whose key equals name (ASCII case-insensitive), or -1. */
  find(name: usize, nameLen: i32, from: i32 = 0): i32 {
    let e = changetype<usize>(this.ents) + (<usize>from << 4);
    for (let i = from, n = this.count; i < n; i++, e += 16) {
      if (load<i32>(e, 4) == nameLen && eqIgnoreCase(<usize>load<u32>(e), nameLen, name, nameLen)) return i;
    }
    return -1;
  }
}
