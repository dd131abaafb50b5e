// StreamConfig over real gRPC (embedded store): selection per identity,
// ordering, versions, no push when an identity's set is unchanged, ACK/NACK in
// status, protocol errors, stream auth and shutdown; a stream that never reads
// is closed with RESOURCE_EXHAUSTED while the others keep converging.
import http2 from "node:http2";
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import type { ConfigSnapshotOut, Policy } from "../../proto/loader.ts";
import { PolicyClient, TestSubscriber, startTestServer, waitFor } from "../support/server.ts";
import { methodDefinition } from "../../server/grpc/methods.ts";

const names = (s: ConfigSnapshotOut) => s.policies.map((p) => p.name);

function policy(name: string, selector: Policy["spec"] extends infer S ? S extends { selector?: infer T } ? T : never : never, priority = 0, pct = 10): Policy {
  return { metadata: { name }, spec: { selector, priority, rules: [{ fault: { percentage: pct, abort: { httpStatus: 503 } } }] } };
}

test("each identity gets exactly the policies its selector semantics give, in priority order", async () => {
  const s = await startTestServer();
  const c = new PolicyClient(s.grpcAddress);
  const subs: TestSubscriber[] = [];
  try {
    await c.apply({ policy: policy("all", {}) });
    await c.apply({ policy: policy("star", { service: "*", namespace: "*" }, 5) });
    await c.apply({ policy: policy("web-only", { service: "web" }, 10) });
    await c.apply({ policy: policy("prod-ns", { namespace: "prod" }) });
    await c.apply({ policy: policy("canary", { service: "web", labels: { track: "canary" } }, 10) });
    const web = new TestSubscriber(s.grpcAddress, { service: "web", namespace: "prod", proxyId: "web-1", labels: { track: "canary" } });
    const webDev = new TestSubscriber(s.grpcAddress, { service: "web", namespace: "dev", proxyId: "web-2" });
    const api = new TestSubscriber(s.grpcAddress, { service: "api", namespace: "prod", proxyId: "api-1" });
    const unknown = new TestSubscriber(s.grpcAddress, { namespace: "prod", proxyId: "u-1", labels: { track: "canary" } });
    subs.push(web, webDev, api, unknown);
    await Promise.all(subs.map((x) => x.waitFor(() => true)));
    // priority desc, then name
    assert.equal(web.names, ["canary", "web-only", "star", "all", "prod-ns"]);
    assert.equal(webDev.names, ["web-only", "star", "all"]);
    assert.equal(api.names, ["star", "all", "prod-ns"]);
    assert.equal(unknown.names, ["star", "all", "prod-ns"]);
    // Same set → same version; snapshot policies carry name, version, applied_at.
    assert.is(api.latest!.version, unknown.latest!.version);
    assert.is.not(api.latest!.version, web.latest!.version);
    const p = web.latest!.policies[0]!;
    const stored = (await c.get("canary")).policy!;
    assert.is(p.version, stored.metadata!.version);
    assert.is(p.appliedAtUnixMs, stored.metadata!.updatedAtUnixMs);
    assert.is(p.rules[0]!.fault!.abort!.httpStatus, 503);
    assert.match(web.latest!.version, /^[0-9a-f]{16}$/);
  } finally {
    subs.forEach((x) => x.close());
    c.close();
    await s.close();
  }
});

test("a change that does not alter an identity's set is not pushed to it", async () => {
  const s = await startTestServer();
  const c = new PolicyClient(s.grpcAddress);
  const web = new TestSubscriber(s.grpcAddress, { service: "web", namespace: "prod", proxyId: "web-1" });
  const api = new TestSubscriber(s.grpcAddress, { service: "api", namespace: "prod", proxyId: "api-1" });
  try {
    await web.waitFor(() => true, "initial");
    await api.waitFor(() => true, "initial");
    const apiCount = api.snapshots.length;
    await c.apply({ policy: policy("web-a", { service: "web" }) });
    await web.waitFor((x) => x.policies.length === 1, "web-a");
    await c.apply({ policy: policy("web-a", { service: "web" }, 0, 20) });
    await web.waitFor((x) => x.policies[0]?.rules[0]?.fault?.percentage === 20, "web-a at 20%");
    await c.delete("web-a");
    await web.waitFor((x) => x.policies.length === 0, "web-a deleted");
    // Then a change only api sees, then one both see: pushes are in order per
    // stream, so had web been sent api-a it would arrive before "both".
    await c.apply({ policy: policy("api-a", { service: "api" }) });
    await c.apply({ policy: policy("both", {}) });
    await web.waitFor((x) => names(x).includes("both"), "both on web");
    await api.waitFor((x) => names(x).includes("both"), "both on api");
    assert.is(api.snapshots.length, apiCount + 2, "api got only the changes that concern it");
    assert.equal(web.snapshots.map((x) => names(x).join(",")), ["", "web-a", "web-a", "", "both"]);
    // Re-applying identical content writes nothing and pushes nothing.
    const r = await c.apply({ policy: policy("both", {}) });
    assert.is(r.result, "APPLY_RESULT_UNCHANGED");
    await c.apply({ policy: policy("zz-last", {}) });
    await web.waitFor((x) => names(x).includes("zz-last"), "zz-last on web");
    assert.equal(web.snapshots.slice(4).map((x) => names(x).join(",")), ["both", "both,zz-last"]);
    // Nonces are unique per push on each stream (groups with the same content share a frame and its nonce).
    for (const sub of [web, api]) assert.is(new Set(sub.snapshots.map((x) => x.nonce)).size, sub.snapshots.length);
  } finally {
    web.close();
    api.close();
    c.close();
    await s.close();
  }
});

