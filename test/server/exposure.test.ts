// Secure by default, on the real `hfi server` process: loopback unless
// authentication is configured, refusals that name the flags that fix them,
// --allow-unauthenticated warning at every start, and listeners that cannot
// bind saying which address is taken (gRPC and HTTP, one process and workers).
import net from "node:net";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_CONFIG } from "../../server/config.ts";
import { runServerToExit, spawnServer } from "../support/server-process.ts";

const dirs: string[] = [];
const dataDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-exposure-"));
  dirs.push(d);
  return d;
};
test.after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const FLAGS = ["--api-token-file", "--stream-token-file", "--mesh-identity", "--allow-unauthenticated"];

test("with no flags the server listens on loopback only (127.0.0.1:9090 and :8080)", async () => {
  assert.is(DEFAULT_CONFIG.grpcAddr, "127.0.0.1:9090");
  assert.is(DEFAULT_CONFIG.httpAddr, "127.0.0.1:8080");
  // The real process with no address flags: it either listens on the loopback defaults or,
  // when another process holds them, says so for that loopback address. Never 0.0.0.0.
  const r = await runServerToExit(["--data-dir", dataDir(), "--workers", "1"], {}, 8000);
  const listening = /"grpcAddress":"127\.0\.0\.1:9090","httpAddress":"127\.0\.0\.1:8080"/.test(r.output);
  const taken = /cannot listen on 127\.0\.0\.1:(9090|8080)/.test(r.stderr);
  assert.ok(listening || taken, r.output);
});

test("a non-loopback address without authentication refuses to start and names the fixes", async () => {
  for (const args of [["--grpc-addr", "0.0.0.0:0", "--http-addr", "127.0.0.1:0"], ["--grpc-addr", "127.0.0.1:0", "--http-addr", "0.0.0.0:0"]]) {
    const r = await runServerToExit([...args, "--data-dir", dataDir()]);
    assert.is(r.code, 2, r.output);
    assert.match(r.stderr, /is not a loopback address and no authentication is configured/);
    for (const f of FLAGS) assert.ok(r.stderr.includes(f), `names ${f}: ${r.stderr}`);
  }
});

test("an API token without stream authentication refuses to start (the stream would hand out every rule)", async () => {
  const r = await runServerToExit(["--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--data-dir", dataDir()], { HFI_API_TOKEN: "t" });
  assert.is(r.code, 2, r.output);
  assert.match(r.stderr, /the management API is protected but the config stream is not/);
  assert.match(r.stderr, /--stream-token-file/);
  assert.match(r.stderr, /--mesh-identity/);
});

test("--allow-unauthenticated starts on 0.0.0.0 and warns at every start; with tokens 0.0.0.0 needs no flag", async () => {
  for (let i = 0; i < 2; i++) {
    const s = await spawnServer(["--grpc-addr", "0.0.0.0:0", "--http-addr", "0.0.0.0:0", "--data-dir", dataDir(), "--workers", String(i + 1), "--allow-unauthenticated"]);
    await s.stop();
    assert.match(s.output(), /"level":40[^\n]*--allow-unauthenticated: the management API and config stream are open to anyone who can connect on --grpc-addr 0\.0\.0\.0:0 and --http-addr 0\.0\.0\.0:0/);
  }
  const s = await spawnServer(["--grpc-addr", "0.0.0.0:0", "--http-addr", "0.0.0.0:0", "--data-dir", dataDir(), "--workers", "1"], { HFI_API_TOKEN: "a", HFI_STREAM_TOKEN: "b" });
  await s.stop();
  assert.match(s.output(), /"apiAuth":true,"streamAuth":true/);
});

async function holdPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => new Promise((r) => srv.close(() => r())) };
}

test("a port in use: the error names the address and the flag (gRPC and HTTP, 1 and 2 workers)", async () => {
  const held = await holdPort();
  try {
    for (const workers of ["1", "2"]) {
      const g = await runServerToExit(["--grpc-addr", `127.0.0.1:${held.port}`, "--http-addr", "127.0.0.1:0", "--data-dir", dataDir(), "--workers", workers]);
      assert.is(g.code, 1, g.output);
      assert.ok(g.stderr.includes(`hfi server: cannot listen on 127.0.0.1:${held.port} (--grpc-addr): address already in use`), `workers ${workers}: ${g.stderr}`);
      assert.not.match(g.stderr, /No address added/);
      const h = await runServerToExit(["--grpc-addr", "127.0.0.1:0", "--http-addr", `127.0.0.1:${held.port}`, "--data-dir", dataDir(), "--workers", workers]);
      assert.is(h.code, 1, h.output);
      assert.ok(h.stderr.includes(`hfi server: cannot listen on 127.0.0.1:${held.port} (--http-addr): address already in use`), `workers ${workers}: ${h.stderr}`);
    }
  } finally {
    await held.close();
  }
});

test.run();
