// ConfigStreams without gRPC: back-pressure keeps only the latest snapshot,
// a stream that never drains is closed, the global queue budget, one frame
// per snapshot version (shared by identity groups), sliced fan-outs, ACK
// matching by nonce.
import { EventEmitter } from "node:events";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { pino } from "pino";
import type { PolicyOut } from "../../proto/loader.ts";
import { createMetrics } from "../../server/metrics.ts";
import { normaliseIdentity } from "../../server/selector.ts";
import type { StoredPolicy } from "../../server/store/types.ts";
import { ConfigStreams, FANOUT_SLICE, type StreamSink } from "../../server/distribution/streams.ts";
import type { PolicyView, ViewChange } from "../../server/distribution/view.ts";
import { EMPTY_PAUSE } from "../../server/pause/state.ts";
import { FRAME_FRESH_MS } from "../../server/distribution/groups.ts";
import { methodDefinition } from "../../server/grpc/methods.ts";

const decode = methodDefinition("hfi.v1.ConfigDiscoveryService", "StreamConfig").responseDeserialize as (b: Buffer) => {
  version: string;
  nonce: string;
  policies: { name: string; version: number }[];
};

function stored(name: string, version: number, service = ""): StoredPolicy {
  const policy = {
    metadata: { name, labels: {}, version, createdAtUnixMs: 1, updatedAtUnixMs: 2, expiresAtUnixMs: 0 },
    spec: { selector: { service, namespace: "", labels: {} }, priority: 0, rules: [{ match: null, fault: { percentage: 1, delayMs: 0, delay: { fixedDelayMs: 5 }, abort: null, startDelayMs: 0, durationSeconds: 0 } }] },
  } as unknown as PolicyOut;
  return { policy, version };
}

class FakeView extends EventEmitter {
  policies = new Map<string, StoredPolicy>();
  pause = EMPTY_PAUSE;
  put(p: StoredPolicy) {
    this.policies.set(p.policy.metadata!.name, p);
    this.emit("change", { revision: p.version, put: [p], deleted: [], receivedAt: performance.now() } satisfies ViewChange);
  }
}

const GRPC_HEADER = 5;

class FakeSink extends EventEmitter implements StreamSink {
  writes: Buffer[] = [];
  writableNeedDrain = false;
  writableLength = 0;
  /** Set: every write backs the sink up (a peer that stopped reading). */
  stuck = false;
  closedWith: { code: number; details: string } | undefined;
  write(b: Buffer) {
    this.writes.push(b);
    if (this.stuck) {
      this.writableNeedDrain = true;
      this.writableLength += b.length;
      return false;
    }
    return true;
  }
  close(code: number, details: string) {
    this.closedWith = { code, details };
  }
  unstick() {
    this.stuck = false;
    this.writableNeedDrain = false;
    this.writableLength = 0;
    this.emit("drain");
  }
  get decoded() {
    return this.writes.map((w) => {
      assert.is(w.readUInt32BE(1), w.length - GRPC_HEADER, "one whole gRPC frame per write");
      return decode(w.subarray(GRPC_HEADER));
    });
  }
}

function setup(opts: { drainTimeoutMs?: number; queueBudgetBytes?: number } = {}) {
  const view = new FakeView();
  const metrics = createMetrics();
  const streams = new ConfigStreams({ view: view as unknown as PolicyView, logger: pino({ level: "silent" }), metrics, ...opts });
  return { view, streams, metrics };
}

const tick = () => new Promise((r) => setImmediate(r));

test("a backed-up stream gets only the latest snapshot when it drains", () => {
  const { view, streams } = setup();
  const sink = new FakeSink();
  streams.add(normaliseIdentity({ service: "web" }), sink);
  assert.is(sink.writes.length, 1);
  sink.writableNeedDrain = true;
  view.put(stored("a", 2));
  view.put(stored("b", 3));
  assert.is(sink.writes.length, 1, "nothing written while backed up");
  sink.writableNeedDrain = false;
  sink.emit("drain");
  assert.equal(sink.decoded.map((s) => s.policies.map((p) => p.name)), [[], ["a", "b"]]);
  view.put(stored("c", 4));
  assert.equal(sink.decoded[2]!.policies.map((p) => p.name), ["a", "b", "c"]);
  streams.close();
});

test("streams of one identity share a group; others are not pushed unrelated changes", () => {
  const { view, streams } = setup();
  const web = [new FakeSink(), new FakeSink()];
  const api = new FakeSink();
  web.forEach((s, i) => streams.add(normaliseIdentity({ service: "web", proxyId: `w${i}` }), s));
  streams.add(normaliseIdentity({ service: "api" }), api);
  assert.is(streams.groups.size, 2);
  view.put(stored("web-only", 2, "web"));
  assert.equal(web.map((s) => s.writes.length), [2, 2]);
  assert.is(api.writes.length, 1);
  const [a, b] = web.map((s) => s.decoded[1]!);
  assert.is(a!.version, b!.version);
  // Encoded and framed once for the group: both streams were written the very same bytes.
  assert.ok(web[0]!.writes[1] === web[1]!.writes[1], "one shared frame per group and version");
  assert.is(a!.nonce, b!.nonce);
  streams.close();
});

