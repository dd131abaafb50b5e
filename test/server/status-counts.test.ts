// PolicyStatus counts (acked/nacked/pending_count) and last_ack_unix_ms: the
// server's wall clock at the latest ACK of the policy's current version, on
// this replica and, through the proxy status board, on another one.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Policy } from "../../proto/loader.ts";
import { TestEtcd } from "../support/etcd.ts";
import { PolicyClient, TestSubscriber, startTestServer, waitFor, type TestServer } from "../support/server.ts";

const policy = (name: string, service: string, percentage = 50): Policy => ({
  metadata: { name },
  spec: { selector: { service }, rules: [{ fault: { percentage, abort: { httpStatus: 503 } } }] },
});

test("counts follow ACKs, NACKs and silence; last_ack_unix_ms is when the server got the latest ACK of this version", async () => {
  const s = await startTestServer();
  const c = new PolicyClient(s.grpcAddress);
  const web = (proxyId: string, opts = {}) => new TestSubscriber(s.grpcAddress, { service: "web", namespace: "prod", proxyId }, opts);
  const good = web("good");
  const late = web("late", { silent: true });
  const bad = web("bad", { nack: (snap: { policies: unknown[] }) => (snap.policies.length ? "cannot compile rule 0" : undefined) });
  const silent = web("silent", { silent: true });
  const other = new TestSubscriber(s.grpcAddress, { service: "api", namespace: "prod", proxyId: "other" });
  const quiet = new TestSubscriber(s.grpcAddress, { service: "quiet", namespace: "prod", proxyId: "quiet" }, { silent: true });
  const all = [good, late, bad, silent, other, quiet];
  try {
    await Promise.all(all.map((x) => x.waitFor(() => true)));
    const before = Date.now();
    const v1 = await c.apply({ policy: policy("p1", "web") });
    const st1 = await waitFor(async () => {
      const st = (await c.status("p1")).policies[0]!;
      return st.ackedCount === 1 && st.nackedCount === 1 ? st : undefined;
    }, "good's ACK and bad's NACK");
    const afterFirst = Date.now();
    assert.is(st1.version, v1.policy!.metadata!.version);
    assert.is(st1.targetedProxies, 4);
    assert.is(st1.pendingCount, 2);
    assert.is(st1.ackedCount, st1.acked.length);
    assert.is(st1.pendingCount, st1.pending.length);
    assert.ok(st1.lastAckUnixMs >= before && st1.lastAckUnixMs <= afterFirst, `${st1.lastAckUnixMs} within [${before}, ${afterFirst}]`);

    // The late proxy ACKs now: the figure moves to its ACK.
    await new Promise((r) => setTimeout(r, 20));
    const sentAt = Date.now();
    late.send({ ack: { version: late.latest!.version, nonce: late.latest!.nonce } });
    const st2 = await waitFor(async () => {
      const st = (await c.status("p1")).policies[0]!;
      return st.ackedCount === 2 ? st : undefined;
    }, "late's ACK");
    assert.ok(st2.lastAckUnixMs >= sentAt && st2.lastAckUnixMs <= Date.now(), `${st2.lastAckUnixMs} >= ${sentAt}`);
    assert.ok(st2.lastAckUnixMs > st1.lastAckUnixMs);
    assert.is(st2.pendingCount, 1);

    // A new version: the earlier ACKs no longer count until the new snapshot is ACKed.
    const v2 = await c.apply({ policy: policy("p1", "web", 60) });
    const st3 = await waitFor(async () => {
      const st = (await c.status("p1")).policies[0]!;
      return st.version === v2.policy!.metadata!.version && st.ackedCount === 1 && st.nackedCount === 1 ? st : undefined;
    }, "good's ACK of v2");
    assert.is(st3.pendingCount, 2);
    assert.ok(st3.lastAckUnixMs >= st2.lastAckUnixMs);

    // Nobody ACKed: 0.
    await c.apply({ policy: policy("p2", "quiet") });
    const st4 = (await c.status("p2")).policies[0]!;
    assert.is(st4.targetedProxies, 1);
    assert.is(st4.ackedCount, 0);
    assert.is(st4.pendingCount, 1);
    assert.is(st4.lastAckUnixMs, 0);
  } finally {
    all.forEach((x) => x.close());
    c.close();
    await s.close();
  }
});

