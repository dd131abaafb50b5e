// Control-plane addresses for the CLI and the typed client: the old
// hfi-cli's --control-plane-addr, several addresses with failover, and an
// error that says so when the address is an HTTP port instead of gRPC.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createPolicyClient } from "../../cli/client/index.ts";
import { freePort } from "../support/ports.ts";
import { startTestServer } from "../support/server.ts";
import { runHfi } from "./run.ts";

const policy = (name: string) => ({ metadata: { name }, spec: { rules: [{ fault: { percentage: 10, abort: { httpStatus: 503 } } }] } });

test("hfi policy accepts the old --control-plane-addr http://HOST:PORT", async () => {
  const s = await startTestServer();
  try {
    const c = createPolicyClient({ server: s.grpcAddress });
    await c.applyPolicy(policy("old-flag"));
    c.close();
    const r = await runHfi(["policy", "list", "-o", "json", "--control-plane-addr", `http://${s.grpcAddress}`]);
    assert.is(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).policies.map((p: any) => p.metadata.name), ["old-flag"]);
  } finally {
    await s.close();
  }
});

test("pointed at the HTTP port, the error says it is the HTTP port and which port to use", async () => {
  const s = await startTestServer();
  try {
    for (const flag of ["--server", "--control-plane-addr"]) {
      const addr = flag === "--server" ? s.httpAddress : `http://${s.httpAddress}`;
      const r = await runHfi(["policy", "list", flag, addr, "--timeout", "3s"]);
      assert.is(r.code, 1);
      assert.match(r.stderr, new RegExp(`${s.httpAddress.replace(/\./g, "\\.")} is an HFI \\(or old control plane\\) HTTP port`));
      assert.match(r.stderr, /--grpc-addr port \(default 9090\)/);
      assert.not.match(r.stderr, /is `hfi server` running/);
    }
    // A closed port is still "is hfi server running?".
    const dead = `127.0.0.1:${await freePort()}`;
    const r = await runHfi(["policy", "list", "--server", dead, "--timeout", "3s"]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /is `hfi server` running/);
  } finally {
    await s.close();
  }
});

test("several addresses: a call that cannot reach one goes to the next (CLI and typed client)", async () => {
  const a = await startTestServer();
  const b = await startTestServer();
  const dead = `127.0.0.1:${await freePort()}`;
  try {
    const seed = createPolicyClient({ server: b.grpcAddress });
    await seed.applyPolicy(policy("on-b"));
    seed.close();
    const r = await runHfi(["policy", "get", "on-b", "-o", "json", "--server", `${dead},${b.grpcAddress}`, "--timeout", "3s"]);
    assert.is(r.code, 0, r.stderr);
    assert.is(JSON.parse(r.stdout).metadata.name, "on-b");

    const c = createPolicyClient({ server: [a.grpcAddress, b.grpcAddress], timeoutMs: 3000 });
    await c.applyPolicy(policy("on-a"));
    assert.is(c.server, a.grpcAddress);
    await a.close();
    // A is gone: the same client now answers from B (which has its own store here).
    assert.is((await c.getPolicy("on-b")).metadata!.name, "on-b");
    assert.is(c.server, b.grpcAddress);
    c.close();

    const none = createPolicyClient({ server: `${dead},${a.grpcAddress}`, timeoutMs: 2000 });
    try {
      await none.listPolicies();
      assert.unreachable("no address answers");
    } catch (err) {
      assert.is((err as { code: string }).code, "UNAVAILABLE");
      assert.match((err as Error).message, /no control-plane address could be reached/);
      assert.ok((err as Error).message.includes(dead) && (err as Error).message.includes(a.grpcAddress));
    } finally {
      none.close();
    }
  } finally {
    await a.close().catch(() => {});
    await b.close();
  }
});

test.run();