test("ACKs count only for a nonce this stream was sent with that version", () => {
  const { view, streams } = setup();
  const sink = new FakeSink();
  const s = streams.add(normaliseIdentity({ service: "web" }), sink);
  view.put(stored("a", 2));
  const [first, second] = sink.decoded;
  s.ack(second!.version, "not-a-nonce");
  assert.is(s.acked, undefined);
  s.ack(first!.version, second!.nonce);
  assert.is(s.acked, undefined, "version must match the nonce's push");
  s.ack(second!.version, second!.nonce);
  assert.is(s.acked?.version, second!.version);
  assert.equal([...s.acked!.policies], [["a", 2]]);
  s.nack(second!.version, second!.nonce, "boom");
  assert.is(s.nacked?.error, "boom");
  streams.close();
});

test("the stream gauges count streams by the version last sent and its state, over groups sharing a record", async () => {
  const { view, streams, metrics } = setup();
  const web = [0, 1, 2, 3].map(() => new FakeSink());
  const api = [0, 1].map(() => new FakeSink());
  const ws = web.map((k) => streams.add(normaliseIdentity({ service: "web" }), k));
  const as = api.map((k) => streams.add(normaliseIdentity({ service: "api" }), k));
  const v0 = ws[0]!.sent!.version;
  assert.is(as[0]!.sent!.version, v0, "both groups hold the empty snapshot's record");
  view.put(stored("a", 2, "web"));
  while (streams.fanningOut) await tick();
  const v1 = ws[0]!.sent!.version;
  ws[0]!.ack(v1, ws[0]!.sentNonce);
  ws[1]!.ack(v1, ws[1]!.sentNonce);
  ws[2]!.nack(v1, ws[2]!.sentNonce, "bad");
  as[0]!.ack(v0, as[0]!.sentNonce);
  const byState = Object.fromEntries(metrics.streamsByState());
  assert.equal(byState, { [`acked ${v1}`]: 2, [`nacked ${v1}`]: 1, [`pending ${v1}`]: 1, [`acked ${v0}`]: 1, [`pending ${v0}`]: 1 });
  assert.equal(Object.fromEntries(metrics.streamsByVersion()), { [v1]: 4, [v0]: 2 });
  streams.close();
});

test("a stream that never drains is closed with RESOURCE_EXHAUSTED after the drain timeout", async () => {
  const { view, streams } = setup({ drainTimeoutMs: 50 });
  const sink = new FakeSink();
  streams.add(normaliseIdentity({ service: "web" }), sink);
  sink.stuck = true;
  view.put(stored("a", 2));
  for (let i = 3; i < 40; i++) view.put(stored(`p${i}`, i));
  assert.is(sink.writes.length, 2, "one write backs it up; later snapshots are held, not queued");
  assert.ok(streams.queuedBytes > 0);
  await new Promise((r) => setTimeout(r, 120));
  assert.is(sink.closedWith?.code, 8);
  assert.match(sink.closedWith!.details, /did not drain within 50 ms/);
  assert.is(streams.streamCount, 0);
  assert.is(streams.queuedBytes, 0, "its queue no longer counts against the budget");
  assert.is(streams.stats.stalledClosed, 1);
  streams.close();
});

test("a stream that drains in time is not closed and gets only the newest held snapshot", async () => {
  const { view, streams } = setup({ drainTimeoutMs: 200 });
  const sink = new FakeSink();
  streams.add(normaliseIdentity({ service: "web" }), sink);
  sink.stuck = true;
  view.put(stored("a", 2));
  view.put(stored("b", 3));
  view.put(stored("c", 4));
  await new Promise((r) => setTimeout(r, 20));
  sink.unstick();
  assert.equal(sink.decoded.map((s) => s.policies.map((p) => p.name)), [[], ["a"], ["a", "b", "c"]]);
  await new Promise((r) => setTimeout(r, 250));
  assert.is(sink.closedWith, undefined);
  streams.close();
});

test("over the global queue budget, streams that still read wait for backed-up ones to drain", async () => {
  const { view, streams } = setup({ queueBudgetBytes: 1, drainTimeoutMs: 10_000 });
  const slow = new FakeSink();
  const fast = new FakeSink();
  streams.add(normaliseIdentity({ service: "web", proxyId: "slow" }), slow);
  streams.add(normaliseIdentity({ service: "web", proxyId: "fast" }), fast);
  slow.stuck = true;
  view.put(stored("a", 2));
  assert.is(slow.writes.length, 2);
  assert.is(fast.writes.length, 1, "budget exceeded: the write waits");
  view.put(stored("b", 3));
  assert.is(fast.writes.length, 1);
  slow.unstick();
  assert.equal(fast.decoded.map((s) => s.policies.map((p) => p.name)), [[], ["a", "b"]], "the newest snapshot once the budget frees up");
  streams.close();
});

