// The guest's linear memory as the host functions see it: bounds-checked
// views and writes, and results copied out into memory the guest allocates
// (malloc / proxy_on_memory_allocate), as cpp-host does for *_ptr_ptr params.
import { WasmResult } from "./abi.ts";
import type { HeaderPair } from "./pairs.ts";

type Fn = (...args: number[]) => number | undefined;

const dec = new TextDecoder();

/** Node's native UTF-8 write (Buffer#utf8Write, faster than buf.write's argument handling). */
const nativeUtf8Write = (Buffer.prototype as unknown as { utf8Write?: (s: string, offset: number) => number }).utf8Write;
function utf8Write(buf: Buffer, s: string, offset: number): number {
  return nativeUtf8Write ? nativeUtf8Write.call(buf, s, offset) : buf.write(s, offset, "utf8");
}

export class GuestMemory {
  /** Byte view, current after any inBounds() call (memory can grow during guest calls). */
  u8 = new Uint8Array(0);
  dv = new DataView(new ArrayBuffer(0));
  private buf = Buffer.alloc(0);
  private memory!: WebAssembly.Memory;
  private malloc!: Fn;
  /** A shared memory's buffer is not detached when it grows: always compare buffers then. */
  private shared = false;

  /** @param onMallocError reports a trap inside the guest's allocator (the VM fails). */
  constructor(private readonly onMallocError: (err: unknown) => void) {}

  attach(memory: WebAssembly.Memory, malloc: Fn): void {
    this.memory = memory;
    this.malloc = malloc;
    this.shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
  }

  get size(): number {
    return this.memory.buffer.byteLength;
  }

  private refresh(): void {
    // Growing a (non-shared) memory detaches its old buffer, which empties the
    // views: checking the view's length avoids the slower Memory#buffer getter.
    if (this.u8.length === 0 || this.shared) {
      const b = this.memory.buffer;
      if (this.u8.buffer === b) return;
      this.u8 = new Uint8Array(b);
      this.dv = new DataView(b);
      this.buf = Buffer.from(b);
    }
  }

  inBounds(ptr: number, len: number): boolean {
    this.refresh();
    return ptr >= 0 && len >= 0 && ptr + len <= this.u8.length;
  }

  /** A view of guest memory (valid until the next guest call). */
  view(ptr: number, len: number): Uint8Array | undefined {
    if (!this.inBounds(ptr >>> 0, len >>> 0)) return undefined;
    return this.u8.subarray(ptr >>> 0, (ptr >>> 0) + (len >>> 0));
  }

  str(ptr: number, len: number): string | undefined {
    const v = this.view(ptr, len);
    return v === undefined ? undefined : dec.decode(v);
  }

  setU32(ptr: number, value: number): boolean {
    if (!this.inBounds(ptr >>> 0, 4)) return false;
    this.dv.setUint32(ptr >>> 0, value >>> 0, true);
    return true;
  }

  setU64(ptr: number, value: bigint): boolean {
    if (!this.inBounds(ptr >>> 0, 8)) return false;
    this.dv.setBigUint64(ptr >>> 0, BigInt.asUintN(64, value), true);
    return true;
  }

  private alloc(size: number): number {
    let a: number | undefined;
    try {
      a = this.malloc(size);
    } catch (err) {
      this.onMallocError(err);
      throw err;
    }
    return (a ?? 0) >>> 0;
  }

  /** Copy bytes into memory allocated by the guest (malloc / proxy_on_memory_allocate). */
  copyOut(bytes: Uint8Array, ptrPtr: number, sizePtr: number): number {
    let addr = 0;
    if (bytes.length > 0) {
      addr = this.alloc(bytes.length);
      if (!addr || !this.inBounds(addr, bytes.length)) return WasmResult.InvalidMemoryAccess;
      this.u8.set(bytes, addr);
    }
    if (!this.setU32(ptrPtr, addr) || !this.setU32(sizePtr, bytes.length)) return WasmResult.InvalidMemoryAccess;
    return WasmResult.Ok;
  }

  /**
   * Header pairs serialized straight into guest memory (Envoy's marshalPairs
   * layout). Hot path (once per request): keys and values are joined into one
   * flat string (Array#join: one allocation, no rope to flatten) and written
   * with a single native UTF-8 write into a block sized for the worst case
   * (3 bytes per UTF-16 unit); when the write produced one byte per unit
   * (all ASCII, the norm) the per-string byte lengths are the string lengths.
   * The reported size is the exact serialized size.
   */
  copyPairsOut(pairs: readonly HeaderPair[], ptrPtr: number, sizePtr: number): number {
    const n = pairs.length;
    // Envoy hands out an empty map as ptr 0 / size 0 (copyToPointerSize("")).
    if (n === 0) return this.setU32(ptrPtr, 0) && this.setU32(sizePtr, 0) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    const parts = new Array<string>(2 * n + 1);
    for (let i = 0; i < n; i++) {
      const pair = pairs[i]!;
      parts[2 * i] = pair[0];
      parts[2 * i + 1] = pair[1];
    }
    parts[2 * n] = "";
    const joined = parts.join("\0");
    const head = 4 + n * 8;
    const addr = this.alloc(head + joined.length * 3);
    if (!addr || !this.inBounds(addr, head + joined.length * 3)) return WasmResult.InvalidMemoryAccess;
    const dataBytes = utf8Write(this.buf, joined, addr + head);
    const ascii = dataBytes === joined.length;
    const dv = this.dv;
    dv.setUint32(addr, n, true);
    let p = addr + 4;
    for (let i = 0; i < n; i++) {
      const pair = pairs[i]!;
      dv.setUint32(p, ascii ? pair[0].length : Buffer.byteLength(pair[0], "utf8"), true);
      dv.setUint32(p + 4, ascii ? pair[1].length : Buffer.byteLength(pair[1], "utf8"), true);
      p += 8;
    }
    if (!this.setU32(ptrPtr, addr) || !this.setU32(sizePtr, head + dataBytes)) return WasmResult.InvalidMemoryAccess;
    return WasmResult.Ok;
  }
}
