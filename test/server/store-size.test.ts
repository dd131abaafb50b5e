// No store size cliff and no internal write failures, against a real etcd
// and the embedded store through a real server over loopback gRPC: stores of
// 10,000 policies and of 50 MB list (in pages under gRPC's 4 MiB cap), start,
// restart and re-list after compaction; a watch catching up over more than
// 4 MiB of changes, or seeing one range delete of 50 MB, gets every event;
// 50 concurrent plain applies of one name all succeed (last writer wins);
// the per-policy and total size limits answer a clear client error.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import * as grpc from "@grpc/grpc-js";
import { Etcd3 } from "etcd3";
import { pino } from "pino";
import { createPolicyClient, HfiClientError, type Policy } from "../../cli/client/index.ts";
import { parsePolicyInput } from "../../policy/index.ts";
import { EtcdStore, EmbeddedStore, type StoreEvent } from "../../server/store/index.ts";
import { stampPolicy, storedValue } from "../../server/store/stamp.ts";
import { TestEtcd } from "../support/etcd.ts";
import { PolicyClient, startTestServer, waitFor, type TestServer } from "../support/server.ts";

const logger = pino({ level: "silent" });
const MiB = 1024 * 1024;

/** A valid policy of about `kb` KiB of stored JSON (abort headers carry the bulk). */
function bigInput(name: string, kb = 46): Record<string, unknown> {
  const headers = [];
  let left = kb * 1024 - 600;
  for (let i = 0; left > 0; i++) {
    const n = Math.min(8000, left);
    headers.push({ name: `x-pad-${i}`, value: String.fromCharCode(97 + (i % 26)).repeat(n) });
    left -= n + 40;
  }
  return {
    metadata: { name },
    spec: { selector: { service: "svc" }, rules: [{ fault: { percentage: 1, abort: { httpStatus: 503, headers } } }] },
  };
}

function smallInput(name: string): Record<string, unknown> {
  return { metadata: { name }, spec: { selector: { service: "svc" }, rules: [{ fault: { percentage: 1, delayMs: 5 } }] } };
}

/** The stored form of a policy input, as the store writes it. */
function storedJson(input: Record<string, unknown>): string {
  const r = parsePolicyInput(input);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  const now = Date.now();
  return JSON.stringify(storedValue(stampPolicy(r.policy, { version: 0, createdAtUnixMs: now, updatedAtUnixMs: now, expiresAtUnixMs: 0 })));
}

/** Writes values straight into etcd in transactions under etcd's request limits; returns the bytes written. */
async function seedEtcd(endpoint: string, prefix: string, values: [string, string][]): Promise<number> {
  const client = new Etcd3({ hosts: [endpoint] });
  let total = 0;
  try {
    let batch: [string, string][] = [];
    let bytes = 0;
    const flush = async () => {
      if (!batch.length) return;
      await client.kv.txn({
        success: batch.map(([k, v]) => ({ request_put: { key: Buffer.from(prefix + k), value: Buffer.from(v) } })),
      });
      batch = [];
      bytes = 0;
    };
    for (const [k, v] of values) {
      if (batch.length >= 100 || bytes + v.length > 1_200_000) await flush();
      batch.push([k, v]);
      bytes += v.length;
      total += v.length;
    }
    await flush();
  } finally {
    client.close();
  }
  return total;
}

const bigValues = (n: number, kb = 46): [string, string][] =>
  Array.from({ length: n }, (_, i) => {
    const name = `big-${String(i).padStart(5, "0")}`;
    return [name, storedJson(bigInput(name, kb))];
  });
const smallValues = (n: number): [string, string][] =>
  Array.from({ length: n }, (_, i) => {
    const name = `p-${String(i).padStart(5, "0")}`;
    return [name, storedJson(smallInput(name))];
  });

