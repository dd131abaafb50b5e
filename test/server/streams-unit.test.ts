// ConfigStreams without gRPC: back-pressure keeps only the latest snapshot,
// identity grouping, ACK matching by nonce, view resets.
import { EventEmitter } from "node:events";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { pino } from "pino";
import type { PolicyOut } from "../../proto/loader.ts";
import { createMetrics } from "../../server/metrics.ts";
import { normaliseIdentity } from "../../server/selector.ts";
import type { StoredPolicy } from "../../server/store/types.ts";
import { ConfigStreams, type StreamSink } from "../../server/streams.ts";
import type { PolicyView, ViewChange } from "../../server/view.ts";
import { methodDefinition } from "../../server/wire.ts";

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
  put(p: StoredPolicy) {
    this.policies.set(p.policy.metadata!.name, p);
    this.emit("change", { revision: p.version, put: [p], deleted: [], receivedAt: performance.now() } satisfies ViewChange);
  }
}

class FakeSink extends EventEmitter implements StreamSink {
  writes: Buffer[] = [];
  writableNeedDrain = false;
  write(b: Buffer) {
    this.writes.push(b);
    return true;
  }
  get decoded() {
    return this.writes.map(decode);
  }
}

function setup() {
  const view = new FakeView();
  const streams = new ConfigStreams({ view: view as unknown as PolicyView, logger: pino({ level: "silent" }), metrics: createMetrics() });
  return { view, streams };
}

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
  assert.is.not(a!.nonce, b!.nonce);
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

test.run();
