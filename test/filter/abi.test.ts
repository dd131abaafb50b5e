// The built filter against Envoy's proxy-wasm ABI table: it may import only
// what Envoy registers (with Envoy's exact types), must export the callbacks
// it relies on with the types Envoy looks up, and must fit the size budget.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync, existsSync } from "node:fs";
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

test.run();
