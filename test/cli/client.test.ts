// The typed client ("hfi/client") against a real server: every call, the
// error mapping, and watchPolicies as an async iterable.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createPolicyClient, HfiClientError, type Policy, type PolicyEventOut } from "hfi/client";
import { startTestServer } from "../support/server.ts";

const policy = (name: string, percentage = 50): Policy => ({
  metadata: { name, labels: { team: "qa" } },
  spec: {
    selector: { service: "web", namespace: "shop" },
    rules: [{ match: { path: { prefix: "/api" } }, fault: { percentage, delay: { fixedDelayMs: 250 } } }],
  },
});

async function rejects(p: Promise<unknown>): Promise<HfiClientError> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, HfiClientError);
    return err as HfiClientError;
  }
  throw new Error("expected a rejection");
}

test("apply, get, list, delete, status; CAS and create-only; dry run", async () => {
  const server = await startTestServer();
  const client = createPolicyClient({ server: server.grpcAddress, timeoutMs: 5000 });
  try {
    const created = await client.applyPolicy(policy("a"));
    assert.is(created.result, "created");
    assert.ok(created.policy.metadata!.version > 0);
    assert.is((await client.applyPolicy(policy("a"))).result, "unchanged");
    const dry = await client.applyPolicy(policy("a", 75), { dryRun: true });
    assert.is(dry.result, "configured");
    assert.is(dry.policy.spec!.rules[0]!.fault!.percentage, 75);
    assert.is((await client.getPolicy("a")).spec!.rules[0]!.fault!.percentage, 50, "dry run stored nothing");

    const v = (await client.getPolicy("a")).metadata!.version;
    const conflict = await rejects(client.applyPolicy(policy("a", 10), { expectedVersion: v + 100 }));
    assert.is(conflict.code, "ABORTED");
    const updated = await client.applyPolicy(policy("a", 10), { expectedVersion: v });
    assert.is(updated.result, "configured");
    const exists = await rejects(client.applyPolicy(policy("a"), { createOnly: true }));
    assert.is(exists.code, "ALREADY_EXISTS");

    await client.applyPolicy(policy("b"));
    const list = await client.listPolicies();
    assert.equal(list.policies.map((p) => p.metadata!.name), ["a", "b"]);
    assert.ok(list.revision > 0);

    const st = await client.getPolicyStatus();
    assert.equal(st.policies.map((p) => p.name), ["a", "b"]);
    assert.equal(st.policies[0]!.faultTypes, ["delay"]);
    assert.is((await client.getPolicyStatus("b")).policies.length, 1);

    const del = await client.deletePolicy("a");
    assert.is(del.policy.metadata!.name, "a");
    const missing = await rejects(client.getPolicy("a"));
    assert.is(missing.code, "NOT_FOUND");
    assert.is(missing.grpcCode, 5);
    assert.match(missing.message, /policy "a" not found/);
    assert.is((await rejects(client.deletePolicy("a"))).code, "NOT_FOUND");
  } finally {
    client.close();
    await server.close();
  }
});

test("validation errors carry the field path and reason", async () => {
  const server = await startTestServer();
  const client = createPolicyClient({ server: server.grpcAddress });
  try {
    const bad = policy("bad");
    bad.spec!.rules![0]!.fault!.percentage = 250;
    bad.metadata!.name = "Bad_Name";
    const err = await rejects(client.applyPolicy(bad));
    assert.is(err.code, "INVALID_ARGUMENT");
    const byPath = new Map(err.fieldErrors.map((f) => [f.path, f.reason]));
    assert.is(byPath.get("spec.rules[0].fault.percentage"), "must be between 0 and 100");
    assert.ok(byPath.has("metadata.name"), JSON.stringify(err.fieldErrors));
  } finally {
    client.close();
    await server.close();
  }
});

test("unreachable server: UNAVAILABLE naming the address and what to check", async () => {
  const client = createPolicyClient({ server: "127.0.0.1:1" });
  try {
    const err = await rejects(client.listPolicies());
    assert.is(err.code, "UNAVAILABLE");
    assert.is(err.server, "127.0.0.1:1");
    assert.match(err.message, /cannot reach the HFI server at 127\.0\.0\.1:1 .*check --server\/HFI_SERVER/);
    // A watch fails the same way, on the first next().
    const it = client.watchPolicies()[Symbol.asyncIterator]();
    const werr = await rejects(it.next());
    assert.is(werr.code, "UNAVAILABLE");
  } finally {
    client.close();
  }
});

test("token: UNAUTHENTICATED without it (with a hint), accepted with it", async () => {
  const server = await startTestServer({ apiToken: "t0ken", streamToken: "str3am" });
  const anon = createPolicyClient({ server: server.grpcAddress });
  const authed = createPolicyClient({ server: server.grpcAddress, token: "t0ken" });
  try {
    const err = await rejects(anon.listPolicies());
    assert.is(err.code, "UNAUTHENTICATED");
    assert.match(err.message, /--token\/HFI_TOKEN/);
    assert.equal((await authed.listPolicies()).policies, []);
    // A URL-style address works too.
    const url = createPolicyClient({ server: `http://${server.grpcAddress}/`, token: "t0ken" });
    assert.is(url.server, server.grpcAddress);
    assert.equal((await url.listPolicies()).policies, []);
    url.close();
  } finally {
    anon.close();
    authed.close();
    await server.close();
  }
});

test("watchPolicies: initial events, PUT and DELETE as they happen, break cancels", async () => {
  const server = await startTestServer();
  const client = createPolicyClient({ server: server.grpcAddress });
  try {
    await client.applyPolicy(policy("existing"));
    const seen: string[] = [];
    let step = 0;
    for await (const ev of client.watchPolicies({ sendInitial: true })) {
      seen.push(`${ev.type} ${ev.policy?.metadata?.name}`);
      // Drive the next change from inside the loop: the stream is live.
      if (step === 0) await client.applyPolicy(policy("new"));
      if (step === 1) await client.deletePolicy("new");
      if (++step === 3) break;
    }
    assert.equal(seen, ["TYPE_PUT existing", "TYPE_PUT new", "TYPE_DELETE new"]);

    // Several watches at once, each cancelled by return().
    const its = [0, 1].map(() => client.watchPolicies({ sendInitial: true })[Symbol.asyncIterator]());
    for (const it of its) assert.is(((await it.next()).value as PolicyEventOut).policy!.metadata!.name, "existing");
    for (const it of its) assert.equal(await it.return!(), { done: true, value: undefined });
    // The client still works after cancelled watches.
    assert.is((await client.listPolicies()).policies.length, 1);
  } finally {
    client.close();
    await server.close();
  }
});

test("watchPolicies: the loop ends with an error when the server goes away (no hang)", async () => {
  const server = await startTestServer();
  const client = createPolicyClient({ server: server.grpcAddress });
  try {
    await client.applyPolicy(policy("x"));
    const it = client.watchPolicies({ sendInitial: true })[Symbol.asyncIterator]();
    assert.is((await it.next()).done, false);
    // Settled into a value at once, so the rejection is handled while close() runs.
    const pending = it.next().then(
      (r) => ({ r, err: undefined }),
      (err: unknown) => ({ r: undefined, err }),
    );
    await server.close();
    const { r, err } = await pending;
    if (err) {
      assert.instance(err, HfiClientError);
      assert.is((err as HfiClientError).code, "UNAVAILABLE");
    } else assert.is(r!.done, true, "either ends or throws");
  } finally {
    client.close();
  }
});

test.run();
