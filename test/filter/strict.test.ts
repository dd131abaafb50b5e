// Host strictness: the host links a module only if Envoy would — every
// import a function Envoy provides with Envoy's exact signature, ABI 0.2.1
// marker, exported memory and allocator, callbacks with Envoy's types.
import { test } from "uvu";
import * as assert from "uvu/assert";
import pino from "pino";
import { WasmVm } from "../../filter/host/vm.ts";
import { ENV_FUNCTIONS, WASI_FUNCTIONS, MODULE_CALLBACKS, START_ALLOWED_IMPORTS } from "../../filter/host/abi.ts";
import { WasmModuleError } from "../../filter/host/strict.ts";
import { ENVOY_ENV_FUNCTIONS, ENVOY_WASI_FUNCTIONS, ENVOY_CALLBACKS, ENVOY_IMPORTS, ENVOY_START_ALLOWED_IMPORTS } from "../support/envoy-abi.ts";
import { buildModule, minimalFuncs, sig, i32, i64, type BuiltImport } from "./wasm-builder.ts";

const logger = pino({ level: "silent" });

async function refused(bytes: Uint8Array, ...mentions: string[]): Promise<string> {
  try {
    const vm = await WasmVm.load(bytes, { logger });
    await vm.close();
  } catch (err) {
    assert.instance(err, Error);
    const msg = (err as Error).message;
    for (const m of mentions) assert.ok(msg.includes(m), `error "${msg}" should mention "${m}"`);
    return msg;
  }
  assert.unreachable("module should have been refused");
  return "";
}

test("the host's ABI table is Envoy's (test/support/envoy-abi.ts)", () => {
  assert.equal(Object.keys(ENV_FUNCTIONS).sort(), Object.keys(ENVOY_ENV_FUNCTIONS).sort());
  for (const [n, s] of Object.entries(ENVOY_ENV_FUNCTIONS)) assert.equal(ENV_FUNCTIONS[n], { params: [...s.params], results: [...s.results] }, n);
  assert.equal(Object.keys(WASI_FUNCTIONS).sort(), Object.keys(ENVOY_WASI_FUNCTIONS).sort());
  for (const [n, s] of Object.entries(ENVOY_WASI_FUNCTIONS)) assert.equal(WASI_FUNCTIONS[n], { params: [...s.params], results: [...s.results] }, n);
  for (const [n, s] of Object.entries(ENVOY_CALLBACKS)) assert.equal(MODULE_CALLBACKS[n], { params: [...s.params], results: [...s.results] }, n);
  assert.equal(Object.keys(MODULE_CALLBACKS).sort(), Object.keys(ENVOY_CALLBACKS).sort());
  assert.equal([...START_ALLOWED_IMPORTS].sort(), [...ENVOY_START_ALLOWED_IMPORTS].sort());
});

test("a minimal module (marker, allocator, memory) loads and closes", async () => {
  const vm = await WasmVm.load(buildModule({ funcs: minimalFuncs() }), { logger });
  assert.is(vm.rootContext, 1);
  await vm.close();
});

test("a module importing every function Envoy provides is accepted", async () => {
  const imports: BuiltImport[] = Object.entries(ENVOY_IMPORTS).map(([full, s]) => {
    const dot = full.indexOf(".");
    return { module: full.slice(0, dot), name: full.slice(dot + 1), sig: { params: [...s.params], results: [...s.results] } };
  });
  const vm = await WasmVm.load(buildModule({ imports, funcs: minimalFuncs() }), { logger });
  await vm.close();
});

test("an unknown import is refused, naming it", async () => {
  const msg = await refused(
    buildModule({ imports: [{ module: "env", name: "proxy_make_coffee", sig: sig([i32], [i32]) }], funcs: minimalFuncs() }),
    "env.proxy_make_coffee",
    "not provided by Envoy",
  );
  assert.match(msg, /wasm module refused/);
});

test("AssemblyScript's default env.abort import is refused", async () => {
  await refused(
    buildModule({ imports: [{ module: "env", name: "abort", sig: sig([i32, i32, i32, i32]) }], funcs: minimalFuncs() }),
    "env.abort",
  );
});

test("a known import with a different signature is refused, showing both", async () => {
  await refused(
    buildModule({ imports: [{ module: "env", name: "proxy_log", sig: sig([i32, i32], [i32]) }], funcs: minimalFuncs() }),
    "env.proxy_log",
    "(i32, i32) -> (i32)",
    "(i32, i32, i32) -> (i32)",
  );
  // i64 vs i32 matters too.
  await refused(
    buildModule({ imports: [{ module: "env", name: "proxy_increment_metric", sig: sig([i32, i32], [i32]) }], funcs: minimalFuncs() }),
    "env.proxy_increment_metric",
    "(i32, i64) -> (i32)",
  );
  // A void result where Envoy returns a WasmResult.
  await refused(
    buildModule({ imports: [{ module: "wasi_snapshot_preview1", name: "random_get", sig: sig([i32, i32]) }], funcs: minimalFuncs() }),
    "wasi_snapshot_preview1.random_get",
  );
});

