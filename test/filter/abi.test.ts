// The built filter against Envoy's proxy-wasm ABI table: it may import only
// what Envoy registers (with Envoy's exact types), must export the callbacks
// it relies on with the types Envoy looks up, and must fit the size budget.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync, existsSync } from "node:fs";
import fc from "fast-check";
import type { ServiceDefinition } from "@grpc/proto-loader";
import { packageDefinition } from "../../proto/loader.ts";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  ENVOY_IMPORTS, ENVOY_CALLBACKS, ENVOY_START_ALLOWED_IMPORTS, ABI_VERSION_MARKERS, ABI_VERSION_MARKER,
  readWasmSignatures, sameSignature,
} from "../support/envoy-abi.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const WASM = path.join(ROOT, "filter/build/hfi-filter.wasm");
const SIZE_BUDGET = 64 * 1024;

function load(): { bytes: Buffer; sig: ReturnType<typeof readWasmSignatures> } {
  assert.ok(existsSync(WASM), `${WASM} missing: run npm run build:filter`);
  const bytes = readFileSync(WASM);
  return { bytes, sig: readWasmSignatures(bytes) };
}

test("the build produced a valid wasm module within the size budget", () => {
  const { bytes } = load();
  assert.ok(WebAssembly.validate(new Uint8Array(bytes)), "module validates");
  console.log(`  hfi-filter.wasm: ${bytes.length} bytes (budget ${SIZE_BUDGET})`);
  assert.ok(bytes.length <= SIZE_BUDGET, `module is ${bytes.length} bytes`);
});

test("imports only host functions Envoy registers, with Envoy's signatures", () => {
  const { sig } = load();
  assert.ok(sig.imports.length > 0);
  for (const imp of sig.imports) {
    const key = `${imp.module}.${imp.name}`;
    assert.is(imp.kind, "function", `${key} is a function import`);
    const expected = ENVOY_IMPORTS[key];
    assert.ok(expected, `${key} is registered by Envoy`);
    assert.ok(sameSignature(expected!, imp.signature!), `${key}: ${JSON.stringify(imp.signature)} vs ${JSON.stringify(expected)}`);
  }
  // Cross-check with the engine's own view of the import list.
  const engine = WebAssembly.Module.imports(new WebAssembly.Module(readFileSync(WASM)));
  assert.equal(engine.map((i) => `${i.module}.${i.name}`).sort(), sig.imports.map((i) => `${i.module}.${i.name}`).sort());
});

test("imports nothing AssemblyScript adds by default, and only the WASI calls we budget for", () => {
  const { sig } = load();
  const names = sig.imports.map((i) => `${i.module}.${i.name}`);
  for (const banned of ["env.abort", "env.seed", "env.trace", "Date.now", "env.console.log"]) {
    assert.not.ok(names.includes(banned), `imports ${banned}`);
  }
  const wasi = names.filter((n) => n.startsWith("wasi_")).sort();
  assert.equal(wasi, ["wasi_snapshot_preview1.clock_time_get", "wasi_snapshot_preview1.random_get"]);
  for (const n of names) assert.ok(n.startsWith("env.proxy_") || n.startsWith("wasi_snapshot_preview1."), n);
});

test("exports the callbacks it needs with the exact types Envoy looks up", () => {
  const { sig } = load();
  const byName = new Map(sig.exports.map((e) => [e.name, e]));
  const required = [
    "_initialize", "proxy_on_memory_allocate", "proxy_on_context_create", "proxy_on_vm_start", "proxy_on_configure",
    "proxy_on_tick", "proxy_on_request_headers", "proxy_on_response_headers", "proxy_on_done", "proxy_on_log",
    "proxy_on_delete", "proxy_on_grpc_receive_initial_metadata", "proxy_on_grpc_receive",
    "proxy_on_grpc_receive_trailing_metadata", "proxy_on_grpc_close",
  ];
  for (const name of required) {
    const e = byName.get(name);
    assert.ok(e, `exports ${name}`);
    assert.ok(sameSignature(ENVOY_CALLBACKS[name]!, e!.signature!), `${name}: ${JSON.stringify(e!.signature)}`);
  }
  // Anything else exported must be something Envoy understands (or memory / the ABI marker).
  for (const e of sig.exports) {
    if (e.name === "memory") { assert.is(e.kind, "memory"); continue; }
    if (e.name === ABI_VERSION_MARKER) { assert.equal(e.signature, { params: [], results: [] }); continue; }
    const expected = ENVOY_CALLBACKS[e.name];
    assert.ok(expected, `unexpected export ${e.name}`);
    assert.ok(sameSignature(expected!, e.signature!), `${e.name}: ${JSON.stringify(e.signature)}`);
  }
  // Envoy prefers `malloc` and `_start`/`main` semantics we do not implement: they must be absent.
  for (const absent of ["malloc", "_start", "main"]) assert.not.ok(byName.has(absent), `exports ${absent}`);
});