test("proxy lists are cut at proxy_limit (default 100) while every count stays exact; a bad limit is INVALID_ARGUMENT / 400", async () => {
  const s = await startTestServer();
  const c = new PolicyClient(s.grpcAddress);
  const subs = Array.from({ length: 130 }, (_, i) => new TestSubscriber(s.grpcAddress, { service: "web", namespace: "prod", proxyId: `p${String(i).padStart(3, "0")}` }));
  try {
    await Promise.all(subs.map((x) => x.waitFor(() => true)));
    await c.apply({ policy: policy("p1", "web") });
    const st = await waitFor(async () => {
      const r = await c.status("p1");
      return r.policies[0]!.ackedCount === 130 ? r : undefined;
    }, "130 ACKs");
    assert.is(st.proxiesTotal, 130);
    assert.is(st.proxies.length, 100);
    assert.is(st.proxies[0]!.identity!.proxyId, "p000", "first by proxy id");
    assert.is(st.policies[0]!.acked.length, 100);
    assert.is(st.policies[0]!.targetedProxies, 130);
    const five = await c.status("p1", 5);
    assert.equal([five.proxies.length, five.policies[0]!.acked.length, five.policies[0]!.ackedCount, five.proxiesTotal], [5, 5, 130, 130]);
    const all = await c.status("", 10_000);
    assert.is(all.proxies.length, 130);
    try {
      await c.status("p1", 10_001);
      assert.unreachable("10001 accepted");
    } catch (err) {
      assert.is((err as { code: number }).code, 3);
      assert.match((err as Error).message, /proxy_limit: must be an integer between 0 and 10000/);
    }
    const rest = await fetch(`${s.baseUrl}/v1/policies/status?proxy_limit=abc`);
    assert.is(rest.status, 400);
    assert.match(await rest.text(), /proxy_limit/);
    const restOk = (await (await fetch(`${s.baseUrl}/v1/policies/status?proxy_limit=3`)).json()) as { proxies: unknown[] };
    assert.is(restOk.proxies.length, 3);
  } finally {
    subs.forEach((x) => x.close());
    c.close();
    await s.close();
  }
});

test("another replica reports the counts and the ACK time of this replica's proxies (status board in etcd)", async () => {
  const etcd = await TestEtcd.start();
  const servers: TestServer[] = [];
  const subs: TestSubscriber[] = [];
  try {
    const opts = { etcd, statusFlushMs: 20, statusCacheMs: 0 };
    const a = await startTestServer(opts);
    servers.push(a);
    const b = await startTestServer(opts);
    servers.push(b);
    const ca = new PolicyClient(a.grpcAddress);
    const cb = new PolicyClient(b.grpcAddress);
    try {
      subs.push(new TestSubscriber(a.grpcAddress, { service: "web", namespace: "prod", proxyId: "wa" }));
      subs.push(new TestSubscriber(a.grpcAddress, { service: "web", namespace: "prod", proxyId: "sa" }, { silent: true }));
      await Promise.all(subs.map((x) => x.waitFor(() => true)));
      await ca.apply({ policy: policy("p1", "web") });
      const onA = await waitFor(async () => {
        const st = (await ca.status("p1")).policies[0]!;
        return st.ackedCount === 1 ? st : undefined;
      }, "wa's ACK on A");
      const onB = await waitFor(async () => {
        const st = (await cb.status("p1")).policies[0]!;
        return st.ackedCount === 1 ? st : undefined;
      }, "wa's ACK seen from B");
      assert.is(onB.pendingCount, 1);
      assert.is(onB.nackedCount, 0);
      assert.ok(onA.lastAckUnixMs > 0);
      assert.is(onB.lastAckUnixMs, onA.lastAckUnixMs);
    } finally {
      ca.close();
      cb.close();
    }
  } finally {
    subs.forEach((x) => x.close());
    for (const s of servers) await s.close();
    await etcd.stop();
  }
});

test.run();