test("WASI functions Envoy does not provide are refused", async () => {
  await refused(
    buildModule({ imports: [{ module: "wasi_snapshot_preview1", name: "sock_accept", sig: sig([i32, i32, i32], [i32]) }], funcs: minimalFuncs() }),
    "wasi_snapshot_preview1.sock_accept",
  );
});

test("imported memory is refused", async () => {
  await refused(buildModule({ importMemory: true, funcs: minimalFuncs() }), "env.memory", "memory");
});

test("ABI marker, memory and allocator are required", async () => {
  await refused(
    buildModule({ funcs: [{ export: "proxy_on_memory_allocate", sig: sig([i32], [i32]) }] }),
    "ABI version",
  );
  await refused(
    buildModule({ funcs: [{ export: "proxy_abi_version_0_1_0", sig: sig([]) }, { export: "malloc", sig: sig([i32], [i32]) }] }),
    "proxy_abi_version_0_1_0",
    "not supported",
  );
  await refused(buildModule({ funcs: [{ export: "proxy_abi_version_0_2_1", sig: sig([]) }] }), "malloc");
  await refused(buildModule({ memory: false, funcs: minimalFuncs() }), "memory");
});

test("a callback with the wrong signature is refused", async () => {
  await refused(
    buildModule({ funcs: [...minimalFuncs(), { export: "proxy_on_tick", sig: sig([i32], [i32]) }] }),
    "proxy_on_tick",
    "(i32) -> ()",
  );
  await refused(
    buildModule({ funcs: [...minimalFuncs(), { export: "proxy_on_request_headers", sig: sig([i32, i32], [i32]) }] }),
    "proxy_on_request_headers",
  );
});

test("not a wasm binary", async () => {
  const err = await WasmVm.load(new TextEncoder().encode("hello world"), { logger }).catch((e) => e);
  assert.instance(err, WasmModuleError);
  assert.match(err.message, /bad magic/);
});

test("proc_exit during proxy_on_vm_start fails the load", async () => {
  const bytes = buildModule({
    imports: [{ module: "wasi_snapshot_preview1", name: "proc_exit", sig: sig([i32]) }],
    funcs: [...minimalFuncs(), { export: "proxy_on_vm_start", sig: sig([i32, i32], [i32]), body: [0x41, 3, 0x10, 0, 0x41, 1] }],
  });
  const err = await WasmVm.load(bytes, { logger }).catch((e) => e);
  assert.instance(err, Error);
  assert.match(err.message, /proxy_on_vm_start failed: wasm called proc_exit\(3\)/);
});

test("proxy_on_configure returning false fails the load", async () => {
  const bytes = buildModule({ funcs: [...minimalFuncs(), { export: "proxy_on_configure", sig: sig([i32, i32], [i32]) }] });
  const err = await WasmVm.load(bytes, { logger }).catch((e) => e);
  assert.match(err.message, /proxy_on_configure failed/);
});

test("a trap in a request callback fails the VM: fail closed (503) by default, fail open on request", async () => {
  const trapping = buildModule({
    funcs: [...minimalFuncs(), { export: "proxy_on_request_headers", sig: sig([i32, i32, i32], [i32]), body: [0x00] }],
  });
  const closedVm = await WasmVm.load(trapping, { logger });
  try {
    const r = await closedVm.request({ path: "/" });
    assert.is(r.kind, "local_response");
    assert.is(r.status, 503);
    assert.ok(closedVm.failure);
    assert.is(closedVm.stats.crashes, 1);
    // Later requests never enter the crashed VM.
    assert.is((await closedVm.request({ path: "/x" })).status, 503);
    assert.is(closedVm.stats.crashes, 1);
  } finally {
    await closedVm.close();
  }
  const openVm = await WasmVm.load(trapping, { logger, failOpen: true });
  try {
    const r = await openVm.request({ path: "/" });
    assert.is(r.kind, "continued");
    assert.is(r.status, 200);
  } finally {
    await openVm.close();
  }
});

test("host calls other than logging/clock/random are refused during _initialize", async () => {
  // _initialize calls proxy_set_tick_period_milliseconds(5) and stores the result at address 0.
  const bytes = buildModule({
    imports: [{ module: "env", name: "proxy_set_tick_period_milliseconds", sig: sig([i32], [i32]) }],
    funcs: [
      ...minimalFuncs(),
      { export: "_initialize", sig: sig([]), body: [0x41, 0, 0x41, 5, 0x10, 0, 0x36, 0x02, 0x00] },
      // proxy_on_vm_start returns the stored result == 10 (InternalFailure) ? 1 : 0.
      { export: "proxy_on_vm_start", sig: sig([i32, i32], [i32]), body: [0x41, 0, 0x28, 0x02, 0x00, 0x41, 10, 0x46] },
    ],
  });
  const vm = await WasmVm.load(bytes, { logger });
  await vm.close();
});

void i64;
test.run();