test("advertises exactly ABI v0.2.1 and exports its own memory", () => {
  const { sig } = load();
  const markers = sig.exports.filter((e) => (ABI_VERSION_MARKERS as readonly string[]).includes(e.name)).map((e) => e.name);
  assert.equal(markers, [ABI_VERSION_MARKER]);
  assert.ok(sig.exports.some((e) => e.name === "memory" && e.kind === "memory"));
  assert.not.ok(sig.imports.some((i) => i.kind !== "function"), "imports only functions (no memory/table/global)");
});

test("_initialize runs with only the host calls Envoy allows during start (none here)", async () => {
  const bytes = readFileSync(WASM);
  const calls: string[] = [];
  const imports: Record<string, Record<string, (...a: unknown[]) => number>> = {};
  for (const i of WebAssembly.Module.imports(new WebAssembly.Module(bytes))) {
    (imports[i.module] ??= {})[i.name] = () => { calls.push(`${i.module}.${i.name}`); return 0; };
  }
  const { instance } = await WebAssembly.instantiate(bytes, imports);
  (instance.exports._initialize as () => void)();
  for (const c of calls) assert.ok(ENVOY_START_ALLOWED_IMPORTS.includes(c), `host call ${c} during _initialize`);
});

/**
 * A deliberately hostile host: every buffer, header map and property the
 * filter asks for is attacker-chosen bytes. The filter must fail open (never
 * trap) whatever it gets.
 */
async function runHostile(input: { config: Uint8Array; grpc: Uint8Array; headers: Uint8Array; property: Uint8Array | null; wildPointers?: boolean }): Promise<void> {
  const bytes = readFileSync(WASM);
  let memory!: WebAssembly.Memory;
  let exports!: Record<string, (...a: number[]) => number>;
  const give = (buf: Uint8Array, pp: number, sp: number): number => {
    const p = buf.length ? exports.proxy_on_memory_allocate!(buf.length) : 0;
    if (buf.length) new Uint8Array(memory.buffer).set(buf, p);
    const dv = new DataView(memory.buffer);
    dv.setUint32(pp, input.wildPointers ? 0xfffffff0 : p, true);
    dv.setUint32(sp, input.wildPointers ? 0x7fffffff + buf.length : buf.length, true);
    return 0;
  };
  const env: Record<string, (...a: never[]) => number> = {};
  for (const i of WebAssembly.Module.imports(new WebAssembly.Module(bytes))) {
    if (i.module === "env") env[i.name] = () => 0;
  }
  env.proxy_get_buffer_bytes = ((t: number, _s: number, _l: number, pp: number, sp: number) => give(t === 7 ? input.config : input.grpc, pp, sp)) as never;
  env.proxy_get_header_map_pairs = ((_t: number, pp: number, sp: number) => give(input.headers, pp, sp)) as never;
  env.proxy_get_property = ((_p: number, _n: number, pp: number, sp: number) => (input.property ? give(input.property, pp, sp) : 1)) as never;
  env.proxy_get_status = ((cp: number, pp: number, sp: number) => give(input.property ?? new Uint8Array(0), pp, sp)) as never;
  env.proxy_grpc_stream = ((...a: number[]) => { new DataView(memory.buffer).setUint32(a[8]!, 1, true); return 0; }) as never;
  const wasi = {
    random_get: (p: number, n: number) => { new Uint8Array(memory.buffer, p, n).fill(7); return 0; },
    clock_time_get: (_id: number, _prec: bigint, p: number) => { new DataView(memory.buffer).setBigUint64(p, 1_700_000_000_000_000_000n, true); return 0; },
  };
  const { instance } = await WebAssembly.instantiate(bytes, { env, wasi_snapshot_preview1: wasi });
  exports = instance.exports as typeof exports;
  memory = instance.exports.memory as WebAssembly.Memory;
  const x = exports;
  x._initialize!();
  x.proxy_on_context_create!(1, 0);
  x.proxy_on_vm_start!(1, 0);
  assert.is(x.proxy_on_configure!(1, input.config.length), 1, "configure always succeeds (fail open)");
  x.proxy_on_grpc_receive_initial_metadata!(1, 1, 0);
  x.proxy_on_grpc_receive!(1, 1, input.grpc.length);
  x.proxy_on_grpc_receive!(1, 1, 0x7fffffff);
  for (let ctx = 2; ctx < 5; ctx++) {
    x.proxy_on_context_create!(ctx, 1);
    const action = x.proxy_on_request_headers!(ctx, 3, 1);
    assert.ok(action === 0 || action === 1);
    x.proxy_on_response_headers!(ctx, 0, 1);
  }
  x.proxy_on_tick!(1);
  x.proxy_on_grpc_close!(1, 1, 14);
  x.proxy_on_tick!(1);
  x.proxy_on_tick!(99);
  x.proxy_on_request_headers!(77, 1, 1); // unknown context
  for (let ctx = 2; ctx < 5; ctx++) { x.proxy_on_done!(ctx); x.proxy_on_log!(ctx); x.proxy_on_delete!(ctx); }
  x.proxy_on_done!(1);
  x.proxy_on_delete!(1);
}

