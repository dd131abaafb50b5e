// Where the host models Envoy and a filter could go wrong in a real sidecar
// (issue 9), each against the real network peer:
// - the gRPC bridge (filter/host/imports/grpc/streams.ts) as Envoy's
//   Context + AsyncStreamImpl: trailing metadata always reported (empty too),
//   messages without the 5-byte prefix, INTERNAL on a reset after the
//   response headers, UNAVAILABLE with the router's text before them, the
//   message through proxy_get_status; a raw node:http2 server plays the
//   upstream, hand-built guests record what they are called with;
// - handler bookkeeping after a remote close: freed only when the plugin
//   closed its side; a guest that forgets leaves a stale handler that is
//   counted as leaked when its root context goes; the real filter leaves none
//   across repeated remote closes of its config stream;
// - a delayed POST holds its body and delivers it intact after the delay,
//   with and without proxy-wasm-cpp-host's allow_on_headers_stop_iteration;
// - list-valued properties come back as Envoy serializes them (pairs).
import { test } from "uvu";
import * as assert from "uvu/assert";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { WasmVm } from "../../filter/host/vm.ts";
import { UPSTREAM_FAILURE_MESSAGE } from "../../filter/host/imports/grpc/streams.ts";
import { decodePairs } from "../../filter/host/pairs.ts";
import { serializeProperty } from "../../filter/host/properties.ts";
import { startTestServer, PolicyClient } from "../support/server.ts";
import { freePort } from "../support/ports.ts";
import { FakeControlPlane } from "./fake-control-plane.ts";
import { buildModule, minimalFuncs, sig, sleb, i32, type BuiltFunc } from "./wasm-builder.ts";
import { applyAndWait, closeAll, loadFilter, quietLogger, waitFor } from "./helpers.ts";

const c = (n: number) => [0x41, ...sleb(n)]; // i32.const
const CALL = 0x10;
const DROP = 0x1a;
const w3 = [i32, i32, i32];

// Where the probe guest asks proxy_get_status to write (code, message ptr, size).
const STATUS_AT = 128;

/** A guest that opens one gRPC stream in proxy_on_configure (empty service = the VM's defaultCluster). */
function streamProbe(opts: { closeOnRemoteClose: boolean }): Uint8Array {
  const onClose: number[] = [...c(STATUS_AT), ...c(STATUS_AT + 4), ...c(STATUS_AT + 8), CALL, 2, DROP];
  if (opts.closeOnRemoteClose) onClose.push(0x20, 1, CALL, 1, DROP); // proxy_grpc_close(token)
  const funcs: BuiltFunc[] = [
    ...minimalFuncs(),
    // proxy_grpc_stream("", "", "", no metadata, token at 64)
    { export: "proxy_on_configure", sig: sig([i32, i32], [i32]), body: [...[0, 0, 0, 0, 0, 0, 0, 0].flatMap(c), ...c(64), CALL, 0, DROP, ...c(1)] },
    { export: "proxy_on_grpc_receive_initial_metadata", sig: sig(w3) },
    { export: "proxy_on_grpc_receive", sig: sig(w3) },
    { export: "proxy_on_grpc_receive_trailing_metadata", sig: sig(w3) },
    { export: "proxy_on_grpc_close", sig: sig(w3), body: onClose },
  ];
  return buildModule({
    imports: [
      { module: "env", name: "proxy_grpc_stream", sig: sig([i32, i32, i32, i32, i32, i32, i32, i32, i32], [i32]) }, // 0
      { module: "env", name: "proxy_grpc_close", sig: sig([i32], [i32]) }, // 1
      { module: "env", name: "proxy_get_status", sig: sig(w3, [i32]) }, // 2
    ],
    funcs,
  });
}

type Upstream = (stream: http2.ServerHttp2Stream) => void;

