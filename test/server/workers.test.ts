// `hfi server --workers 2` as a real process: config streams spread over two
// worker processes (one connection per subscriber, as sidecars have), every
// update reaches every stream in order whatever worker holds it; a worker
// killed with SIGKILL is started again and its filters reconnect and
// converge; status counts and lists the proxies of every worker (embedded
// store) and of every worker of every replica (etcd).
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import { hfiGrpc, type ConfigSnapshotOut, type Identity, type Policy, type StreamConfigRequest } from "../../proto/loader.ts";
import { TestEtcd } from "../support/etcd.ts";
import { PolicyClient, waitFor } from "../support/server.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURE = path.join(ROOT, "test/server/fixtures/server-process.ts");

interface ServerProcess {
  proc: ChildProcess;
  grpcAddress: string;
  httpAddress: string;
  output: () => string;
  exited: Promise<number | null>;
}

async function spawnServer(args: string[]): Promise<ServerProcess> {
  const proc = spawn(process.execPath, ["--import", "tsx", FIXTURE, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--log-level", "debug", ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  const listening = await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`server exited: ${out}`);
      const line = out.split("\n").find((l) => l.includes('"hfi server listening"'));
      return line ? (JSON.parse(line) as { grpcAddress: string; httpAddress: string; workers: number }) : undefined;
    },
    "server process listening",
    30_000,
  );
  assert.is(listening.workers, 2);
  return { proc, grpcAddress: listening.grpcAddress, httpAddress: listening.httpAddress, output: () => out, exited };
}