/** Every page of ListPolicies over raw gRPC; checks each response stays under the cap by construction (the client's 4 MiB limit). */
async function listAll(address: string): Promise<{ names: string[]; pages: number; invalid: string[] }> {
  const c = createPolicyClient({ server: address, timeoutMs: 60_000 });
  try {
    const names: string[] = [];
    const invalid: string[] = [];
    let token = "";
    let pages = 0;
    let revision = 0;
    do {
      const res = await c.listPoliciesPage({ pageToken: token });
      pages++;
      if (revision) assert.is(res.revision, revision, "every page reports the listing's first revision");
      revision = res.revision;
      names.push(...res.policies.map((p) => p.metadata!.name));
      invalid.push(...res.invalidPolicies.map((e) => e.name));
      token = res.nextPageToken;
    } while (token);
    return { names, pages, invalid };
  } finally {
    c.close();
  }
}


// ─────────────────────────────────────────────────────────────────── etcd

const et = suite("etcd: no size cliff");
let etcd: TestEtcd;
const servers: TestServer[] = [];
et.before(async () => {
  etcd = await TestEtcd.start();
});
et.after.each(async () => {
  for (const s of servers.splice(0)) await s.close();
});
et.after(async () => {
  await etcd.stop();
});

et("50 MB of policies: a server starts, lists in pages under 4 MiB, restarts, and re-lists after compaction", async () => {
  const values = bigValues(1100);
  const prefix = "/hfi-size/big/policies/";
  const bytes = await seedEtcd(etcd.endpoint, prefix, values);
  assert.ok(bytes > 50_000_000, `seeded ${bytes} bytes`);
  const expected = values.map(([n]) => n);

  // Start: the view's initial list is a single range read today (over the cap: never ready).
  const a = await startTestServer({ etcd, etcdPrefix: prefix, maxStoreBytes: 128 * MiB });
  servers.push(a);
  await waitFor(async () => (await fetch(`${a.baseUrl}/readyz`)).status === 200, "ready", 60_000);
  const l = await listAll(a.grpcAddress);
  assert.equal(l.names, expected);
  assert.ok(l.pages >= 17, `50 MB in ${l.pages} pages of at most ~3 MiB`);
  // The CLI's client follows the pages.
  const c = createPolicyClient({ server: a.grpcAddress, timeoutMs: 60_000 });
  try {
    const all = await c.listPolicies();
    assert.is(all.policies.length, 1100);
    assert.equal(all.invalid, []);
  } finally {
    c.close();
  }

  // Restart on the same store.
  await a.close();
  servers.splice(0);
  const b = await startTestServer({ etcd, etcdPrefix: prefix });
  servers.push(b);
  await waitFor(async () => (await fetch(`${b.baseUrl}/readyz`)).status === 200, "ready after restart", 60_000);
  assert.is((await listAll(b.grpcAddress)).names.length, 1100);

  // Compaction past a watch's revision: the re-list (a reset with every policy) is paged too.
  const store = new EtcdStore({ endpoints: [etcd.endpoint], prefix, logger });
  try {
    const { revision } = await store.list();
    // A few writes elsewhere so that the compaction revision is past the watch's.
    for (let i = 0; i < 3; i++) etcd.ctl("put", `/hfi-size/other/o${i}`, "x");
    etcd.ctl("compact", String(revision + 2));
    const events: StoreEvent[] = [];
    const watch = store.watch(revision, (e) => events.push(e));
    try {
      const reset = await waitFor(() => events.find((e) => e.type === "reset"), "a reset", 60_000);
      assert.ok(reset.type === "reset");
      if (reset.type === "reset") assert.is(reset.policies.length, 1100);
    } finally {
      watch.close();
    }
  } finally {
    await store.close();
  }
});

