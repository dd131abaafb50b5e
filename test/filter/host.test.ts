// Host building blocks against Envoy's formats: header-map pairs, property
// serialization, the GrpcService-or-cluster-name argument, module parsing,
// local replies, metrics exposition; and the VM lifecycle with the real
// filter and no control plane (fail static: traffic passes, reconnects).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodePairs, encodePairs } from "../../filter/host/pairs.ts";
import { lookupPath, serializeProperty, splitPath } from "../../filter/host/properties.ts";
import { parseGrpcService } from "../../filter/host/imports/grpc/service.ts";
import { readModuleInfo } from "../../filter/host/module-info.ts";
import { localResponseHeaders } from "../../filter/host/local-reply.ts";
import { MetricStore } from "../../filter/host/metrics.ts";
import { freePort } from "../support/ports.ts";
import { buildModule, minimalFuncs, sig, i32, i64 } from "./wasm-builder.ts";
import { FILTER_WASM, abortPolicy, applyAndWait, closeAll, loadFilter, quietLogger, waitFor } from "./helpers.ts";
import { WasmVm } from "../../filter/host/vm.ts";
import { startTestServer, PolicyClient } from "../support/server.ts";
import { pluginConfigFor } from "../../filter/host/sidecar/workload.ts";
import fs from "node:fs";

test("pairs: Envoy's layout (count, sizes, NUL-terminated strings) and back", () => {
  const b = encodePairs([
    [":path", "/a"],
    ["x", ""],
  ]);
  const dv = new DataView(b.buffer);
  assert.is(dv.getUint32(0, true), 2);
  assert.equal([dv.getUint32(4, true), dv.getUint32(8, true), dv.getUint32(12, true), dv.getUint32(16, true)], [5, 2, 1, 0]);
  assert.is(new TextDecoder().decode(b.subarray(20)), ":path\0/a\0x\0\0");
  assert.is(b.length, 4 + 16 + 6 + 3 + 2 + 1);
  assert.equal(decodePairs(b), [
    [":path", "/a"],
    ["x", ""],
  ]);
  assert.equal(decodePairs(new Uint8Array(0)), []);
  assert.is(decodePairs(b.subarray(0, b.length - 3)), undefined, "truncated");
  assert.is(decodePairs(Uint8Array.of(5, 0, 0, 0)), undefined, "count without sizes");
});

test("properties: strings raw, numbers as 8-byte doubles, bools 1 byte, maps as pairs; NUL-separated paths", () => {
  const root = { node: { id: "n1", metadata: { WORKLOAD_NAME: "frontend", LABELS: { app: "frontend", tier: "web" }, N: 3, B: true } } };
  assert.equal(splitPath(new TextEncoder().encode("node\0metadata\0WORKLOAD_NAME")), ["node", "metadata", "WORKLOAD_NAME"]);
  assert.equal(splitPath(new TextEncoder().encode("node\0id\0")), ["node", "id"]);
  assert.is(new TextDecoder().decode(serializeProperty(lookupPath(root, ["node", "metadata", "WORKLOAD_NAME"]))), "frontend");
  assert.is(lookupPath(root, ["node.metadata.WORKLOAD_NAME"]), undefined, "dots are not separators (as in Envoy)");
  const labels = serializeProperty(lookupPath(root, ["node", "metadata", "LABELS"]))!;
  assert.equal(decodePairs(labels), [
    ["app", "frontend"],
    ["tier", "web"],
  ]);
  assert.is(new DataView(serializeProperty(3)!.buffer).getFloat64(0, true), 3);
  assert.equal([...serializeProperty(true)!], [1]);
  assert.is(new DataView(serializeProperty(200n)!.buffer).getBigInt64(0, true), 200n);
  assert.is(serializeProperty(undefined), undefined);
});

test("grpc service argument: a plain cluster name, or a serialized GrpcService", () => {
  const name = "outbound|9090||hfi-control-plane.boifi.svc.cluster.local";
  assert.equal(parseGrpcService(new TextEncoder().encode(name)), { cluster: name, initialMetadata: [] });
  // GrpcService{ envoy_grpc{ cluster_name: "cp" }, initial_metadata{ key: "k", value: "v" } }
  const proto = Uint8Array.of(0x0a, 0x04, 0x0a, 0x02, 0x63, 0x70, 0x2a, 0x06, 0x0a, 0x01, 0x6b, 0x12, 0x01, 0x76);
  assert.equal(parseGrpcService(proto), { cluster: "cp", initialMetadata: [["k", "v"]] });
  // GrpcService{ google_grpc{ target_uri: "h:1" } }
  assert.equal(parseGrpcService(Uint8Array.of(0x12, 0x05, 0x0a, 0x03, 0x68, 0x3a, 0x31)).targetUri, "h:1");
});

