// The test-only filter build (filter/build/hfi-filter-test.wasm, entry
// filter/assembly/test-entry.ts: decoder, regex, JSON, matching; no imports)
// and the calling convention its exports share: input copied into guest
// memory, output text at outPtr()/outLen().
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ServiceDefinition } from "@grpc/proto-loader";
import { packageDefinition } from "../../proto/loader.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TEST_WASM = path.join(ROOT, "filter/build/hfi-filter-test.wasm");

/** Exports every test entry has; each test file adds the ones it drives. */
export interface TestEntryExports {
  memory: WebAssembly.Memory;
  _initialize(): void;
  alloc(n: number): number;
  free(p: number): void;
  outPtr(): number;
  outLen(): number;
}

/** A fresh, initialised instance of the test entry. */
export function loadTestEntry<T extends TestEntryExports>(): T {
  const wasm = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(TEST_WASM)), {}).exports as unknown as T;
  wasm._initialize();
  return wasm;
}

/** Calls fn(ptr, len) with the input copied into guest memory (freed afterwards). */
export function withBytes<R>(wasm: TestEntryExports, input: string | Uint8Array, fn: (p: number, n: number) => R): R {
  const bytes = typeof input === "string" ? Buffer.from(input, "utf8") : input;
  const p = wasm.alloc(Math.max(bytes.length, 1));
  new Uint8Array(wasm.memory.buffer, p, bytes.length).set(bytes);
  try {
    return fn(p, bytes.length);
  } finally {
    wasm.free(p);
  }
}

/** The text the last call left at outPtr()/outLen(). */
export function outputText(wasm: TestEntryExports): string {
  return Buffer.from(new Uint8Array(wasm.memory.buffer, wasm.outPtr(), wasm.outLen())).toString("utf8");
}

const configService = packageDefinition()["hfi.v1.ConfigDiscoveryService"] as ServiceDefinition;

/** A ConfigSnapshot (proto-loader object form) encoded by the real protos, as the control plane sends it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const encodeSnapshot = (obj: any): Uint8Array => configService.StreamConfig!.responseSerialize(obj);

/** Envoy's header-pair serialisation (count, sizes, then nul-terminated names and values). */
export function pairs(entries: [string, string][]): Uint8Array {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4 + entries.length * 8);
  head.writeUInt32LE(entries.length, 0);
  entries.forEach(([k, v], i) => {
    head.writeUInt32LE(Buffer.byteLength(k), 4 + i * 8);
    head.writeUInt32LE(Buffer.byteLength(v), 8 + i * 8);
    parts.push(Buffer.from(k), Buffer.from([0]), Buffer.from(v), Buffer.from([0]));
  });
  return Buffer.concat([head, ...parts]);
}
