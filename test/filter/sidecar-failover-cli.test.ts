// `hfi sidecar --control-plane A,B` as the real CLI process (sidecar-failover.test.ts
// runs the in-process sidecar on two replicas of one etcd) fails over the way
// Envoy's cluster does for the filter's config stream: a first address that
// is down is skipped, and when the control plane it is on goes away mid-run
// the streams reconnect to the other one. Each control plane is a real server
// with its own store; where the streams are is read from each one's status
// (a sidecar with --workers 1 holds 2 streams: main thread + worker).
import { test } from "uvu";
import * as assert from "uvu/assert";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { spawn, type ChildProcess } from "node:child_process";
import { startTestServer, PolicyClient, type TestServer } from "../support/server.ts";
import { freePort } from "../support/ports.ts";
import { HFI_BIN, cleanEnv } from "../cli/run.ts";
import { FILTER_WASM, waitFor } from "./helpers.ts";

const STREAMS = 2; // --workers 1 + the main thread's VM

let upstream: http.Server;
let upstreamUrl = "";
test.before(async () => {
  upstream = http.createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});
test.after(() => new Promise<void>((r) => upstream.close(() => r())));

async function sidecar(controlPlane: string): Promise<{ proc: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const proc = spawn(
    process.execPath,
    [HFI_BIN, "sidecar", "--listen", `127.0.0.1:${port}`, "--upstream", upstreamUrl, "--control-plane", controlPlane, "--service", "payments", "--namespace", "demo", "--workers", "1", "--wasm", FILTER_WASM, "--log-level", "warn"],
    { env: cleanEnv(), stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr += String(d)));
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`hfi sidecar exited ${proc.exitCode}: ${stderr}`);
    return fetch(`http://127.0.0.1:${port}/`).then((r) => r.ok, () => false);
  }, "hfi sidecar listening", 20_000);
  return {
    proc,
    stop: async () => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    },
  };
}

/** Config streams of service payments that `server` currently holds and that ACKed. */
async function streamsOn(pc: PolicyClient): Promise<number> {
  const st = await pc.status();
  return st.proxies.filter((p) => p.ackedVersion && p.identity?.service === "payments").length;
}

async function controlPlane(): Promise<{ server: TestServer; pc: PolicyClient }> {
  const server = await startTestServer();
  return { server, pc: new PolicyClient(server.grpcAddress) };
}

test("first address down: the streams go to the second", async () => {
  const dead = `127.0.0.1:${await freePort()}`;
  const b = await controlPlane();
  const sc = await sidecar(`${dead},${b.server.grpcAddress}`);
  try {
    await waitFor(async () => (await streamsOn(b.pc)) === STREAMS, `${STREAMS} streams on the second control plane`, 30_000);
  } finally {
    await sc.stop();
    b.pc.close();
    await b.server.close();
  }
});

test("the first control plane dies mid-run: the streams reconnect to the other", async () => {
  const a = await controlPlane();
  const b = await controlPlane();
  const sc = await sidecar(`${a.server.grpcAddress},${b.server.grpcAddress}`);
  try {
    await waitFor(async () => (await streamsOn(a.pc)) === STREAMS, `${STREAMS} streams on the first control plane`, 30_000);
    assert.is(await streamsOn(b.pc), 0, "nothing on the second while the first is up");
    a.pc.close();
    await a.server.close();
    await waitFor(async () => (await streamsOn(b.pc)) === STREAMS, `${STREAMS} streams moved to the second control plane`, 30_000);
    assert.is(sc.proc.exitCode, null, "the sidecar kept running");
  } finally {
    await sc.stop();
    b.pc.close();
    await b.server.close();
  }
});

test.run();