test("module info: imports and exports with their wasm signatures", () => {
  const info = readModuleInfo(
    buildModule({
      imports: [{ module: "env", name: "proxy_increment_metric", sig: sig([i32, i64], [i32]) }],
      funcs: minimalFuncs(),
    }),
  );
  assert.equal(info.imports, [{ module: "env", name: "proxy_increment_metric", kind: "function", sig: { params: ["i32", "i64"], results: ["i32"] } }]);
  assert.equal(
    info.exports.map((e) => [e.name, e.kind, e.sig]),
    [
      ["proxy_abi_version_0_2_1", "function", { params: [], results: [] }],
      ["proxy_on_memory_allocate", "function", { params: ["i32"], results: ["i32"] }],
      ["memory", "memory", undefined],
    ],
  );
  const real = readModuleInfo(fs.readFileSync(FILTER_WASM));
  assert.ok(real.exports.some((e) => e.name === "proxy_on_request_headers"));
});

test("local replies: plain (content-type, content-length) and gRPC (trailers-only, HTTP 200)", () => {
  const body = new TextEncoder().encode("nope");
  const plain = localResponseHeaders({ status: 503, headers: [["x-hfi-fault", "p"]], body, details: "" }, false);
  assert.is(plain.status, 503);
  assert.equal(plain.headers, [
    ["content-type", "text/plain"],
    ["x-hfi-fault", "p"],
    ["content-length", "4"],
  ]);
  const g = localResponseHeaders({ status: 503, headers: [], body, details: "", grpcStatus: 14 }, true);
  assert.is(g.status, 200);
  assert.equal(g.headers.slice(0, 3), [
    ["content-type", "application/grpc"],
    ["grpc-status", "14"],
    ["grpc-message", "nope"],
  ]);
  assert.is(g.body.length, 0);
  // No grpc_status from the filter: Envoy maps the HTTP code (503 → UNAVAILABLE).
  assert.equal(localResponseHeaders({ status: 503, headers: [], body: new Uint8Array(0), details: "" }, true).headers[1], ["grpc-status", "14"]);
  assert.equal(localResponseHeaders({ status: 403, headers: [], body: new Uint8Array(0), details: "" }, true).headers[1], ["grpc-status", "7"]);
});