et("a watch catching up over 4 MiB of changes, and one range delete of 50 MB, delivers every event", async () => {
  const prefix = "/hfi-size/watch/policies/";
  const store = new EtcdStore({ endpoints: [etcd.endpoint], prefix, logger });
  try {
    const r0 = (await store.list()).revision;
    // 150 revisions of ~46 KB (each event also carries the previous value): ~7 MB behind the watch's start.
    const values = bigValues(150);
    for (const [k, v] of values) etcd.ctl("put", prefix + k, v);
    const events: StoreEvent[] = [];
    const watch = store.watch(r0, (e) => events.push(e));
    try {
      await waitFor(() => events.length >= 150, "150 catch-up events", 60_000);
      assert.equal(events.filter((e) => e.type !== "put").map((e) => e.type), []);
      // Re-write the same keys to pile up 50 MB of values, then delete them all in one revision.
      await seedEtcd(etcd.endpoint, prefix, bigValues(1100));
      await waitFor(() => events.length >= 150 + 1100, "the seeded puts", 60_000);
      etcd.ctl("del", "--prefix", prefix);
      await waitFor(() => events.filter((e) => e.type === "delete").length >= 1100, "1100 deletes of one revision", 60_000);
      const dels = events.filter((e) => e.type === "delete");
      assert.is(dels.length, 1100);
      assert.is(new Set(dels.map((e) => e.revision)).size, 1, "one revision");
    } finally {
      watch.close();
    }
  } finally {
    await store.close();
  }
});

et("10,000 policies: lists in pages, every name once, in order", async () => {
  const prefix = "/hfi-size/many/policies/";
  const values = smallValues(10_000);
  await seedEtcd(etcd.endpoint, prefix, values);
  const s = await startTestServer({ etcd, etcdPrefix: prefix });
  servers.push(s);
  await waitFor(async () => (await fetch(`${s.baseUrl}/readyz`)).status === 200, "ready", 60_000);
  const l = await listAll(s.grpcAddress);
  assert.equal(l.names, values.map(([n]) => n));
  // page_size pages by count.
  const c = createPolicyClient({ server: s.grpcAddress });
  try {
    const first = await c.listPoliciesPage({ pageSize: 7 });
    assert.is(first.policies.length, 7);
    const second = await c.listPoliciesPage({ pageSize: 7, pageToken: first.nextPageToken });
    assert.equal(second.policies.map((p) => p.metadata!.name), values.slice(7, 14).map(([n]) => n));
    try {
      await c.listPoliciesPage({ pageToken: "garbage" });
      assert.unreachable("a bad token must be refused");
    } catch (e) {
      assert.instance(e, HfiClientError);
      assert.is((e as HfiClientError).code, "INVALID_ARGUMENT");
      assert.match((e as Error).message, /page_token/);
    }
  } finally {
    c.close();
  }
});

// ─────────────────────────────────────────────────────────── both stores

const both = suite("both stores: concurrent applies, size limits");
let etcd2: TestEtcd | undefined;
const bothServers: TestServer[] = [];
both.after.each(async () => {
  for (const s of bothServers.splice(0)) await s.close();
});
both.after(async () => {
  await etcd2?.stop();
});

async function backend(kind: "etcd" | "embedded", opts: Record<string, unknown> = {}): Promise<TestServer> {
  if (kind === "etcd") etcd2 ??= await TestEtcd.start();
  const s = await startTestServer({ ...(kind === "etcd" ? { etcd: etcd2, etcdPrefix: `/hfi-both/${Math.random()}/` } : {}), ...opts });
  bothServers.push(s);
  return s;
}

const hot = (i: number): Policy => ({
  metadata: { name: "hot" },
  spec: { selector: { service: "svc" }, rules: [{ fault: { percentage: 1, delayMs: i + 1 } }] },
});

