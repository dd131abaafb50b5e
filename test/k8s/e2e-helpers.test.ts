// The parsing the cluster e2e scripts rely on, run on the real thing they
// will read in a cluster: scripts/k8s/lib.sh's streams_by_pod on the output
// of the real `hfi policy status -o json` (real server, a real `hfi sidecar`
// pool with 2 workers, i.e. 3 streams, one of them the idle main thread's).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import http from "node:http";
import type net from "node:net";
import path from "node:path";
import { startTestServer, PolicyClient, waitFor } from "../support/server.ts";
import { startSidecar } from "../../filter/host/sidecar/proxy.ts";
import { FILTER_WASM, closeAll, quietLogger } from "../filter/helpers.ts";
import { HFI_BIN, cleanEnv } from "../cli/run.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

test("streams_by_pod: pod, streams, idle, service, version and source from hfi policy status -o json", async () => {
  const upstream = http.createServer((_req, res) => res.end("ok"));
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
  const server = await startTestServer();
  const pc = new PolicyClient(server.grpcAddress);
  const sidecar = await startSidecar({
    listen: "127.0.0.1:0",
    upstream: `http://127.0.0.1:${(upstream.address() as net.AddressInfo).port}`,
    controlPlane: server.grpcAddress,
    workload: "reviews-v1",
    labels: { app: "reviews", version: "v1" },
    namespace: "demo",
    pod: "reviews-v1-abc",
    workers: 2,
    wasm: FILTER_WASM,
    logger: quietLogger,
  });
  try {
    for (let i = 0; i < 4; i++) await fetch(`http://${sidecar.address}/`);
    await waitFor(async () => (await pc.status()).proxies.filter((p) => p.idle).length === 1, "one idle stream");
    // Async: the server runs in this process and must keep answering.
    const status = await run(process.execPath, [HFI_BIN, "policy", "status", "-o", "json", "--server", server.grpcAddress], { env: cleanEnv() });
    const parsed = spawnSync("bash", ["-c", `source scripts/k8s/lib.sh; streams_by_pod`], {
      cwd: ROOT,
      input: status.stdout,
      encoding: "utf8",
      env: { ...process.env, DEMO_NAMESPACE: "demo" },
    });
    assert.is(parsed.status, 0, parsed.stderr);
    assert.is(parsed.stdout, "reviews-v1-abc 3 1 reviews v1 label_app\n");
    const other = spawnSync("bash", ["-c", `source scripts/k8s/lib.sh; streams_by_pod`], {
      cwd: ROOT,
      input: status.stdout,
      encoding: "utf8",
      env: { ...process.env, DEMO_NAMESPACE: "prod" },
    });
    assert.is(other.stdout, "", "only pods of DEMO_NAMESPACE");
  } finally {
    await closeAll(sidecar);
    pc.close();
    await server.close();
    await new Promise((r) => upstream.close(r));
  }
});

test.run();