test("metric store: shared by name, Prometheus text with sanitised names", () => {
  const m = new MetricStore();
  const a = m.define("wasmcustom.hfi_x_total", "counter");
  const b = m.define("wasmcustom.hfi_x_total", "counter");
  assert.is(a, b);
  a.value += 3n;
  const h = m.define("lat.ms", "histogram");
  h.value = 2n;
  h.sum = 30n;
  assert.equal(m.snapshot(), { "lat.ms": 2, "wasmcustom.hfi_x_total": 3 });
  assert.match(m.prometheus(), /# TYPE wasmcustom_hfi_x_total counter\nwasmcustom_hfi_x_total 3/);
  assert.match(m.prometheus(), /lat_ms_count 2\nlat_ms_sum 30/);
});

test("callbacks come in Envoy's order: start, root context, vm_start, configure; per stream create → headers → done/log/delete", async () => {
  const calls: string[] = [];
  const port = await freePort();
  const vm = await loadFilter(`127.0.0.1:${port}`, { service: "frontend", namespace: "demo" }, {
    onGuestCall: (name, args) => {
      if (name !== "proxy_on_memory_allocate" && name !== "proxy_on_tick") calls.push(`${name}(${args.join(",")})`);
    },
  });
  assert.equal(calls, ["_initialize()", "proxy_on_context_create(1,0)", "proxy_on_vm_start(1,0)", `proxy_on_configure(1,0)`]);
  calls.length = 0;
  await vm.request({ path: "/" });
  assert.equal(calls, [
    "proxy_on_context_create(2,1)",
    "proxy_on_request_headers(2,4,1)",
    "proxy_on_response_headers(2,1,1)",
    "proxy_on_done(2)",
    "proxy_on_log(2)",
    "proxy_on_delete(2)",
  ]);
  calls.length = 0;
  await vm.close();
  assert.equal(calls.filter((c) => !c.startsWith("proxy_on_grpc")), ["proxy_on_done(1)", "proxy_on_delete(1)"]);
});

test("real filter, control plane unreachable: traffic passes, it keeps retrying, close() leaves nothing behind", async () => {
  const port = await freePort();
  const vm = await loadFilter(`127.0.0.1:${port}`, { service: "frontend", namespace: "demo" });
  try {
    const r = await vm.request({ path: "/" });
    assert.is(r.kind, "continued");
    await waitFor(() => vm.metrics()["wasmcustom.hfi_config_reconnects_total"]! >= 1, "a reconnect attempt", 5000);
    // Between an attempt and its failure no timer runs; after the failure a backoff timer is armed.
    await waitFor(() => vm.tickPeriodMs > 0 && vm.grpcStreamCount === 0, "a reconnect timer armed", 5000);
    assert.is(vm.failure, undefined);
  } finally {
    await vm.close();
  }
  assert.is(vm.tickPeriodMs, 0);
  assert.is(vm.grpcStreamCount, 0);
  assert.is(vm.activeStreams, 0);
});

test("an unknown control-plane cluster fails the stream call (ParseFailure, as Envoy) and the filter keeps retrying", async () => {
  const vm = await loadFilter("unused", { service: "frontend", namespace: "demo" }, { clusters: {} });
  try {
    assert.is(vm.grpcStreamCount, 0, "no stream could be opened");
    await waitFor(() => vm.metrics()["wasmcustom.hfi_config_reconnects_total"]! >= 1, "retry", 5000);
    assert.is((await vm.request({ path: "/" })).kind, "continued");
    assert.is(vm.failure, undefined);
  } finally {
    await vm.close();
  }
});

test("several VMs in one process are independent (own root context, memory, streams)", async () => {
  const port = await freePort();
  const a = await loadFilter(`127.0.0.1:${port}`, { service: "a", namespace: "demo" });
  const b = await loadFilter(`127.0.0.1:${port}`, { service: "b", namespace: "demo" });
  try {
    assert.is(a.rootContext, 1);
    assert.is(b.rootContext, 1);
    await Promise.all([a.request({ path: "/" }), b.request({ path: "/" })]);
    await a.close();
    assert.is((await b.request({ path: "/x" })).kind, "continued", "closing one VM does not affect another");
  } finally {
    await a.close();
    await b.close();
  }
});

test("hand-built guest: request and response held, resumed from the root's tick via the effective context", async () => {
  const w3 = [i32, i32, i32];
  const bytes = buildModule({
    imports: [
      { module: "env", name: "proxy_set_tick_period_milliseconds", sig: sig([i32], [i32]) }, // 0
      { module: "env", name: "proxy_set_effective_context", sig: sig([i32], [i32]) }, // 1
      { module: "env", name: "proxy_continue_stream", sig: sig([i32], [i32]) }, // 2
    ],
    funcs: [
      ...minimalFuncs(),
      // on_vm_start: tick every 20 ms.
      { export: "proxy_on_vm_start", sig: sig([i32, i32], [i32]), body: [0x41, 20, 0x10, 0, 0x1a, 0x41, 1] },
      { export: "proxy_on_request_headers", sig: sig(w3, [i32]), body: [0x41, 1] }, // StopIteration
      { export: "proxy_on_response_headers", sig: sig(w3, [i32]), body: [0x41, 1] }, // StopIteration
      // on_tick: set_effective_context(2); continue_stream(Request); continue_stream(Response).
      { export: "proxy_on_tick", sig: sig([i32]), body: [0x41, 2, 0x10, 1, 0x1a, 0x41, 0, 0x10, 2, 0x1a, 0x41, 1, 0x10, 2, 0x1a] },
    ],
  });
  const vm = await WasmVm.load(bytes, { logger: quietLogger });
  try {
    const r = await vm.request({ path: "/", response: { status: 201, headers: { "x-up": "1" } } });
    assert.is(r.kind, "continued");
    assert.is(r.status, 201);
    assert.is(r.headers["x-up"], "1");
    assert.ok(r.pausedMs >= 15, `held ${r.pausedMs} ms in request + response`);
    // Stream 2 is gone: the next ticks' set_effective_context(2) get BadArgument, as in Envoy.
    await waitFor(() => vm.stats.staleContextCalls > 0, "stale context call counted");
    assert.is(vm.stats.crashes, 0);
  } finally {
    await vm.close();
  }
});

test("stream token: the filter presents it from the plugin configuration; a wrong one never gets config", async () => {
  const server = await startTestServer({ streamToken: "s3cret" });
  const pc = new PolicyClient(server.grpcAddress);
  const w = { service: "frontend", namespace: "demo" };
  const good = await loadFilter(server.grpcAddress, w, { pluginConfig: pluginConfigFor({ token: "s3cret" }) });
  const bad = await loadFilter(server.grpcAddress, { ...w, pod: "bad" }, { pluginConfig: pluginConfigFor({ token: "wrong" }) });
  try {
    await applyAndWait(pc, abortPolicy("tok", { service: "frontend" }, { path: "/tok" }), 1);
    assert.is((await good.request({ path: "/tok" })).status, 503);
    assert.is((await bad.request({ path: "/tok" })).status, 200, "unauthenticated filter has no config (fails open)");
    await waitFor(() => bad.metrics()["wasmcustom.hfi_config_reconnects_total"]! >= 1, "bad filter retrying");
    const st = await pc.status("tok");
    assert.is(st.policies[0]!.acked.length, 1);
  } finally {
    await closeAll(good, bad);
    pc.close();
    await server.close();
  }
});

test.run();
