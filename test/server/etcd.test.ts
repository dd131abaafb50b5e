// The control plane against a real etcd: writes behind its back, lease
// expiry, etcd crash + restart with streams open, compaction (watch reset).
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import type { Policy } from "../../proto/loader.ts";
import { createStore } from "../../server/store/index.ts";
import type { PolicyStore } from "../../server/store/types.ts";
import { TestEtcd } from "../support/etcd.ts";
import { PolicyClient, TestSubscriber, startTestServer, waitFor } from "../support/server.ts";

const PREFIX = "/hfi/policies/";
const abortPolicy = (name: string, pct = 10, durationSeconds = 0): Policy => ({
  metadata: { name },
  spec: { rules: [{ fault: { percentage: pct, abort: { httpStatus: 503 }, durationSeconds } }] },
});
const names = (s: { policies: { name: string }[] }) => s.policies.map((p) => p.name);

async function metric(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

test("etcdctl put of a valid policy is pushed; an invalid one is not", async () => {
  const etcd = await TestEtcd.start();
  const s = await startTestServer({ etcd });
  const sub = new TestSubscriber(s.grpcAddress, { service: "web", namespace: "prod", proxyId: "p1" });
  try {
    await sub.waitFor(() => true, "initial");
    const valid = { metadata: { name: "from-ctl" }, spec: { rules: [{ fault: { percentage: 5, abort: { http_status: 500 } } }] } };
    etcd.ctl("put", `${PREFIX}from-ctl`, JSON.stringify(valid));
    const snap = await sub.waitFor((x) => names(x).includes("from-ctl"), "from-ctl pushed");
    assert.is(snap.policies[0]!.rules[0]!.fault!.abort!.httpStatus, 500);

    const count = sub.snapshots.length;
    etcd.ctl("put", `${PREFIX}broken`, JSON.stringify({ metadata: { name: "broken" }, spec: { rules: [{ fault: { percentage: 500 } }] } }));
    etcd.ctl("put", `${PREFIX}garbage`, "{not json");
    await waitFor(async () => (await metric(s.baseUrl, "hfi_invalid_policies_total")) >= 2, "invalid values counted");
    // A valid write after them: had the invalid ones been pushed they would come first.
    etcd.ctl("put", `${PREFIX}after`, JSON.stringify({ ...valid, metadata: { name: "after" } }));
    await sub.waitFor((x) => names(x).includes("after"), "after pushed");
    assert.is(sub.snapshots.length, count + 1);
    assert.equal(names(sub.latest!), ["after", "from-ctl"]);
    const c = new PolicyClient(s.grpcAddress);
    assert.equal((await c.list()).policies.map((p) => p.metadata!.name), ["after", "from-ctl"]);
    c.close();
  } finally {
    sub.close();
    await s.close();
    await etcd.stop();
  }
});

test("a time-limited policy expires through its etcd lease and an updated snapshot is pushed", async () => {
  const etcd = await TestEtcd.start();
  const s = await startTestServer({ etcd });
  const c = new PolicyClient(s.grpcAddress);
  const sub = new TestSubscriber(s.grpcAddress, { service: "web", proxyId: "p1" });
  try {
    await c.apply({ policy: abortPolicy("forever") });
    const applied = await c.apply({ policy: abortPolicy("short", 10, 2) });
    assert.ok(applied.policy!.metadata!.expiresAtUnixMs > 0);
    await sub.waitFor((x) => names(x).includes("short"), "short pushed");
    const st = (await c.status("short")).policies[0]!;
    assert.is(st.expiresAtUnixMs, applied.policy!.metadata!.expiresAtUnixMs);
    await sub.waitFor((x) => names(x).join() === "forever", "short expired", 20_000);
    assert.is((await c.list()).policies.length, 1);
  } finally {
    sub.close();
    c.close();
    await s.close();
    await etcd.stop();
  }
});

test("etcd SIGKILL + restart with streams open: last snapshot kept, store health 503 and writes UNAVAILABLE while down (still ready), nothing lost after", async () => {
  const etcd = await TestEtcd.start();
  const s = await startTestServer({ etcd });
  const c = new PolicyClient(s.grpcAddress);
  const subs = [1, 2].map((i) => new TestSubscriber(s.grpcAddress, { service: "web", proxyId: `p${i}` }));
  try {
    await c.apply({ policy: abortPolicy("before") });
    await Promise.all(subs.map((x) => x.waitFor((y) => names(y).includes("before"), "before")));
    const held = subs.map((x) => x.latest!.version);

    await etcd.kill();
    // Store health says the store is down; readiness (can serve config streams) stays 200.
    const health = await waitFor(async () => {
      const r = await fetch(`${s.baseUrl}/healthz/store`);
      return r.status === 503 ? ((await r.json()) as { reason: string }) : undefined;
    }, "/healthz/store 503");
    assert.ok(health.reason.length > 0, "store health names the reason");
    assert.is((await fetch(`${s.baseUrl}/readyz`)).status, 200, "still ready: the view is held");
    const err = await c.apply({ policy: abortPolicy("during") }).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    assert.ok(err, "apply fails while etcd is down");
    assert.is(err!.code, grpc.status.UNAVAILABLE);
    // New subscribers get the in-memory view; open streams are untouched.
    const late = new TestSubscriber(s.grpcAddress, { service: "web", proxyId: "late" });
    subs.push(late);
    await late.waitFor((y) => names(y).includes("before"), "late subscriber gets the held view");
    assert.equal(subs.slice(0, 2).map((x) => [x.status, x.latest!.version]), held.map((v) => [undefined, v]));

    await relaunch(etcd);
    await waitFor(async () => (await fetch(`${s.baseUrl}/healthz/store`)).status === 200, "/healthz/store 200 again", 20_000);
    await waitFor(() => c.apply({ policy: abortPolicy("after") }).then(() => true, () => false), "apply after restart", 20_000);
    for (const x of subs) await x.waitFor((y) => names(y).join() === "after,before", "after pushed", 20_000);
    for (const x of subs) {
      const versions = x.snapshots.map((y) => y.version);
      for (let i = 1; i < versions.length; i++) assert.is.not(versions[i], versions[i - 1], "no duplicate push");
      assert.ok(!x.snapshots.some((y) => names(y).includes("during")), "the failed write never appears");
      assert.is(x.status, undefined, "stream still open");
    }
    assert.ok((await metric(s.baseUrl, 'hfi_store_errors_total{op="put"}')) >= 1 || (await metric(s.baseUrl, 'hfi_store_errors_total{op="get"}')) >= 1);
  } finally {
    subs.forEach((x) => x.close());
    c.close();
    await s.close();
    await etcd.stop();
  }
});

/**
 * Starts a SIGKILLed TestEtcd again. TestEtcd.restart() after kill() waits
 * for an exit that already happened (a signalled child keeps exitCode null),
 * so this calls its launch step directly.
 */
async function relaunch(etcd: TestEtcd): Promise<void> {
  await (etcd as unknown as { launch(): Promise<void> }).launch();
}

test("a server started while etcd is down waits, then serves once etcd is up", async () => {
  const etcd = await TestEtcd.start();
  etcd.ctl("put", `${PREFIX}pre`, JSON.stringify({ metadata: { name: "pre" }, spec: { rules: [{ fault: { percentage: 5, abort: { http_status: 500 } } }] } }));
  await etcd.kill();
  const s = await startTestServer({ etcd });
  const sub = new TestSubscriber(s.grpcAddress, { service: "web", proxyId: "early" });
  try {
    assert.is((await fetch(`${s.baseUrl}/readyz`)).status, 503);
    assert.is((await fetch(`${s.baseUrl}/healthz`)).status, 200);
    // No snapshot while the view is unknown (an empty one would wipe the filter's config).
    await waitFor(() => s.streams.streamCount === 0 && sub.status === undefined, "subscriber held");
    assert.is(sub.snapshots.length, 0);
    await relaunch(etcd);
    const snap = await sub.waitFor((x) => names(x).join() === "pre", "snapshot after etcd came up", 30_000);
    assert.is(sub.snapshots.length, 1);
    assert.is(snap.policies[0]!.rules[0]!.fault!.abort!.httpStatus, 500);
    await waitFor(async () => (await fetch(`${s.baseUrl}/readyz`)).status === 200, "ready", 20_000);
  } finally {
    sub.close();
    await s.close();
    await etcd.stop();
  }
});

/** A store whose first list() waits for `gate`: its view starts at an old revision. */
function gatedStore(inner: PolicyStore, gate: Promise<void>): PolicyStore {
  let first = true;
  return {
    kind: inner.kind,
    list: async () => {
      const r = await inner.list();
      if (first) {
        first = false;
        await gate;
      }
      return r;
    },
    listPage: (o) => inner.listPage(o),
    listInvalid: () => inner.listInvalid(),
    usage: () => inner.usage(),
    get: (n) => inner.get(n),
    put: (p, o) => inner.put(p, o),
    delete: (n, o) => inner.delete(n, o),
    watch: (r, fn) => inner.watch(r, fn),
    ping: () => inner.ping(),
    getPause: () => inner.getPause(),
    changePause: (c) => inner.changePause(c),
    watchPause: (fn) => inner.watchPause(fn),
    close: () => inner.close(),
  };
}

test("compaction: a replica whose watch revision was compacted resets and converges", async () => {
  const etcd = await TestEtcd.start();
  const a = await startTestServer({ etcd });
  const ca = new PolicyClient(a.grpcAddress);
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let b: Awaited<ReturnType<typeof startTestServer>> | undefined;
  const subs: TestSubscriber[] = [];
  try {
    await ca.apply({ policy: abortPolicy("old-1") });
    await ca.apply({ policy: abortPolicy("old-2") });
    // B reads the state now but starts watching only after the history is gone.
    const inner = await createStore({ etcdEndpoints: [etcd.endpoint], logger: a.logger });
    const bStarting = startTestServer({ store: gatedStore(inner, gate) });
    await new Promise((r) => setTimeout(r, 200));
    await ca.delete("old-1");
    for (let i = 0; i < 20; i++) await ca.apply({ policy: abortPolicy(`new-${i % 3}`, 1 + i) });
    const rev = JSON.parse(etcd.ctl("get", "/none", "-w", "json")).header.revision as number;
    etcd.ctl("compact", String(rev));
    release();
    b = await bStarting;
    const onA = new TestSubscriber(a.grpcAddress, { service: "web", proxyId: "a" });
    const onB = new TestSubscriber(b.grpcAddress, { service: "web", proxyId: "b" });
    subs.push(onA, onB);
    const want = ["new-0", "new-1", "new-2", "old-2"];
    await onA.waitFor((x) => names(x).join() === want.join(), "A state");
    await onB.waitFor((x) => names(x).join() === want.join(), "B catches up after reset", 20_000);
    assert.is(onB.latest!.version, onA.latest!.version, "same set, same version on both replicas");
    // And B keeps following changes after the reset.
    await ca.apply({ policy: abortPolicy("post-reset") });
    await onB.waitFor((x) => names(x).includes("post-reset"), "B follows after reset");
  } finally {
    release();
    subs.forEach((x) => x.close());
    ca.close();
    await b?.close();
    await a.close();
    await etcd.stop();
  }
});

test.run();
