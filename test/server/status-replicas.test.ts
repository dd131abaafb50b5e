// Policy status across replicas: two `hfi server` processes on one etcd each
// answer GetPolicyStatus / REST status with N/M ACKed over the proxies of
// BOTH (one summary per replica on the board in etcd), their own proxies one
// by one and the other's laggards; NACKs and disconnects travel; a SIGKILLed
// replica's proxies leave with its lease; etcd down = streams unaffected,
// status local + partial; one board write per replica whatever the stream count.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import type { GetPolicyStatusResponseOut, Policy } from "../../proto/loader.ts";
import { TestEtcd } from "../support/etcd.ts";
import { PolicyClient, TestSubscriber, startTestServer, waitFor, type TestServer } from "../support/server.ts";
import { decodeRecord, decodeSummary, encodeRecord, encodeSummary } from "../../server/store/etcd-board.ts";
import { statusPrefixFor } from "../../server/store/etcd.ts";
import { PARTIAL_STATUS_HEADER } from "../../server/status/report.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURE = path.join(ROOT, "test/server/fixtures/server-process.ts");

interface ServerProcess {
  proc: ChildProcess;
  grpcAddress: string;
  httpAddress: string;
  exited: Promise<unknown>;
}

async function spawnServer(args: string[]): Promise<ServerProcess> {
  const proc = spawn(process.execPath, ["--import", "tsx", FIXTURE, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise((r) => proc.once("exit", r));
  const listening = await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`server exited: ${out}`);
      const line = out.split("\n").find((l) => l.includes('"hfi server listening"'));
      return line ? (JSON.parse(line) as { grpcAddress: string; httpAddress: string }) : undefined;
    },
    "server process listening",
    30_000,
  );
  return { proc, ...listening, exited };
}