test("never traps on hostile host input (config, snapshot, headers, properties)", async () => {
  const svc = packageDefinition()["hfi.v1.ConfigDiscoveryService"] as ServiceDefinition;
  const valid = Uint8Array.from(svc.StreamConfig!.responseSerialize({
    version: "1", nonce: "n", policies: [{ name: "p", rules: [
      { match: { path: { regex: "^/a" }, headers: [{ name: "x", prefix: "y" }], queryParams: [{ name: "q", present: true }] }, fault: { percentage: 100, abort: { httpStatus: 503 } } },
      { fault: { percentage: 100, delay: { fixedDelayMs: 5 }, startDelayMs: 3 } },
    ] }],
  }));
  const mutated = fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 })
    .map((edits) => { const c = Uint8Array.from(valid); for (const [i, v] of edits) c[i] = v; return c; });
  const pairsArb = fc.array(fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 12 })), { maxLength: 6 }).map((entries) => {
    const head = Buffer.alloc(4 + entries.length * 8);
    head.writeUInt32LE(entries.length, 0);
    const parts: Buffer[] = [];
    entries.forEach(([k, v], i) => {
      head.writeUInt32LE(Buffer.byteLength(k), 4 + i * 8);
      head.writeUInt32LE(Buffer.byteLength(v), 8 + i * 8);
      parts.push(Buffer.from(k), Buffer.from([0]), Buffer.from(v), Buffer.from([0]));
    });
    return new Uint8Array(Buffer.concat([head, ...parts]));
  });
  const configArb = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.json().map((j) => new Uint8Array(Buffer.from(j))),
    fc.constant(new Uint8Array(Buffer.from('{"token":"t","service":"s"}'))));
  await fc.assert(
    fc.asyncProperty(
      fc.record({
        config: configArb,
        grpc: fc.oneof(fc.uint8Array({ maxLength: 128 }), mutated, fc.constant(valid)),
        headers: fc.oneof(fc.uint8Array({ maxLength: 64 }), pairsArb),
        property: fc.option(fc.oneof(fc.uint8Array({ maxLength: 32 }), pairsArb)),
        wildPointers: fc.boolean(),
      }),
      async (input) => { await runHostile(input); },
    ),
    { numRuns: 300 },
  );
});

test.run();
