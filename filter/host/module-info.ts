// Reads a wasm binary's imports and exports *with their function types*.
// Node's WebAssembly JS API only reports import/export names and kinds
// (type reflection is behind a flag), and the host must refuse a module whose
// imports or callbacks have a different signature than Envoy's, so we parse
// the type, import, function and export sections ourselves (a few dozen
// lines; no wasm toolkit dependency needed).
import type { FuncSig, ValType } from "./abi.ts";

export type ExternKind = "function" | "table" | "memory" | "global" | "tag";

export interface ModuleImport {
  module: string;
  name: string;
  kind: ExternKind;
  /** For functions. */
  sig?: FuncSig;
}

export interface ModuleExport {
  name: string;
  kind: ExternKind;
  sig?: FuncSig;
}

export interface ModuleInfo {
  imports: ModuleImport[];
  exports: ModuleExport[];
}

const KINDS: ExternKind[] = ["function", "table", "memory", "global", "tag"];
const VALTYPES: Record<number, ValType> = {
  0x7f: "i32",
  0x7e: "i64",
  0x7d: "f32",
  0x7c: "f64",
  0x7b: "v128",
  0x70: "funcref",
  0x6f: "externref",
};

class Reader {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}
  get done(): boolean {
    return this.pos >= this.b.length;
  }
  byte(): number {
    if (this.pos >= this.b.length) throw new Error("unexpected end of wasm binary");
    return this.b[this.pos++]!;
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 35) throw new Error("malformed LEB128 in wasm binary");
    }
  }
  name(): string {
    const len = this.u32();
    const bytes = this.bytes(len);
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.b.length) throw new Error("unexpected end of wasm binary");
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  valtype(): ValType {
    const t = this.byte();
    const v = VALTYPES[t];
    if (!v) throw new Error(`unknown value type 0x${t.toString(16)} in wasm binary`);
    return v;
  }
  limits(): void {
    const flags = this.byte();
    this.u32();
    if (flags & 1) this.u32();
  }
}

/** Parse imports and exports (with function signatures) of a wasm binary. */
export function readModuleInfo(bytes: Uint8Array): ModuleInfo {
  const r = new Reader(bytes);
  const magic = r.bytes(4);
  if (magic[0] !== 0 || magic[1] !== 0x61 || magic[2] !== 0x73 || magic[3] !== 0x6d) {
    throw new Error("not a wasm binary (bad magic)");
  }
  r.bytes(4); // version
  const types: FuncSig[] = [];
  const imports: ModuleImport[] = [];
  const funcTypes: number[] = []; // function index -> type index (imports first)
  const rawExports: { name: string; kind: ExternKind; index: number }[] = [];
  while (!r.done) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    const s = new Reader(r.bytes(size));
    if (id === 1) {
      for (let n = s.u32(); n > 0; n--) {
        const form = s.byte();
        if (form !== 0x60) throw new Error(`unsupported type form 0x${form.toString(16)}`);
        const params: ValType[] = [];
        for (let p = s.u32(); p > 0; p--) params.push(s.valtype());
        const results: ValType[] = [];
        for (let q = s.u32(); q > 0; q--) results.push(s.valtype());
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = s.u32(); n > 0; n--) {
        const module = s.name();
        const name = s.name();
        const kind = KINDS[s.byte()];
        if (!kind) throw new Error(`unknown import kind for ${module}.${name}`);
        const imp: ModuleImport = { module, name, kind };
        if (kind === "function") {
          const ti = s.u32();
          imp.sig = types[ti];
          funcTypes.push(ti);
        } else if (kind === "table") {
          s.byte();
          s.limits();
        } else if (kind === "memory") {
          s.limits();
        } else if (kind === "global") {
          s.valtype();
          s.byte();
        } else {
          s.byte();
          s.u32();
        }
        imports.push(imp);
      }
    } else if (id === 3) {
      for (let n = s.u32(); n > 0; n--) funcTypes.push(s.u32());
    } else if (id === 7) {
      for (let n = s.u32(); n > 0; n--) {
        const name = s.name();
        const kind = KINDS[s.byte()];
        if (!kind) throw new Error(`unknown export kind for ${name}`);
        rawExports.push({ name, kind, index: s.u32() });
      }
    }
    r.pos = end;
  }
  const exports = rawExports.map(({ name, kind, index }) => {
    const e: ModuleExport = { name, kind };
    if (kind === "function") {
      const ti = funcTypes[index];
      e.sig = ti === undefined ? undefined : types[ti];
    }
    return e;
  });
  return { imports, exports };
}