for (const kind of ["etcd", "embedded"] as const) {
  both(`${kind}: 50 concurrent plain applies of one name all succeed; the highest version is what is stored`, async () => {
    const s = await backend(kind);
    const clients = Array.from({ length: 5 }, () => createPolicyClient({ server: s.grpcAddress }));
    try {
      const outs = await Promise.allSettled(Array.from({ length: 50 }, (_, i) => clients[i % 5]!.applyPolicy(hot(i))));
      const failed = outs.filter((o) => o.status === "rejected").map((o) => String((o as PromiseRejectedResult).reason));
      assert.equal(failed, [], "no apply may fail");
      const ok = outs.map((o) => (o as PromiseFulfilledResult<Awaited<ReturnType<typeof clients[0]["applyPolicy"]>>>).value);
      assert.is(ok.filter((o) => o.result === "created").length, 1, "one created, the rest configured");
      const max = ok.reduce((a, b) => (b.policy.metadata!.version > a.policy.metadata!.version ? b : a));
      const stored = await clients[0]!.getPolicy("hot");
      assert.is(stored.metadata!.version, max.policy.metadata!.version);
      assert.equal(stored.spec, max.policy.spec);
      // An explicit expected version is still the only way to get ABORTED.
      try {
        await clients[0]!.applyPolicy(hot(99), { expectedVersion: stored.metadata!.version - 1 });
        assert.unreachable("a stale expected version must fail");
      } catch (e) {
        assert.is((e as HfiClientError).code, "ABORTED");
      }
    } finally {
      for (const c of clients) c.close();
    }
  });

  both(`${kind}: over the per-policy limit → INVALID_ARGUMENT naming it; over the total → RESOURCE_EXHAUSTED, nothing stored`, async () => {
    const s = await backend(kind, { maxStoreBytes: 200 * 1024 });
    const c = new PolicyClient(s.grpcAddress);
    try {
      const tooBig = await c.apply({ policy: bigInput("too-big", 70) as Policy }).catch((e: grpc.ServiceError) => e);
      assert.is((tooBig as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT);
      assert.match((tooBig as grpc.ServiceError).details, /encoded size \d+ bytes exceeds the limit of 65536 bytes/);
      for (const n of ["f1", "f2", "f3", "f4"]) await c.apply({ policy: bigInput(n, 46) as Policy });
      const full = await c.apply({ policy: bigInput("f5", 46) as Policy }).catch((e: grpc.ServiceError) => e);
      assert.is((full as grpc.ServiceError).code, grpc.status.RESOURCE_EXHAUSTED);
      assert.match((full as grpc.ServiceError).details, /policy "f5": the store would hold \d+ bytes of policies, over its total limit of 204800 bytes/);
      assert.is((await c.get("f5").catch((e: grpc.ServiceError) => e) as grpc.ServiceError).code, grpc.status.NOT_FOUND);
      // Replacing a policy by one of the same size still fits; deleting makes room.
      await c.apply({ policy: bigInput("f1", 46) as Policy });
      await c.delete("f1");
      await c.apply({ policy: bigInput("f5", 46) as Policy });
    } finally {
      c.close();
    }
  });
}

// ──────────────────────────────────────────────────────────────── embedded

const emb = suite("embedded: no size cliff");
emb("50 MB in the data file: the server starts, lists in pages, restarts", async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-size-emb-"));
  try {
    const values = bigValues(1100);
    const policies: Record<string, { version: number; value: unknown }> = {};
    values.forEach(([n, v], i) => (policies[n] = { version: i + 1, value: JSON.parse(v) }));
    fs.writeFileSync(path.join(dataDir, "policies.json"), JSON.stringify({ format: "hfi-embedded-store/v1", revision: 1100, policies }));
    assert.ok(fs.statSync(path.join(dataDir, "policies.json")).size > 50_000_000);
    for (let round = 0; round < 2; round++) {
      const s = await startTestServer({ dataDir, maxStoreBytes: 128 * MiB });
      try {
        const l = await listAll(s.grpcAddress);
        const added = Array.from({ length: round }, (_, i) => `added-${i}`);
        assert.equal(l.names, [...added, ...values.map(([n]) => n)]);
        assert.ok(l.pages >= 17, String(l.pages));
        // A write on top of 50 MB works and survives the restart.
        const c = new PolicyClient(s.grpcAddress);
        await c.apply({ policy: bigInput(`added-${round}`, 46) as Policy });
        c.close();
      } finally {
        await s.close();
      }
    }
    const st = await EmbeddedStore.open({ dataDir, logger });
    try {
      const names = (await st.list()).policies.map((p) => p.policy.metadata!.name);
      assert.is(names.length, 1102);
      assert.ok(names.includes("added-0") && names.includes("added-1"));
    } finally {
      await st.close();
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

et.run();
both.run();
emb.run();
