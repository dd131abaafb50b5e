// Hand-assembles tiny wasm modules for the host strictness tests (no wasm
// toolkit needed): function imports, function exports with constant bodies,
// an exported memory.
type V = "i32" | "i64" | "f32" | "f64";
export interface Sig {
  params: V[];
  results: V[];
}
export interface BuiltImport {
  module: string;
  name: string;
  sig: Sig;
}
export interface BuiltFunc {
  export: string;
  sig: Sig;
  /** Body instructions (without locals vector and final `end`); default returns zero values. */
  body?: number[];
}

const VT: Record<V, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c };

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
const str = (s: string) => {
  const b = [...new TextEncoder().encode(s)];
  return [...leb(b.length), ...b];
};
const vec = (items: number[][]) => [...leb(items.length), ...items.flat()];
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];

function zeroBody(sig: Sig): number[] {
  return sig.results.map((r) => (r === "i32" ? [0x41, 0] : r === "i64" ? [0x42, 0] : r === "f32" ? [0x43, 0, 0, 0, 0] : [0x44, 0, 0, 0, 0, 0, 0, 0, 0])).flat();
}

export function buildModule(opts: { imports?: BuiltImport[]; funcs?: BuiltFunc[]; memory?: boolean; importMemory?: boolean }): Uint8Array {
  const imports = opts.imports ?? [];
  const funcs = opts.funcs ?? [];
  const sigs: Sig[] = [];
  const typeIndex = (s: Sig) => {
    const key = JSON.stringify(s);
    let i = sigs.findIndex((x) => JSON.stringify(x) === key);
    if (i < 0) {
      sigs.push(s);
      i = sigs.length - 1;
    }
    return i;
  };
  const importEntries = imports.map((im) => [...str(im.module), ...str(im.name), 0x00, ...leb(typeIndex(im.sig))]);
  if (opts.importMemory) importEntries.push([...str("env"), ...str("memory"), 0x02, 0x00, 0x01]);
  const funcTypes = funcs.map((f) => leb(typeIndex(f.sig)));
  const types = sigs.map((s) => [0x60, ...vec(s.params.map((p) => [VT[p]])), ...vec(s.results.map((r) => [VT[r]]))]);
  const exportsList = funcs.map((f, i) => [...str(f.export), 0x00, ...leb(imports.length + i)]);
  if (opts.memory !== false && !opts.importMemory) exportsList.push([...str("memory"), 0x02, 0x00]);
  const code = funcs.map((f) => {
    const body = [0x00, ...(f.body ?? zeroBody(f.sig)), 0x0b];
    return [...leb(body.length), ...body];
  });
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...(importEntries.length ? section(2, vec(importEntries)) : []),
    ...section(3, vec(funcTypes)),
    ...(opts.memory !== false && !opts.importMemory ? section(5, vec([[0x00, 0x01]])) : []),
    ...section(7, vec(exportsList)),
    ...section(10, vec(code)),
  ];
  return new Uint8Array(bytes);
}

export const i32 = "i32" as const;
export const i64 = "i64" as const;
export const sig = (params: V[], results: V[] = []): Sig => ({ params, results });

/** The smallest module Envoy accepts: ABI marker, allocator (returns 1024), memory. */
export function minimalFuncs(): BuiltFunc[] {
  return [
    { export: "proxy_abi_version_0_2_1", sig: sig([]) },
    { export: "proxy_on_memory_allocate", sig: sig([i32], [i32]), body: [0x41, ...sleb(1024)] },
  ];
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}
