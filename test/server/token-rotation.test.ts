// Token files are followed without a restart, on a real `hfi server` with 2
// workers (each worker watches the files for gRPC and StreamConfig, the
// primary for REST): after the files are rewritten the new tokens work and
// the old ones are refused; an emptied file keeps the last token.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PolicyClient, TestSubscriber, waitFor } from "../support/server.ts";
import { spawnServer } from "../support/server-process.ts";

const codeOf = (p: Promise<unknown>) => p.then(() => grpc.status.OK, (e: grpc.ServiceError) => e.code);

async function restStatus(addr: string, token: string): Promise<number> {
  const r = await fetch(`http://${addr}/v1/policies`, { headers: { authorization: `Bearer ${token}` } });
  await r.arrayBuffer();
  return r.status;
}

async function streamCode(addr: string, token: string): Promise<number> {
  const s = new TestSubscriber(addr, { service: "web", namespace: "d", proxyId: `p-${token}` }, { token });
  try {
    // An object: OK is 0, and waitFor waits for a truthy value.
    const r = await waitFor(() => (s.snapshots.length ? { code: grpc.status.OK } : s.status ? { code: s.status.code } : undefined), "stream answer");
    return r.code;
  } finally {
    s.close();
  }
}

test("rewritten token files take effect without a restart (gRPC, REST, StreamConfig; 2 workers)", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-rotate-"));
  const apiFile = path.join(dir, "api");
  const streamFile = path.join(dir, "stream");
  fs.writeFileSync(apiFile, "old-api\n");
  fs.writeFileSync(streamFile, "old-stream\n");
  const server = await spawnServer([
    "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--data-dir", path.join(dir, "data"), "--workers", "2",
    "--api-token-file", apiFile, "--stream-token-file", streamFile,
  ]);
  const oldClient = new PolicyClient(server.grpcAddress, "old-api");
  const newClient = new PolicyClient(server.grpcAddress, "new-api");
  try {
    assert.is(await codeOf(oldClient.list()), grpc.status.OK);
    assert.is(await codeOf(newClient.list()), grpc.status.UNAUTHENTICATED);
    assert.is(await streamCode(server.grpcAddress, "old-stream"), grpc.status.OK);

    // Kubernetes swaps a Secret's files by renaming: do the same.
    fs.writeFileSync(`${apiFile}.tmp`, "new-api\n");
    fs.renameSync(`${apiFile}.tmp`, apiFile);
    fs.writeFileSync(streamFile, "new-stream\n");

    // Several calls: they land on both workers.
    await waitFor(async () => {
      for (let i = 0; i < 4; i++) if ((await codeOf(newClient.list())) !== grpc.status.OK) return false;
      return true;
    }, "new API token accepted by every worker");
    for (let i = 0; i < 4; i++) assert.is(await codeOf(oldClient.list()), grpc.status.UNAUTHENTICATED, "old API token refused");
    await waitFor(async () => (await restStatus(server.httpAddress, "new-api")) === 200, "REST takes the new token");
    assert.is(await restStatus(server.httpAddress, "old-api"), 401);
    await waitFor(async () => {
      for (let i = 0; i < 4; i++) if ((await streamCode(server.grpcAddress, "new-stream")) !== grpc.status.OK) return false;
      return true;
    }, "new stream token accepted");
    assert.is(await streamCode(server.grpcAddress, "old-stream"), grpc.status.UNAUTHENTICATED);

    // An emptied file (a half-done rotation) keeps the last good token.
    fs.writeFileSync(apiFile, "");
    await waitFor(() => /token file empty; keeping the previous token/.test(server.output()), "warning logged");
    assert.is(await codeOf(newClient.list()), grpc.status.OK);
  } finally {
    oldClient.close();
    newClient.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