async function kill(p: ServerProcess | undefined): Promise<void> {
  if (!p || p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill("SIGKILL");
  await p.exited;
}

const policy = (name: string, service = ""): Policy => ({
  metadata: { name },
  spec: { selector: { service }, rules: [{ fault: { percentage: 50, delay: { fixedDelayMs: 20 } } }] },
});

const ids = (refs: { identity?: { proxyId: string } | null }[]) => refs.map((r) => r.identity!.proxyId);
const proxiesOf = (st: GetPolicyStatusResponseOut) => Object.fromEntries(st.proxies.map((p) => [p.identity!.proxyId, p]));

test("record encoding: ACKed/NACKed lists omitted when equal to the sent one, restored on read", () => {
  const sent: [string, number][] = [["a", 5], ["123", 7]];
  const base = {
    replica: "r1",
    stream: "4",
    identity: { service: "web", namespace: "prod", pod: "", proxyId: "p", labels: { v: "1" } },
    sentVersion: "v2",
    ackedVersion: "v2",
    nackedVersion: "",
    nackError: "",
    sent,
    acked: sent,
    nacked: [] as [string, number][],
    connectedAtUnixMs: 1,
  };
  const text = encodeRecord(base);
  assert.not.match(text, /"acked"/);
  assert.equal(decodeRecord("r1", "4", text), base);
  const older = { ...base, ackedVersion: "v1", acked: [["a", 5]] as [string, number][], nackedVersion: "v2", nackError: "bad", nacked: sent };
  assert.equal(decodeRecord("r1", "4", encodeRecord(older)), older);
  assert.is(decodeRecord("r1", "4", "{not json"), undefined);
  const idle = { ...base, idle: true };
  assert.match(encodeRecord(idle), /"idle":true/);
  assert.equal(decodeRecord("r1", "4", encodeRecord(idle)), idle, "an idle VM stays idle across replicas");
  assert.not.match(text, /"idle"/, "only idle VMs carry the flag");
  const summary = {
    replica: "r1",
    streams: 3,
    groups: [{ identity: { service: "web", namespace: "prod", labels: { v: "1" } }, streams: 3, acked: [["a", 5, 2, 1700000000000]] as [string, number, number, number][], nacked: [["a", 5, 1]] as [string, number, number][] }],
    laggards: [older],
    laggardsOmitted: 0,
  };
  assert.equal(decodeSummary("r1", encodeSummary(summary)), summary);
  assert.is(decodeSummary("r1", "[]"), undefined);
  assert.is(statusPrefixFor("/hfi/policies/"), "/hfi/proxies/");
  assert.is(statusPrefixFor("/tenant-a"), "/tenant-a-proxies/");
});

test("two replicas: status from either lists every proxy, ACKs, NACKs and disconnects of both", async () => {
  const etcd = await TestEtcd.start();
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  const subs: TestSubscriber[] = [];
  try {
    [a, b] = await Promise.all([
      spawnServer(["--etcd-endpoints", etcd.endpoint, "--replica-id", "replica-a"]),
      spawnServer(["--etcd-endpoints", etcd.endpoint, "--replica-id", "replica-b"]),
    ]);
    const ca = new PolicyClient(a.grpcAddress);
    const cb = new PolicyClient(b.grpcAddress);
    try {
      await ca.apply({ policy: policy("all") });
      const web = await cb.apply({ policy: policy("web-only", "web") });
      const webA = new TestSubscriber(a.grpcAddress, { service: "web", namespace: "prod", proxyId: "wa" });
      const webB = new TestSubscriber(b.grpcAddress, { service: "web", namespace: "prod", proxyId: "wb" });
      const apiB = new TestSubscriber(b.grpcAddress, { service: "api", namespace: "prod", proxyId: "ab" });
      // B's second web proxy rejects every snapshot that holds web-only.
      const badB = new TestSubscriber(
        b.grpcAddress,
        { service: "web", namespace: "prod", proxyId: "xb" },
        { nack: (s) => (s.policies.some((p) => p.name === "web-only") ? "cannot compile rule 0" : undefined) },
      );
      subs.push(webA, webB, apiB, badB);
      const both = (x: { policies: { name: string }[] }) => x.policies.map((p) => p.name).join() === "all,web-only";
      await Promise.all([webA.waitFor(both), webB.waitFor(both), apiB.waitFor((x) => x.policies.length === 1), badB.waitFor(both)]);

      for (const [who, c] of [["A", ca], ["B", cb]] as const) {
        const st = await waitFor(async () => {
          const s = await c.status();
          const all = s.policies.find((p) => p.name === "all")!;
          const w = s.policies.find((p) => p.name === "web-only")!;
          return all.ackedCount === 3 && all.targetedProxies === 4 && w.nackedCount === 1 ? s : undefined;
        }, `all proxies converged, seen from ${who}`);
        const proxies = proxiesOf(st);
        // Own proxies one by one; the other replica's only while they lag (xb NACKed its current snapshot).
        assert.equal(Object.keys(proxies).sort(), who === "A" ? ["wa", "xb"] : ["ab", "wb", "xb"], who);
        if (who === "A") {
          assert.is(proxies.wa!.replica, "replica-a");
          assert.is(proxies.wa!.ackedVersion, webA.latest!.version);
          assert.equal(proxies.wa!.policies, ["all", "web-only"]);
        } else {
          assert.is(proxies.wb!.replica, "replica-b");
          assert.is(proxies.wb!.ackedVersion, webB.latest!.version);
          assert.is(proxies.ab!.ackedVersion, apiB.latest!.version);
          assert.ok(proxies.wb!.connectedAtUnixMs > 0);
        }
        assert.is(proxies.xb!.replica, "replica-b");
        assert.is(proxies.xb!.nackedVersion, badB.latest!.version);
        assert.is(proxies.xb!.nackError, "cannot compile rule 0");
        const all = st.policies.find((p) => p.name === "all")!;
        assert.equal([all.targetedProxies, all.ackedCount, all.nackedCount, all.pendingCount], [4, 3, 1, 0], `${who}: xb NACKed the snapshot holding "all"`);
        assert.equal(ids(all.acked), who === "A" ? ["wa"] : ["ab", "wb"]);
        assert.ok(all.lastAckUnixMs > Date.now() - 60_000 && all.lastAckUnixMs <= Date.now());
        const w = st.policies.find((p) => p.name === "web-only")!;
        assert.is(w.version, web.policy!.metadata!.version);
        assert.equal([w.targetedProxies, w.ackedCount, w.nackedCount, w.pendingCount], [3, 2, 1, 0]);
        assert.equal(ids(w.acked), who === "A" ? ["wa"] : ["wb"]);
        assert.equal(w.nacked.map((r) => [r.identity!.proxyId, r.error]), [["xb", "cannot compile rule 0"]]);
        assert.equal(w.pending, []);
      }
      // REST on A serves the same merged report, without a "partial" note.
      const rest = (await (await fetch(`http://${a.httpAddress}/v1/policies/status?name=all`)).json()) as {
        policies: { acked: unknown[]; ackedCount: number; targetedProxies: number }[];
        proxies: unknown[];
        partial?: string;
      };
      assert.is(rest.policies[0]!.ackedCount, 3);
      assert.is(rest.policies[0]!.targetedProxies, 4);
      assert.is(rest.proxies.length, 2);
      assert.is(rest.partial, "");

      // A proxy of A disconnects: gone from B's status too; one of B's: gone from A's.
      webA.close();
      apiB.close();
      for (const c of [ca, cb]) {
        await waitFor(async () => {
          const s = await c.status();
          const all = s.policies.find((p) => p.name === "all")!;
          return all.targetedProxies === 2 && all.ackedCount === 1 && !ids(s.proxies).includes("wa") && !ids(s.proxies).includes("ab");
        }, "disconnected proxies gone");
      }
    } finally {
      ca.close();
      cb.close();
    }
  } finally {
    subs.forEach((x) => x.close());
    await kill(a);
    await kill(b);
    await etcd.stop();
  }
});

test("SIGKILL: the dead replica's proxies leave the survivor's status once its lease expires; SIGTERM revokes at once", async () => {
  const etcd = await TestEtcd.start();
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  let c: ServerProcess | undefined;
  const subs: TestSubscriber[] = [];
  const ca = () => new PolicyClient(a!.grpcAddress);
  try {
    [a, b, c] = await Promise.all([
      spawnServer(["--etcd-endpoints", etcd.endpoint, "--replica-id", "a"]),
      spawnServer(["--etcd-endpoints", etcd.endpoint, "--replica-id", "b", "--status-ttl", "2"]),
      // A long TTL: only the revoke on graceful stop can remove its proxies within the wait below.
      spawnServer(["--etcd-endpoints", etcd.endpoint, "--replica-id", "c", "--status-ttl", "300"]),
    ]);
    subs.push(
      new TestSubscriber(a.grpcAddress, { service: "web", proxyId: "pa" }),
      new TestSubscriber(b.grpcAddress, { service: "web", proxyId: "pb1" }),
      new TestSubscriber(b.grpcAddress, { service: "web", proxyId: "pb2" }),
      new TestSubscriber(c.grpcAddress, { service: "web", proxyId: "pc" }),
    );
    const client = ca();
    const targeted = async () => (await client.status("all")).policies[0]!.targetedProxies;
    try {
      await client.apply({ policy: policy("all") });
      await waitFor(async () => (await targeted()) === 4, "all four proxies counted from A");
      b.proc.kill("SIGKILL");
      await b.exited;
      // The streams on B are gone with the process; its summary stays until the 2 s lease expires.
      await waitFor(async () => (await targeted()) === 2, "B's proxies gone from A's status", 30_000);
      assert.match(etcd.ctl("get", "--prefix", "--keys-only", "/hfi/proxies/"), /^\/hfi\/proxies\/c$/m);
      c.proc.kill("SIGTERM");
      await c.exited;
      await waitFor(async () => (await targeted()) === 1, "C's proxies gone after its graceful stop", 20_000);
      assert.not.match(etcd.ctl("get", "--prefix", "--keys-only", "/hfi/proxies/"), /\/hfi\/proxies\/c/);
    } finally {
      client.close();
    }
  } finally {
    subs.forEach((x) => x.close());
    await kill(a);
    await kill(b);
    await kill(c);
    await etcd.stop();
  }
});

/** GetPolicyStatus over raw gRPC: the response and the partial-status trailer. */
function statusWithTrailer(c: PolicyClient): Promise<{ res: GetPolicyStatusResponseOut; partial: string }> {
  return new Promise((resolve, reject) => {
    let res: GetPolicyStatusResponseOut | undefined;
    const call = c.raw.getPolicyStatus({}, (err, r) => (err ? reject(err) : (res = r)));
    call.on("status", (st: grpc.StatusObject) => {
      if (st.code === grpc.status.OK) setImmediate(() => resolve({ res: res!, partial: String(st.metadata.get(PARTIAL_STATUS_HEADER)[0] ?? "") }));
    });
  });
}

test("etcd down: streams keep working, status answers with this replica's proxies and says it is partial; recovers", async () => {
  const etcd = await TestEtcd.start();
  let a: TestServer | undefined;
  let b: TestServer | undefined;
  const subs: TestSubscriber[] = [];
  try {
    a = await startTestServer({ etcd, replicaId: "a", statusCacheMs: 0 });
    b = await startTestServer({ etcd, replicaId: "b", statusCacheMs: 0 });
    const ca = new PolicyClient(a.grpcAddress);
    const cb = new PolicyClient(b.grpcAddress);
    try {
      await ca.apply({ policy: policy("all") });
      const pa = new TestSubscriber(a.grpcAddress, { service: "web", proxyId: "pa" });
      const pb = new TestSubscriber(b.grpcAddress, { service: "web", proxyId: "pb" });
      subs.push(pa, pb);
      await waitFor(async () => (await ca.status("all")).policies[0]!.targetedProxies === 2, "both proxies counted from A");
      await etcd.kill();
      // A new proxy on A during the outage: served from A's view; its record cannot be written yet.
      const late = new TestSubscriber(a.grpcAddress, { service: "web", proxyId: "pa2" });
      subs.push(late);
      await late.waitFor((s) => s.policies.length === 1, "snapshot during the outage");
      const { res, partial } = await statusWithTrailer(ca);
      assert.equal(ids(res.proxies), ["pa", "pa2"]);
      assert.match(partial, /other replicas unavailable/);
      assert.is(res.partial, partial);
      const rest = (await (await fetch(`${a.baseUrl}/v1/policies/status`)).json()) as { proxies: unknown[]; partial?: string };
      assert.is(rest.proxies.length, 2);
      assert.match(rest.partial ?? "", /other replicas unavailable/);
      assert.is(pa.status, undefined, "A's stream still open");
      assert.is(pb.status, undefined, "B's stream still open");
      await waitFor(() => a!.proxies.stats.failures > 0, "a failed status write");
      const metrics = await (await fetch(`${a.baseUrl}/metrics`)).text();
      assert.match(metrics, /hfi_store_errors_total\{op="status"\} [1-9]/);

      await etcd.restart();
      // The write is retried: B counts the proxy that connected to A during the outage.
      await waitFor(async () => (await cb.status("all")).policies[0]!.ackedCount === 3, "B counts A's late proxy", 30_000);
      const after = await statusWithTrailer(ca);
      assert.is(after.partial, "");
      assert.equal(ids(after.res.proxies), ["pa", "pa2"]);
      assert.is(after.res.policies[0]!.targetedProxies, 3);
    } finally {
      ca.close();
      cb.close();
    }
  } finally {
    subs.forEach((x) => x.close());
    await a?.close();
    await b?.close();
    await etcd.stop();
  }
});

test("embedded store: no board, status = this replica's proxies, nothing partial", async () => {
  const s = await startTestServer({ replicaId: "solo" });
  const sub = new TestSubscriber(s.grpcAddress, { service: "web", proxyId: "p1" });
  const c = new PolicyClient(s.grpcAddress);
  try {
    await sub.waitFor(() => true);
    const { res, partial } = await waitFor(async () => {
      const r = await statusWithTrailer(c);
      return r.res.proxies[0]?.ackedVersion ? r : undefined;
    }, "ACK seen");
    assert.is(partial, "");
    assert.equal(res.proxies.map((p) => [p.identity!.proxyId, p.replica]), [["p1", "solo"]]);
  } finally {
    c.close();
    sub.close();
    await s.close();
  }
});

test("one board record and a few writes per replica, whatever the stream count", async () => {
  const etcd = await TestEtcd.start();
  let s: TestServer | undefined;
  let other: TestServer | undefined;
  const subs: TestSubscriber[] = [];
  try {
    s = await startTestServer({ etcd, replicaId: "big" });
    other = await startTestServer({ etcd, replicaId: "other", statusCacheMs: 0 });
    const n = 300;
    for (let i = 0; i < n; i++) subs.push(new TestSubscriber(s.grpcAddress, { service: "web", proxyId: `p${String(i).padStart(3, "0")}` }));
    await waitFor(() => subs.every((x) => x.latest), "every subscriber got its snapshot", 30_000);
    const c = new PolicyClient(other.grpcAddress);
    try {
      const t0 = Date.now();
      const writesBefore = s.proxies.stats.flushes;
      for (let k = 0; k < 3; k++) {
        const applied = await c.apply({ policy: { ...policy("all"), spec: { selector: {}, rules: [{ fault: { percentage: 10 + k, delay: { fixedDelayMs: 1 } } }] } } });
        const v = applied.policy!.metadata!.version;
        await waitFor(async () => {
          const st = (await c.status("all")).policies[0]!;
          return st.version === v && st.ackedCount === n ? st : undefined;
        }, `the other replica counts ${n} ACKs of change ${k}`, 30_000);
      }
      await s.proxies.settle();
      const writes = s.proxies.stats.flushes - writesBefore;
      const elapsedMs = Date.now() - t0;
      // At most one write per flush interval (250 ms), plus the one in flight at the start.
      assert.ok(writes >= 3 && writes <= Math.ceil(elapsedMs / 250) + 2, `${writes} board writes in ${elapsedMs} ms for ${n} streams x 3 changes`);
      const keys = etcd.ctl("get", "--prefix", "--keys-only", "/hfi/proxies/").split("\n").filter(Boolean);
      assert.equal(keys.sort(), ["/hfi/proxies/big", "/hfi/proxies/other"]);
      assert.is(s.proxies.stats.failures, 0);
    } finally {
      c.close();
    }
  } finally {
    subs.forEach((x) => x.close());
    await s?.close();
    await other?.close();
    await etcd.stop();
  }
});

test.run();