test("a large fan-out is written in slices, yielding to the event loop between them", async () => {
  const { view, streams } = setup();
  const sinks = Array.from({ length: FANOUT_SLICE * 3 + 5 }, () => new FakeSink());
  sinks.forEach((s, i) => streams.add(normaliseIdentity({ service: "web", proxyId: `p${i}` }), s));
  view.put(stored("a", 2));
  const written = () => sinks.filter((s) => s.writes.length === 2).length;
  assert.is(written(), FANOUT_SLICE, "first slice at once");
  assert.ok(streams.fanningOut);
  // A second change mid fan-out: every stream ends on the newest snapshot, none gets it twice.
  await tick();
  view.put(stored("b", 3));
  for (let i = 0; i < 10 && streams.fanningOut; i++) await tick();
  assert.not.ok(streams.fanningOut);
  for (const s of sinks) {
    const names = s.decoded.map((d) => d.policies.map((p) => p.name).join());
    assert.is(names[names.length - 1], "a,b");
    assert.is(new Set(names).size, names.length, "no snapshot written twice to one stream");
  }
  streams.close();
});

test("a new stream gets a re-framed snapshot (new nonce, fresh server time) once the frame is older than 1 s", () => {
  const { streams } = setup();
  const first = new FakeSink();
  streams.add(normaliseIdentity({ service: "web" }), first);
  const group = [...streams.groups.values()][0]!;
  const old = group.current;
  assert.ok(group.forNewStream(old.builtAtMs + FRAME_FRESH_MS) === old, "fresh enough: the same frame");
  const later = old.builtAtMs + FRAME_FRESH_MS + 1;
  const next = group.forNewStream(later);
  assert.is(next.version, old.version);
  assert.is.not(next.nonce, old.nonce);
  assert.is(old.frame, undefined, "the superseded frame is released");
  const decoded = decode(next.frame!.subarray(GRPC_HEADER)) as unknown as { serverTimeUnixMs: number | string; nonce: string };
  assert.is(Number(decoded.serverTimeUnixMs), later);
  assert.is(decoded.nonce, next.nonce);
  streams.close();
});

test("groups with the same content share one frame; a group's own content gets its own; the last group out drops it", () => {
  const { view, streams } = setup();
  const web = new FakeSink();
  const api = new FakeSink();
  const db = new FakeSink();
  view.put(stored("all", 1));
  streams.add(normaliseIdentity({ service: "web", proxyId: "w" }), web);
  streams.add(normaliseIdentity({ service: "api", proxyId: "a" }), api);
  const dbStream = streams.add(normaliseIdentity({ service: "db", proxyId: "d" }), db);
  assert.is(streams.groups.size, 3);
  assert.ok(web.writes[0] === api.writes[0] && api.writes[0] === db.writes[0], "one Buffer for the three groups");
  view.put(stored("all", 2));
  assert.ok(web.writes[1] === db.writes[1], "a change reaching every group: framed once");
  assert.is(streams.records.size, 1);
  view.put(stored("web-only", 3, "web"));
  assert.is(web.decoded[2]!.policies.map((p) => p.name).join(), "all,web-only");
  assert.is(api.writes.length, 2, "api's content did not change");
  assert.is(streams.records.size, 2);
  const shared = dbStream.sent!;
  streams.remove(dbStream);
  assert.ok(shared.frame, "api still holds it");
  const apiStream = [...streams.streams()].find((s) => s.identity.service === "api")!;
  streams.remove(apiStream);
  assert.is(shared.frame, undefined, "no group holds it: released");
  assert.is(streams.records.size, 1);
  // ACKs resolve by the shared record's nonce.
  const w = [...streams.streams()][0]!;
  w.ack(w.sent!.version, w.sent!.nonce);
  assert.ok(w.acked === w.sent);
  streams.close();
});

test("a group back on content another group still holds gets a new record: no stream sees a nonce twice", () => {
  const { view, streams } = setup();
  const web = new FakeSink();
  const api = new FakeSink();
  view.put(stored("all", 1));
  streams.add(normaliseIdentity({ service: "web", proxyId: "w" }), web);
  streams.add(normaliseIdentity({ service: "api", proxyId: "a" }), api);
  view.put(stored("all", 2));
  view.put(stored("extra", 3, "web"));
  view.put(stored("extra", 4, "nobody")); // web is back on api's content (all v2)
  const webSnaps = web.decoded;
  assert.equal(webSnaps.map((d) => d.policies.map((p) => p.name).join()), ["all", "all", "all,extra", "all"]);
  assert.is(webSnaps[3]!.version, webSnaps[1]!.version);
  assert.is(new Set(webSnaps.map((d) => d.nonce)).size, webSnaps.length, "every push to web has its own nonce");
  assert.is.not(webSnaps[3]!.nonce, api.decoded[1]!.nonce, "not api's record from an earlier change");
  streams.close();
});

test.run();