test("ACKs and NACKs show up in policy and proxy status", async () => {
  const s = await startTestServer();
  const c = new PolicyClient(s.grpcAddress);
  const good = new TestSubscriber(s.grpcAddress, { service: "web", namespace: "prod", proxyId: "good" });
  const bad = new TestSubscriber(s.grpcAddress, { service: "web", namespace: "prod", proxyId: "bad" }, {
    nack: (snap) => (snap.policies.length ? "cannot compile rule 0" : undefined),
  });
  const silent = new TestSubscriber(s.grpcAddress, { service: "web", namespace: "prod", proxyId: "silent" }, { silent: true });
  const other = new TestSubscriber(s.grpcAddress, { service: "api", namespace: "prod", proxyId: "other" });
  try {
    await Promise.all([good, bad, silent, other].map((x) => x.waitFor(() => true)));
    const applied = await c.apply({ policy: { ...policy("p1", { service: "web" }), metadata: { name: "p1" } } });
    await waitFor(async () => {
      const st = (await c.status("p1")).policies[0]!;
      return st.acked.length === 1 && st.nacked.length === 1;
    }, "ack + nack");
    const res = await c.status("p1");
    const st = res.policies[0]!;
    assert.is(st.name, "p1");
    assert.is(st.version, applied.policy!.metadata!.version);
    assert.is(st.targetedProxies, 3);
    assert.is(st.ruleCount, 1);
    assert.equal(st.faultTypes, ["abort"]);
    assert.is(st.target!.service, "web");
    assert.equal(st.acked.map((r) => r.identity!.proxyId), ["good"]);
    assert.equal(st.nacked.map((r) => [r.identity!.proxyId, r.error]), [["bad", "cannot compile rule 0"]]);
    assert.equal(st.pending.map((r) => r.identity!.proxyId), ["silent"]);
    const proxies = Object.fromEntries(res.proxies.map((p) => [p.identity!.proxyId, p]));
    assert.equal(Object.keys(proxies).sort(), ["bad", "good", "other", "silent"]);
    assert.is(proxies.bad!.nackError, "cannot compile rule 0");
    assert.is(proxies.bad!.nackedVersion, bad.latest!.version);
    assert.is(proxies.good!.ackedVersion, good.latest!.version);
    assert.equal(proxies.good!.policies, ["p1"]);
    assert.is(proxies.silent!.ackedVersion, "");
    assert.is(proxies.silent!.sentVersion, good.latest!.version);
    assert.ok(proxies.good!.connectedAtUnixMs > 0);
    // REST serves the same report.
    const rest = (await (await fetch(`${s.baseUrl}/v1/policies/status?name=p1`)).json()) as { policies: { acked: unknown[] }[] };
    assert.is(rest.policies[0]!.acked.length, 1);
    // Unknown name → NOT_FOUND.
    const err = await c.status("nope").catch((e: grpc.ServiceError) => e);
    assert.is((err as grpc.ServiceError).code, grpc.status.NOT_FOUND);
    // Metrics count ACKs and NACKs and streams by version.
    const metrics = await (await fetch(`${s.baseUrl}/metrics`)).text();
    assert.match(metrics, /hfi_nacks_total [1-9]/);
    assert.match(metrics, /hfi_acks_total [1-9]/);
    assert.match(metrics, new RegExp(`hfi_config_streams\\{version="${good.latest!.version}"\\} 3`));
  } finally {
    [good, bad, silent, other].forEach((x) => x.close());
    c.close();
    await s.close();
  }
});

test("the first message must be subscribe", async () => {
  const s = await startTestServer();
  const sub = new TestSubscriber(s.grpcAddress, { service: "web" }, { first: { ack: { version: "x", nonce: "y" } } });
  try {
    const st = await sub.waitEnded();
    assert.is(st.code, grpc.status.INVALID_ARGUMENT);
    assert.match(st.details, /first message must be subscribe/);
    assert.is(sub.snapshots.length, 0);
  } finally {
    sub.close();
    await s.close();
  }
});

