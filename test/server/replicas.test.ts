// `hfi server` as real processes: two replicas on one etcd agree on snapshot
// versions; SIGTERM ends streams with UNAVAILABLE and exits 0; flags/env.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import type { Policy } from "../../proto/loader.ts";
import { TestEtcd } from "../support/etcd.ts";
import { PolicyClient, TestSubscriber, waitFor } from "../support/server.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURE = path.join(ROOT, "test/server/fixtures/server-process.ts");

interface ServerProcess {
  proc: ChildProcess;
  grpcAddress: string;
  httpAddress: string;
  output: () => string;
  exited: Promise<number | null>;
}

async function spawnServer(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const proc = spawn(process.execPath, ["--import", "tsx", FIXTURE, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  const listening = await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`server exited: ${out}`);
      for (const line of out.split("\n")) {
        if (line.includes('"hfi server listening"')) return JSON.parse(line) as { grpcAddress: string; httpAddress: string };
      }
      return undefined;
    },
    "server process listening",
    30_000,
  );
  return { proc, grpcAddress: listening.grpcAddress, httpAddress: listening.httpAddress, output: () => out, exited };
}

async function stop(p: ServerProcess | undefined): Promise<void> {
  if (!p || p.proc.exitCode !== null || p.proc.signalCode !== null) return;
  p.proc.kill("SIGKILL");
  await p.exited;
}

const policy = (name: string, service = ""): Policy => ({
  metadata: { name },
  spec: { selector: { service }, rules: [{ fault: { percentage: 50, delay: { fixedDelayMs: 20 } } }] },
});

test("two server processes on one etcd converge to the same snapshot version per identity", async () => {
  const etcd = await TestEtcd.start();
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;
  const subs: TestSubscriber[] = [];
  try {
    [a, b] = await Promise.all([spawnServer(["--etcd-endpoints", etcd.endpoint]), spawnServer([], { HFI_ETCD_ENDPOINTS: etcd.endpoint })]);
    const ca = new PolicyClient(a.grpcAddress);
    const cb = new PolicyClient(b.grpcAddress);
    try {
      const webA = new TestSubscriber(a.grpcAddress, { service: "web", namespace: "prod", proxyId: "wa" });
      const webB = new TestSubscriber(b.grpcAddress, { service: "web", namespace: "prod", proxyId: "wb" });
      const apiB = new TestSubscriber(b.grpcAddress, { service: "api", namespace: "prod", proxyId: "ab" });
      subs.push(webA, webB, apiB);
      await ca.apply({ policy: policy("all") });
      await cb.apply({ policy: policy("web-only", "web") });
      await ca.apply({ policy: policy("api-only", "api") });
      const want = (x: { policies: { name: string }[] }) => x.policies.map((p) => p.name).join();
      await webA.waitFor((x) => want(x) === "all,web-only", "web on A");
      await webB.waitFor((x) => want(x) === "all,web-only", "web on B");
      await apiB.waitFor((x) => want(x) === "all,api-only", "api on B");
      assert.is(webA.latest!.version, webB.latest!.version);
      assert.is.not(webA.latest!.version, apiB.latest!.version);
      assert.is.not(webA.latest!.nonce, webB.latest!.nonce);
      // Status covers the proxies of both replicas (test/server/status-replicas.test.ts has the details).
      await waitFor(async () => (await cb.status("all")).policies[0]!.ackedCount === 3, "all three proxies ACKed, seen from B");
      // B lists its own proxies; A's are counted from A's summary (listed only while they lag).
      // (A's summary is published at most every 250 ms: until it shows wa's ACKs, wa is listed as lagging.)
      const ids = await waitFor(async () => {
        const got = (await cb.status()).proxies.map((p) => p.identity!.proxyId);
        return got.join() === "ab,wb" ? got : undefined;
      }, "B lists only its own proxies once A's summary has wa's ACKs");
      assert.equal(ids, ["ab", "wb"]);
    } finally {
      ca.close();
      cb.close();
    }
  } finally {
    subs.forEach((x) => x.close());
    await stop(a);
    await stop(b);
    await etcd.stop();
  }
});

test("SIGTERM: streams end with UNAVAILABLE 'server shutting down', process exits 0", async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-sigterm-"));
  let p: ServerProcess | undefined;
  const subs: TestSubscriber[] = [];
  try {
    p = await spawnServer(["--data-dir", dataDir, "--log-level", "debug"]);
    subs.push(...[1, 2].map((i) => new TestSubscriber(p!.grpcAddress, { service: "web", proxyId: `p${i}` })));
    await Promise.all(subs.map((x) => x.waitFor(() => true)));
    p.proc.kill("SIGTERM");
    for (const x of subs) {
      const st = await x.waitEnded();
      assert.is(st.code, grpc.status.UNAVAILABLE);
      assert.is(st.details, "server shutting down");
    }
    assert.is(await p.exited, 0);
    assert.match(p.output(), /"hfi server stopped"/);
  } finally {
    subs.forEach((x) => x.close());
    await stop(p);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test("bad flags exit 2 with the reason; --help documents every option with its env var", async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const proc = spawn(process.execPath, ["--import", "tsx", FIXTURE, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      proc.stdout.on("data", (d) => (out += d));
      proc.stderr.on("data", (d) => (out += d));
      proc.on("exit", (code) => resolve({ code, out }));
    });
  const bad = await run(["--log-level", "loud"]);
  assert.is(bad.code, 2);
  assert.match(bad.out, /--log-level: must be one of/);
  const help = await run(["--help"]);
  assert.is(help.code, 0);
  const { SERVER_OPTIONS } = await import("../../server/config.ts");
  for (const o of SERVER_OPTIONS) {
    assert.ok(help.out.includes(o.flag), o.flag);
    assert.ok(help.out.includes(o.env), o.env);
  }
  assert.match(help.out, /Examples:/);
});

test.run();
