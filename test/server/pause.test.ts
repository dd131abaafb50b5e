// The pause switch on the embedded store: Connect JSON and gRPC calls, input errors
// naming the field, per-namespace snapshots, and the state surviving a
// server restart on the same data dir (nothing paused before it is read).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startTestServer, PolicyClient, TestSubscriber, type TestServer } from "../support/server.ts";
import { createPolicyClient, HfiClientError } from "../../cli/client/index.ts";
import type { ConfigSnapshotOut } from "../../proto/loader.ts";

const policy = (name: string) => ({
  metadata: { name },
  spec: { selector: {}, rules: [{ fault: { percentage: 100, abort: { httpStatus: 503 } } }] },
});
const pausedNames = (s: ConfigSnapshotOut) => s.policies.filter((p) => p.paused).map((p) => p.name);

test("embedded store: pause by namespace and name, errors, survives restart", async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-pause-"));
  let server: TestServer | undefined;
  const subs: TestSubscriber[] = [];
  try {
    server = await startTestServer({ dataDir });
    const pc = new PolicyClient(server.grpcAddress);
    await pc.apply({ policy: policy("alpha") });
    await pc.apply({ policy: policy("beta") });
    pc.close();
    const shop = new TestSubscriber(server.grpcAddress, { service: "cart", namespace: "shop", proxyId: "cart-1" });
    const other = new TestSubscriber(server.grpcAddress, { service: "web", namespace: "web", proxyId: "web-1" });
    subs.push(shop, other);
    await shop.waitFor((s) => s.policies.length === 2);
    await other.waitFor((s) => s.policies.length === 2);

    // HTTP: PolicyService over Connect JSON on the HTTP port.
    const post = (method: string, body: unknown) =>
      fetch(`${server!.baseUrl}/hfi.v1.PolicyService/${method}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    let res = await post("PausePolicies", { namespace: "shop" });
    assert.is(res.status, 200);
    assert.equal(((await res.json()) as { state: { namespaces: string[] } }).state.namespaces, ["shop"]);
    await shop.waitFor((s) => pausedNames(s).join() === "alpha,beta", "shop paused");
    assert.equal(pausedNames(other.latest!), []);

    res = await post("PausePolicies", { all: true, namespace: "shop" });
    assert.is(res.status, 400);
    assert.match(await res.text(), "exactly one of all, namespace, policy");
    res = await post("PausePolicies", { namespace: "Not_A_Namespace" });
    assert.is(res.status, 400);
    assert.match(await res.text(), "namespace: must be a lowercase RFC 1123 label");

    // gRPC via the typed client: by name; an unknown name is NOT_FOUND.
    const client = createPolicyClient({ server: server.grpcAddress });
    const st = await client.pausePolicies({ policy: "beta" });
    assert.equal(st.policies, ["beta"]);
    await other.waitFor((s) => pausedNames(s).join() === "beta", "beta paused for web");
    try {
      await client.pausePolicies({ policy: "nope" });
      assert.unreachable("pausing an unknown policy must fail");
    } catch (err) {
      assert.instance(err, HfiClientError);
      assert.is((err as HfiClientError).code, "NOT_FOUND");
    }
    client.close();
    for (const s of subs.splice(0)) s.close();
    await server.close();
    server = undefined;

    // Restart on the same data: the very first snapshot is already paused.
    server = await startTestServer({ dataDir });
    const again = new TestSubscriber(server.grpcAddress, { service: "cart", namespace: "shop", proxyId: "cart-2" });
    subs.push(again);
    const first = await again.waitFor((s) => s.policies.length === 2);
    assert.equal(pausedNames(first), ["alpha", "beta"]);
    assert.is(again.snapshots.length, 1);
    const got = (await (await post("ListPolicies", {})).json()) as { pause: { namespaces: string[]; policies: string[] } };
    assert.equal(got.pause.namespaces, ["shop"]);
    assert.equal(got.pause.policies, ["beta"]);

    // Resume everything clears both.
    res = await post("ResumePolicies", { all: true });
    assert.is(res.status, 200);
    await again.waitFor((s) => pausedNames(s).length === 0, "resumed");
  } finally {
    for (const s of subs) s.close();
    await server?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