test("stream token: required when configured, via Subscribe.token or bearer metadata", async () => {
  const s = await startTestServer({ streamToken: "s3cret" });
  const none = new TestSubscriber(s.grpcAddress, { service: "web", proxyId: "none" });
  const wrong = new TestSubscriber(s.grpcAddress, { service: "web", proxyId: "wrong" }, { token: "nope" });
  const inBody = new TestSubscriber(s.grpcAddress, { service: "web", proxyId: "body" }, { token: "s3cret" });
  const inMeta = new TestSubscriber(s.grpcAddress, { service: "web", proxyId: "meta" }, { bearer: "s3cret" });
  try {
    assert.is((await none.waitEnded()).code, grpc.status.UNAUTHENTICATED);
    assert.is((await wrong.waitEnded()).code, grpc.status.UNAUTHENTICATED);
    await inBody.waitFor(() => true);
    await inMeta.waitFor(() => true);
    assert.is(inBody.status, undefined);
  } finally {
    [none, wrong, inBody, inMeta].forEach((x) => x.close());
    await s.close();
  }
});

test("shutdown ends config streams with UNAVAILABLE 'server shutting down'", async () => {
  const s = await startTestServer();
  const subs = [1, 2, 3].map((i) => new TestSubscriber(s.grpcAddress, { service: "web", proxyId: `p${i}` }));
  try {
    await Promise.all(subs.map((x) => x.waitFor(() => true)));
    await s.close();
    for (const x of subs) {
      const st = await x.waitEnded();
      assert.is(st.code, grpc.status.UNAVAILABLE);
      assert.is(st.details, "server shutting down");
    }
  } finally {
    subs.forEach((x) => x.close());
    await s.close();
  }
});

test("many streams of one identity share one selection and all get the change", async () => {
  const s = await startTestServer();
  const c = new PolicyClient(s.grpcAddress);
  const subs = Array.from({ length: 200 }, (_, i) => new TestSubscriber(s.grpcAddress, { service: "web", namespace: "prod", proxyId: `p${i}` }));
  try {
    await waitFor(() => subs.every((x) => x.latest), "all initial snapshots", 20_000);
    assert.is(s.streams.groups.size, 1, "one identity group");
    await c.apply({ policy: policy("x", { service: "web" }) });
    await waitFor(() => subs.every((x) => x.names.length === 1), "all got x", 20_000);
    assert.is(new Set(subs.map((x) => x.latest!.version)).size, 1);
  } finally {
    subs.forEach((x) => x.close());
    c.close();
    await s.close();
  }
});

/** ~57 KB encoded: 14 rules with a 4 KiB abort body each. */
function bigPolicy(name: string, k: number): Policy {
  const body = `${k}`.padEnd(4096, "x");
  return {
    metadata: { name },
    spec: { selector: {}, rules: Array.from({ length: 14 }, (_, i) => ({ fault: { percentage: 1 + i, abort: { httpStatus: 503, body } } })) },
  };
}

test("a stream that never reads is closed with RESOURCE_EXHAUSTED after the drain timeout; others are unaffected", async () => {
  const s = await startTestServer({ streamDrainTimeoutMs: 800 });
  const c = new PolicyClient(s.grpcAddress);
  const reader = new TestSubscriber(s.grpcAddress, { service: "web", proxyId: "reads" });
  // A raw HTTP/2 client that subscribes and then never reads its stream: flow control stops the server.
  const session = http2.connect(`http://${s.grpcAddress}`);
  try {
    for (let k = 0; k < 4; k++) await c.apply({ policy: bigPolicy(`big-${k}`, 0) });
    const serialize = methodDefinition("hfi.v1.ConfigDiscoveryService", "StreamConfig").requestSerialize;
    const msg = serialize({ subscribe: { identity: { service: "web", proxyId: "stuck" }, token: "" } });
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), msg]);
    frame.writeUInt32BE(msg.length, 1);
    const req = session.request({ ":method": "POST", ":path": "/hfi.v1.ConfigDiscoveryService/StreamConfig", "content-type": "application/grpc", te: "trailers" });
    let trailers: http2.IncomingHttpHeaders | undefined;
    req.on("trailers", (t) => (trailers = t));
    req.write(frame);
    await waitFor(() => s.streams.streamCount === 2, "both streams registered");
    // Changes keep coming; the stuck stream holds at most one of them, never a queue.
    for (let k = 1; k <= 6; k++) await c.apply({ policy: bigPolicy(`big-${k % 4}`, k) });
    await reader.waitFor((x) => x.policies.find((p) => p.name === "big-2")?.rules[0]?.fault?.abort?.body.startsWith("6") ?? false, "reader converged");
    assert.ok(s.streams.queuedBytes > 0 && s.streams.queuedBytes < 2 * 300_000, `queued ${s.streams.queuedBytes} bytes: one backed-up write, not six`);
    await waitFor(() => s.streams.stats.stalledClosed === 1, "stuck stream closed", 5000);
    assert.is(s.streams.streamCount, 1);
    assert.is(s.streams.queuedBytes, 0);
    // Reading again: what was in flight, then the status.
    req.on("data", () => {});
    await waitFor(() => trailers, "trailers of the closed stream", 5000);
    assert.is(trailers!["grpc-status"], "8");
    assert.match(decodeURI(String(trailers!["grpc-message"])), /did not drain within 800 ms; reconnect/);
    assert.is(reader.status, undefined, "the reading stream is still open");
  } finally {
    session.destroy();
    reader.close();
    c.close();
    await s.close();
  }
});

test.run();
