// Malformed and fuzzed config streams: a fake control plane (real grpc-js
// server) sends arbitrary bytes and fast-check snapshots to the real filter
// in the host. Every message gets an ACK or a NACK, the VM never traps, and
// after a NACK the last good config still applies.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import type { WasmVm } from "../../filter/host/vm.ts";
import type { ConfigSnapshot, Rule } from "../../proto/loader.ts";
import { FakeControlPlane, encodeSnapshot } from "./fake-control-plane.ts";
import { closeAll, loadFilter, waitFor } from "./helpers.ts";

let fake: FakeControlPlane;
let vm: WasmVm;
let nonce = 0;

const goodRule: Rule = { match: { path: { prefix: "/fz" } }, fault: { percentage: 100, abort: { httpStatus: 503, body: "good" } } };
function good(): ConfigSnapshot {
  return {
    version: "good-1",
    nonce: `n${++nonce}`,
    serverTimeUnixMs: Date.now(),
    policies: [{ name: "good", rules: [goodRule], appliedAtUnixMs: Date.now(), version: 1 }],
  };
}

async function goodStillApplies(): Promise<void> {
  const r = await vm.request({ path: "/fz/x" });
  assert.is(r.status, 503, "last good config must still apply");
  assert.is(r.body, "good");
}

async function restoreGood(): Promise<void> {
  const s = good();
  const reply = await fake.exchange(encodeSnapshot(s));
  assert.ok(reply.ack, `good snapshot must be ACKed, got ${JSON.stringify(reply)}`);
  assert.is(reply.ack!.nonce, s.nonce);
}

/** Sends bytes; asserts ACK/NACK, no trap; keeps the good config in force afterwards. */
async function probe(bytes: Uint8Array): Promise<"ack" | "nack"> {
  const reply = await fake.exchange(bytes);
  assert.is(vm.failure, undefined, "the VM must not trap");
  assert.ok(reply.ack || reply.nack, `expected ACK or NACK, got ${JSON.stringify(reply)}`);
  if (reply.nack) {
    assert.ok(reply.nack.error.length > 0, "a NACK says why");
    await goodStillApplies();
    return "nack";
  }
  await restoreGood();
  await goodStillApplies();
  return "ack";
}

test.before(async () => {
  fake = await FakeControlPlane.start();
  vm = await loadFilter(fake.address, { service: "frontend", namespace: "demo" });
  await fake.waitStream();
});

test.after(async () => {
  await closeAll(vm, fake);
});

test("the filter subscribes with its identity over the real gRPC stream", () => {
  const sub = fake.requests[0]!.subscribe!;
  assert.ok(sub, "first message is a Subscribe");
  assert.is(sub.identity!.service, "frontend");
  assert.is(sub.identity!.namespace, "demo");
  assert.is(sub.identity!.pod, "frontend-local");
  assert.ok(sub.identity!.proxyId.startsWith("sidecar~127.0.0.1~frontend-local.demo~demo.svc.cluster.local"));
  assert.is(sub.identity!.labels.app, "frontend");
});

test("a good snapshot is ACKed with its version and nonce and takes effect", async () => {
  await restoreGood();
  await goodStillApplies();
  assert.is((await vm.request({ path: "/elsewhere" })).status, 200);
});

test("malformed bytes are NACKed and the last good config is kept", async () => {
  const samples = [
    Uint8Array.of(0xff, 0xff, 0xff, 0xff),
    Uint8Array.of(0x0a, 0x80), // truncated length
    Uint8Array.of(0x1a, 0x05, 0x0a), // policy claims 5 bytes, has 1
    Uint8Array.of(0x1a, 0x03, 0x12, 0x7f, 0x00), // rule with an absurd length
    new TextEncoder().encode("definitely not protobuf"),
  ];
  for (const s of samples) assert.is(await probe(s), "nack", `bytes ${Buffer.from(s).toString("hex")}`);
  assert.ok(vm.metrics()["wasmcustom.hfi_config_nacks_total"]! >= samples.length);
});

test("random bytes: ACK or NACK, never a trap (fast-check)", async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
      await probe(bytes);
    }),
    { numRuns: 60 },
  );
});

test("mutated and truncated encodings of a valid snapshot (fast-check)", async () => {
  const base = encodeSnapshot(good());
  const mutation = fc.record({
    flips: fc.array(fc.record({ at: fc.nat({ max: base.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 }),
    cut: fc.option(fc.nat({ max: base.length - 1 }), { nil: undefined }),
  });
  await fc.assert(
    fc.asyncProperty(mutation, async ({ flips, cut }) => {
      const b = Uint8Array.from(base);
      for (const f of flips) b[f.at] = f.value;
      await probe(cut === undefined ? b : b.subarray(0, Math.max(1, cut)));
    }),
    { numRuns: 60 },
  );
});

const stringMatch = fc.oneof(
  fc.record({ exact: fc.string({ maxLength: 12 }) }),
  fc.record({ prefix: fc.string({ maxLength: 12 }) }),
  fc.record({ regex: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom("(", "a{3,1}", "[z-a]", "(?=x)", "\\1", "a**", "^/x[0-9]+$")) }),
);
const fuzzRule = fc.record({
  match: fc.option(
    fc.record({
      method: fc.option(stringMatch, { nil: undefined }),
      path: fc.option(stringMatch, { nil: undefined }),
      headers: fc.array(fc.record({ name: fc.string({ maxLength: 8 }), prefix: fc.string({ maxLength: 5 }) }), { maxLength: 20 }),
    }),
    { nil: undefined },
  ),
  fault: fc.record({
    percentage: fc.oneof(fc.double({ noNaN: false }), fc.integer({ min: -5, max: 105 })),
    delay: fc.option(fc.record({ fixedDelayMs: fc.nat() }), { nil: undefined }),
    abort: fc.option(
      fc.record({ httpStatus: fc.nat({ max: 1000 }), body: fc.string({ maxLength: 50 }), grpcStatus: fc.nat({ max: 40 }) }),
      { nil: undefined },
    ),
    startDelayMs: fc.nat(),
    durationSeconds: fc.nat(),
  }),
});

test("structurally fuzzed snapshots (odd values, bad regexes, many rules): ACK or NACK, never a trap", async () => {
  const snapshot = fc.record({
    version: fc.string({ maxLength: 20 }),
    nonce: fc.string({ maxLength: 10 }),
    serverTimeUnixMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 52 })),
    policies: fc.array(
      fc.record({ name: fc.string({ maxLength: 20 }), rules: fc.array(fuzzRule, { maxLength: 40 }), appliedAtUnixMs: fc.nat(), version: fc.nat() }),
      { maxLength: 4 },
    ),
  });
  await fc.assert(
    fc.asyncProperty(snapshot, async (s) => {
      await probe(encodeSnapshot(s as ConfigSnapshot));
    }),
    { numRuns: 60 },
  );
  assert.is(vm.stats.crashes, 0);
});

test("stream ended by the control plane: the filter reconnects and resubscribes with its last version", async () => {
  const streams = fake.streams;
  const before = fake.requests.length;
  fake.endStream();
  await waitFor(() => fake.streams > streams && fake.requests.length > before, "reconnect", 10_000);
  const sub = fake.requests[before]!.subscribe!;
  assert.ok(sub, "resubscribes");
  assert.is(sub.lastVersion, "good-1");
  await goodStillApplies();
  await fake.waitStream();
  await restoreGood();
});

test.run();