async function kill(p: ServerProcess | undefined): Promise<void> {
  if (!p || p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill("SIGKILL");
  await p.exited;
}

/** Log lines of the process (pino JSON), parsed. */
function logLines(p: ServerProcess): Record<string, unknown>[] {
  return p
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Which worker (index, pid) each subscribed proxy landed on, from the workers' debug logs. */
function streamsByWorker(p: ServerProcess): Map<string, { worker: number; pid: number }> {
  const m = new Map<string, { worker: number; pid: number }>();
  for (const l of logLines(p)) {
    if (l.msg !== "config stream subscribed") continue;
    const id = (l.identity as { proxyId: string }).proxyId;
    m.set(id, { worker: l.worker as number, pid: l.pid as number });
  }
  return m;
}

/**
 * A sidecar stand-in on its own HTTP/2 connection (a local subchannel pool:
 * grpc-js would otherwise share one connection between clients). ACKs every
 * snapshot and, with `reconnect`, opens a new stream when one ends.
 */
class Sidecar {
  readonly snapshots: ConfigSnapshotOut[] = [];
  ends: grpc.StatusObject[] = [];
  private client: InstanceType<ReturnType<typeof hfiGrpc>["ConfigDiscoveryService"]> | undefined;
  private call: grpc.ClientDuplexStream<StreamConfigRequest, ConfigSnapshotOut> | undefined;
  private closed = false;

  constructor(
    private readonly address: string,
    readonly identity: Identity,
    private readonly reconnect = false,
  ) {
    this.open();
  }

  private open(): void {
    this.client?.close();
    const client = new (hfiGrpc().ConfigDiscoveryService)(this.address, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
    this.client = client;
    const call = client.streamConfig();
    this.call = call;
    call.on("data", (s: ConfigSnapshotOut) => {
      this.snapshots.push(s);
      call.write({ ack: { version: s.version, nonce: s.nonce } });
    });
    call.on("error", () => {});
    call.on("status", (st: grpc.StatusObject) => {
      this.ends.push(st);
      if (this.reconnect && !this.closed) setTimeout(() => this.open(), 100);
    });
    call.write({ subscribe: { identity: this.identity, token: "" } });
  }

  get latest(): ConfigSnapshotOut | undefined {
    return this.snapshots[this.snapshots.length - 1];
  }

  close(): void {
    this.closed = true;
    this.call?.cancel();
    this.client?.close();
  }
}

const policy = (name: string, k: number, service = ""): Policy => ({
  metadata: { name },
  spec: { selector: { service }, rules: [{ fault: { percentage: 1 + (k % 90), delay: { fixedDelayMs: 1 + k } } }] },
});

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "hfi-workers-"));

test("two workers: streams spread over both; 30 back-to-back updates reach every stream, none lost or reordered", async () => {
  const dataDir = tempDir();
  let s: ServerProcess | undefined;
  const cars: Sidecar[] = [];
  try {
    s = await spawnServer(["--workers", "2", "--data-dir", dataDir]);
    const c = new PolicyClient(s.grpcAddress);
    try {
      for (let i = 0; i < 24; i++) cars.push(new Sidecar(s.grpcAddress, { service: `svc-${i % 3}`, proxyId: `p${String(i).padStart(2, "0")}` }));
      await waitFor(() => cars.every((x) => x.latest), "every sidecar got its first snapshot", 20_000);
      const placed = streamsByWorker(s);
      const workers = new Set([...placed.values()].map((w) => w.worker));
      assert.equal([...workers].sort(), [0, 1], "round-robin over connections put streams on both workers");
      // Updates without waiting for one another: each is a new version of one policy.
      const versions: number[] = [];
      for (let k = 0; k < 30; k++) versions.push((await c.apply({ policy: policy("seq", k) })).policy!.metadata!.version);
      const last = versions[versions.length - 1]!;
      await waitFor(() => cars.every((x) => x.latest?.policies[0]?.version === last), "every sidecar on the last version", 20_000);
      for (const car of cars) {
        const seen = car.snapshots.map((x) => x.policies[0]?.version ?? 0).filter((v) => v > 0);
        for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `${car.identity.proxyId}: versions in order (${seen.join(",")})`);
        assert.ok(seen.every((v) => versions.includes(v)), "only versions that were written");
      }
      // Status from one connection covers the streams of both workers.
      const st = await waitFor(async () => {
        const r = await c.status("seq");
        return r.policies[0]!.ackedCount === cars.length ? r : undefined;
      }, "status counts every sidecar's ACK");
      assert.is(st.policies[0]!.targetedProxies, cars.length);
      assert.is(st.policies[0]!.acked.length, cars.length, "per-proxy detail of every worker of this replica");
      assert.is(st.proxies.length, cars.length);
      // /metrics on the primary sums the workers' counters.
      const metrics = await (await fetch(`http://${s.httpAddress}/metrics`)).text();
      const acks = Number(/^hfi_acks_total (\d+)/m.exec(metrics)?.[1]);
      assert.ok(acks >= cars.length * 2, `hfi_acks_total ${acks} covers both workers`);
    } finally {
      c.close();
    }
  } finally {
    cars.forEach((x) => x.close());
    await kill(s);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test("a worker killed with SIGKILL is started again; its sidecars reconnect and converge on the next update", async () => {
  const dataDir = tempDir();
  let s: ServerProcess | undefined;
  const cars: Sidecar[] = [];
  try {
    s = await spawnServer(["--workers", "2", "--data-dir", dataDir]);
    const c = new PolicyClient(s.grpcAddress);
    try {
      await c.apply({ policy: policy("p", 0) });
      for (let i = 0; i < 12; i++) cars.push(new Sidecar(s.grpcAddress, { service: "web", proxyId: `w${String(i).padStart(2, "0")}` }, true));
      await waitFor(() => cars.every((x) => x.latest?.policies.length === 1), "every sidecar subscribed", 20_000);
      const placed = streamsByWorker(s);
      const victim = placed.get("w00")!;
      const onVictim = cars.filter((x) => placed.get(x.identity.proxyId!)!.pid === victim.pid);
      assert.ok(onVictim.length > 0 && onVictim.length < cars.length, "streams on both workers");
      process.kill(victim.pid, "SIGKILL");
      await waitFor(() => onVictim.every((x) => x.ends.length > 0), "the killed worker's streams ended", 10_000);
      assert.ok(cars.filter((x) => !onVictim.includes(x)).every((x) => x.ends.length === 0), "the other worker's streams stayed up");
      await waitFor(
        () => logLines(s!).some((l) => l.msg === "worker exited; starting it again (its filters reconnect)" && l.worker === victim.worker),
        "the primary restarts the worker",
      );
      const v = (await c.apply({ policy: policy("p", 1) })).policy!.metadata!.version;
      await waitFor(() => cars.every((x) => x.latest?.policies[0]?.version === v), "every sidecar (reconnected ones too) on the new version", 20_000);
      const restarted = new Set([...streamsByWorker(s).values()].map((w) => w.pid));
      assert.ok(!restarted.has(victim.pid) || onVictim.length === 0, "no stream left on the dead process");
      await waitFor(async () => (await c.status("p")).policies[0]!.ackedCount === cars.length, "status: every sidecar ACKed after the restart", 20_000);
      // Graceful stop still works with a restarted worker.
      s.proc.kill("SIGTERM");
      assert.is(await s.exited, 0);
    } finally {
      c.close();
    }
  } finally {
    cars.forEach((x) => x.close());
    await kill(s);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test("etcd, two replicas of two workers each: N/M ACKed counts every stream of every worker of both", async () => {
  const etcd = await TestEtcd.start();
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  const cars: Sidecar[] = [];
  try {
    [a, b] = await Promise.all([
      spawnServer(["--workers", "2", "--etcd-endpoints", etcd.endpoint, "--replica-id", "ra"]),
      spawnServer(["--workers", "2", "--etcd-endpoints", etcd.endpoint, "--replica-id", "rb"]),
    ]);
    const ca = new PolicyClient(a.grpcAddress);
    const cb = new PolicyClient(b.grpcAddress);
    try {
      const applied = await ca.apply({ policy: policy("all", 3) });
      for (let i = 0; i < 8; i++) cars.push(new Sidecar(a.grpcAddress, { service: "web", proxyId: `a${i}` }));
      for (let i = 0; i < 6; i++) cars.push(new Sidecar(b.grpcAddress, { service: "web", proxyId: `b${i}` }));
      await waitFor(() => cars.every((x) => x.latest?.policies.length === 1), "every sidecar subscribed", 20_000);
      assert.is(new Set([...streamsByWorker(a).values()].map((w) => w.worker)).size, 2, "A's streams on both of A's workers");
      for (const [who, c, own] of [["A", ca, 8], ["B", cb, 6]] as const) {
        const st = await waitFor(async () => {
          const r = (await c.status("all")).policies[0]!;
          return r.ackedCount === 14 ? r : undefined;
        }, `14 ACKs seen from ${who}`, 20_000);
        assert.equal([st.version, st.targetedProxies, st.nackedCount, st.pendingCount], [applied.policy!.metadata!.version, 14, 0, 0]);
        assert.is(st.acked.length, own, `${who} lists its own proxies (both workers)`);
        assert.ok(st.lastAckUnixMs > 0);
      }
      // One board key per replica, not one per stream or per worker.
      const keys = etcd.ctl("get", "--prefix", "--keys-only", "/hfi/proxies/").split("\n").filter(Boolean).sort();
      assert.equal(keys, ["/hfi/proxies/ra", "/hfi/proxies/rb"]);
    } finally {
      ca.close();
      cb.close();
    }
  } finally {
    cars.forEach((x) => x.close());
    await kill(a);
    await kill(b);
    await etcd.stop();
  }
});

test.run();