async function rawUpstream(behaviour: Upstream): Promise<{ address: string; close(): Promise<void> }> {
  const server = http2.createServer();
  server.on("stream", (stream) => {
    stream.on("error", () => {});
    behaviour(stream);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { address, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const frame = (s: string) => {
  const b = Buffer.from(s);
  const f = Buffer.alloc(5 + b.length);
  f.writeUInt32BE(b.length, 1);
  b.copy(f, 5);
  return f;
};

interface Probe {
  vm: WasmVm;
  calls: [string, number[]][];
  /** What proxy_get_status returned during proxy_on_grpc_close. */
  status(): { code: number; message: string };
}

async function probe(address: string, closeOnRemoteClose = true): Promise<Probe> {
  const calls: [string, number[]][] = [];
  const vm = await WasmVm.load(streamProbe({ closeOnRemoteClose }), {
    logger: quietLogger,
    defaultCluster: address,
    onGuestCall: (name, args) => {
      if (name.startsWith("proxy_on_grpc")) calls.push([name, args]);
    },
  });
  return {
    vm,
    calls,
    status() {
      const v = new DataView(vm.mem.view(STATUS_AT, 12)!.slice().buffer);
      const [code, ptr, size] = [v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true)];
      return { code, message: size ? vm.mem.str(ptr, size)! : "" };
    },
  };
}

const names = (p: Probe) => p.calls.map(([n]) => n.replace("proxy_on_grpc_", ""));
const closeCode = (p: Probe) => p.calls.find(([n]) => n === "proxy_on_grpc_close")?.[1][2];
const closed = (p: Probe) => waitFor(() => p.calls.some(([n]) => n === "proxy_on_grpc_close"), "proxy_on_grpc_close", 5000);

test("bridge: a message arrives without its 5-byte prefix; trailers, then close with grpc-status and the message in proxy_get_status", async () => {
  const up = await rawUpstream((s) => {
    s.respond({ ":status": 200, "content-type": "application/grpc", "x-initial": "1" }, { waitForTrailers: true });
    s.on("wantTrailers", () => s.sendTrailers({ "grpc-status": "5", "grpc-message": "not%20here" }));
    s.end(frame("hello"));
  });
  const p = await probe(up.address);
  try {
    await closed(p);
    assert.equal(names(p), ["receive_initial_metadata", "receive", "receive_trailing_metadata", "close"]);
    const [, receiveArgs] = p.calls[1]!;
    assert.is(receiveArgs[2], 5, "the guest gets 5 bytes (hello), not 10 with the gRPC prefix");
    assert.is(p.calls[2]![1][2], 2, "two trailers: grpc-status, grpc-message");
    assert.is(closeCode(p), 5);
    assert.equal(p.status(), { code: 5, message: "not here" });
  } finally {
    await p.vm.close();
    await up.close();
  }
});

test("bridge: trailing metadata is reported (empty) even when the stream is reset; after the response headers the reset is INTERNAL (13)", async () => {
  const up = await rawUpstream((s) => {
    s.respond({ ":status": 200, "content-type": "application/grpc" });
    setTimeout(() => s.close(http2.constants.NGHTTP2_INTERNAL_ERROR), 20);
  });
  const p = await probe(up.address);
  try {
    await closed(p);
    assert.equal(names(p), ["receive_initial_metadata", "receive_trailing_metadata", "close"]);
    assert.is(p.calls[1]![1][2], 0, "an empty trailing map");
    assert.is(closeCode(p), 13);
    assert.equal(p.status(), { code: 13, message: "" });
  } finally {
    await p.vm.close();
    await up.close();
  }
});

test("bridge: a reset before the response headers, or no connection at all, is UNAVAILABLE (14) with the router's text", async () => {
  for (const [code, reason] of [
    [http2.constants.NGHTTP2_INTERNAL_ERROR, "remote reset"],
    [http2.constants.NGHTTP2_REFUSED_STREAM, "remote refused stream reset"],
  ] as const) {
    const up = await rawUpstream((s) => s.close(code));
    const p = await probe(up.address);
    try {
      await closed(p);
      assert.equal(names(p), ["receive_trailing_metadata", "close"]);
      assert.is(closeCode(p), 14);
      assert.equal(p.status(), { code: 14, message: `${UPSTREAM_FAILURE_MESSAGE}${reason}` });
    } finally {
      await p.vm.close();
      await up.close();
    }
  }
  const nobody = await probe(`127.0.0.1:${await freePort()}`);
  try {
    await closed(nobody);
    assert.equal(names(nobody), ["receive_trailing_metadata", "close"]);
    assert.equal(nobody.status(), { code: 14, message: `${UPSTREAM_FAILURE_MESSAGE}connection failure` });
  } finally {
    await nobody.vm.close();
  }
});

test("bookkeeping: a plugin that closes its side on the remote close leaves no handler; one that forgets leaves a stale one, leaked at root deletion", async () => {
  const up = await rawUpstream((s) => {
    s.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "14" }, { endStream: true }); // trailers-only
  });
  const tidy = await probe(up.address, true);
  const forgetful = await probe(up.address, false);
  try {
    await closed(tidy);
    await closed(forgetful);
    assert.equal(names(tidy), ["receive_trailing_metadata", "close"], "trailers-only: no initial metadata");
    assert.is(closeCode(tidy), 14);
    assert.is(tidy.vm.grpcStreamCount, 0);
    assert.is(tidy.vm.grpcHandlerCount, 0, "Envoy erased the handler: the plugin had closed locally");
    assert.is(tidy.vm.staleGrpcHandlers, 0);
    assert.is(forgetful.vm.grpcStreamCount, 0);
    assert.is(forgetful.vm.grpcHandlerCount, 1, "Envoy keeps the handler of a stream the plugin never closed");
    assert.is(forgetful.vm.staleGrpcHandlers, 1);
  } finally {
    await tidy.vm.close();
    await forgetful.vm.close();
    await up.close();
  }
  assert.is(tidy.vm.leakedGrpcHandlers, 0);
  assert.is(forgetful.vm.leakedGrpcHandlers, 1, "the root context's destructor had to reset a stale stream");
});

test("bookkeeping, real filter: remote closes of the config stream (3 in a row) leave no stale handler; one handler while connected", async () => {
  const fake = await FakeControlPlane.start();
  const vm = await loadFilter(fake.address, { service: "frontend", namespace: "demo" });
  try {
    for (let round = 1; round <= 3; round++) {
      await waitFor(() => fake.streams === round && vm.grpcStreamCount === 1, `stream ${round} open`, 10_000);
      assert.is(vm.grpcHandlerCount, 1, `round ${round}: only the live stream has a handler`);
      fake.endStream();
      await waitFor(() => vm.grpcStreamCount === 0 || fake.streams > round, `remote close ${round} seen`, 10_000);
      assert.is(vm.staleGrpcHandlers, 0, `round ${round}: the filter closed its side in proxy_on_grpc_close`);
    }
    await waitFor(() => fake.streams === 4 && vm.grpcStreamCount === 1, "reconnected once more", 10_000);
    assert.is(vm.grpcHandlerCount, 1);
  } finally {
    await vm.close();
    await fake.close();
  }
  assert.is(vm.leakedGrpcHandlers, 0);
  assert.is(vm.grpcHandlerCount, 0);
});

const BODY = "amount=42&" + "x".repeat(64 * 1024);

test("a delayed POST: the body is held for the whole delay and goes upstream intact, with and without allow_on_headers_stop_iteration", async () => {
  const server = await startTestServer();
  const pc = new PolicyClient(server.grpcAddress);
  const w = { service: "payments", namespace: "demo" };
  const plain = await loadFilter(server.grpcAddress, w);
  const allowing = await loadFilter(server.grpcAddress, { ...w, pod: "allowing" }, { allowOnHeadersStopIteration: true });
  try {
    const delay = 200;
    await applyAndWait(
      pc,
      {
        metadata: { name: "pay-delay" },
        spec: { selector: { service: "payments" }, rules: [{ match: { path: { prefix: "/pay" } }, fault: { percentage: 100, delay: { fixedDelayMs: delay } } }] },
      },
      2,
    );
    for (const [name, vm] of [["default", plain], ["allow_on_headers_stop_iteration", allowing]] as const) {
      const r = await vm.request({ method: "POST", path: "/pay", body: BODY, headers: { "content-type": "application/x-www-form-urlencoded" } });
      assert.is(r.kind, "continued", name);
      assert.ok(r.pausedMs >= delay - 1.5, `${name}: headers held ${r.pausedMs} ms`);
      assert.ok(r.bodyReleasedMs! >= delay - 1.5, `${name}: body released after ${r.bodyReleasedMs} ms, before the ${delay} ms delay`);
      assert.is(Buffer.from(r.upstreamBody!).toString(), BODY, `${name}: the body upstream is the body sent`);
    }
  } finally {
    await closeAll(plain, allowing);
    pc.close();
    await server.close();
  }
});

test("host: with allow_on_headers_stop_iteration a headers-only pause is resumed by the first body chunk (what the filter must not rely on)", async () => {
  // proxy_on_request_headers → StopIteration, proxy_on_request_body → Continue, nothing ever continues the stream.
  const bytes = buildModule({
    funcs: [
      ...minimalFuncs(),
      { export: "proxy_on_request_headers", sig: sig(w3, [i32]), body: c(1) },
      { export: "proxy_on_request_body", sig: sig(w3, [i32]), body: c(0) },
    ],
  });
  const allowing = await WasmVm.load(bytes, { logger: quietLogger, allowOnHeadersStopIteration: true });
  const plain = await WasmVm.load(bytes, { logger: quietLogger });
  try {
    const r = await allowing.request({ method: "POST", path: "/", body: "abc" });
    assert.is(r.kind, "continued", "the body callback's Continue resumed the request");
    assert.is(Buffer.from(r.upstreamBody!).toString(), "abc");
    // Without it cpp-host turns StopIteration into stop-all: the body is only buffered and the request stays held.
    const ac = new AbortController();
    const held = plain.request({ method: "POST", path: "/", body: "abc", signal: ac.signal });
    const outcome = await Promise.race([held.then(() => "settled"), new Promise((r) => setTimeout(() => r("held"), 300))]);
    assert.is(outcome, "held");
    ac.abort();
    await held.catch(() => {});
  } finally {
    await closeAll(allowing, plain);
  }
});

test("list-valued properties are Envoy's pairs (element, empty value), not refused; through proxy_get_property too", async () => {
  const decoded = decodePairs(serializeProperty(["a", "bc"])!);
  assert.equal(decoded, [
    ["a", ""],
    ["bc", ""],
  ]);
  assert.equal(decodePairs(serializeProperty([])!), []);
  // Elements are serialized like any value (here a number: an 8-byte double).
  const numbers = serializeProperty([2])!;
  const dv = new DataView(numbers.buffer, numbers.byteOffset);
  assert.is(dv.getUint32(0, true), 1);
  assert.is(dv.getUint32(4, true), 8, "the key is the element: 8 bytes");
  assert.is(dv.getFloat64(12, true), 2);

  // A guest reads property "tags" (path bytes written by its own code) into 200/204, result code at 208.
  const TAGS = Buffer.from("tags").readInt32LE(0);
  const bytes = buildModule({
    imports: [{ module: "env", name: "proxy_get_property", sig: sig([i32, i32, i32, i32], [i32]) }],
    funcs: [
      ...minimalFuncs(),
      {
        export: "proxy_on_configure",
        sig: sig([i32, i32], [i32]),
        // store "tags" at 0; r = proxy_get_property(0, 4, 200, 204); store r at 208; return 1
        body: [...c(0), ...c(TAGS), 0x36, 2, 0, ...c(208), ...c(0), ...c(4), ...c(200), ...c(204), CALL, 0, 0x36, 2, 0, ...c(1)],
      },
    ],
  });
  const vm = await WasmVm.load(bytes, { logger: quietLogger, properties: { tags: ["canary", "v2"] } });
  try {
    const v = new DataView(vm.mem.view(200, 12)!.slice().buffer);
    assert.is(v.getUint32(8, true), 0, "proxy_get_property returned Ok");
    assert.equal(decodePairs(vm.mem.view(v.getUint32(0, true), v.getUint32(4, true))!), [
      ["canary", ""],
      ["v2", ""],
    ]);
  } finally {
    await vm.close();
  }
});

test.run();
