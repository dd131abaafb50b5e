// One contract suite, run against both PolicyStore implementations (the
// embedded file store in a temp dir, and etcd via a real TestEtcd), plus the
// behaviour only one of them has: etcdctl writes behind the store's back, an
// etcd crash while watching, compaction, leases across store instances; and
// restart/crash-safety/corruption of the embedded data file.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { parsePolicyInput } from "../../policy/index.ts";
import { EmbeddedStore, EtcdStore, StoreError, createStore, type PolicyStore, type StoreEvent } from "../../server/store/index.ts";
import type { PolicyOut } from "../../proto/loader.ts";
import { TestEtcd } from "../support/etcd.ts";
import { freePort } from "../support/ports.ts";

const logger = pino({ level: "silent" });

function policy(name: string, delayMs = 100, extra: Record<string, unknown> = {}): PolicyOut {
  const r = parsePolicyInput({
    metadata: { name },
    spec: { selector: { service: "svc", namespace: "ns" }, rules: [{ fault: { percentage: 50, delay_ms: delayMs, ...extra } }] },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.policy;
}

async function until<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function rejects(p: Promise<unknown>, code: StoreError["code"]): Promise<StoreError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, StoreError);
    assert.is((e as StoreError).code, code, (e as Error).message);
    return e as StoreError;
  }
  throw new assert.Assertion({ message: `expected StoreError(${code})`, operator: "rejects", generated: true, expects: code, actual: "resolved" });
}

/** A watch that records events. */
function record(store: PolicyStore, from: number) {
  const events: StoreEvent[] = [];
  const w = store.watch(from, (e) => events.push(e));
  return {
    events,
    close: () => w.close(),
    waitFor: (n: number, what = `${n} events`) => until(what, () => events.length >= n),
  };
}

const brief = (e: StoreEvent) =>
  e.type === "reset" ? `reset@${e.revision}:${e.policies.map((p) => p.policy.metadata!.name).join(",")}` : `${e.type} ${e.name}`;

function revisionsIncrease(events: StoreEvent[]): void {
  for (let i = 1; i < events.length; i++)
    assert.ok(events[i]!.revision > events[i - 1]!.revision, `revisions must increase: ${events.map((e) => e.revision)}`);
}

interface Backend {
  name: string;
  /** A store on namespace `ns`; the same ns gives the same data (a restart). */
  open(ns: string): Promise<PolicyStore>;
}

let nsCounter = 0;
const freshNs = () => `t${++nsCounter}`;

/** The contract every PolicyStore must meet. */
function contract(b: Backend): void {
  const s = suite(`store contract: ${b.name}`);
  const opened: PolicyStore[] = [];
  const open = async (ns = freshNs()) => {
    const st = await b.open(ns);
    opened.push(st);
    return st;
  };
  s.after.each(async () => {
    for (const st of opened.splice(0)) await st.close();
  });

  s("CRUD: put, get, list (sorted), update keeps created, delete returns the previous", async () => {
    const st = await open();
    assert.equal(await st.list().then((l) => l.policies), []);
    const b1 = await st.put(policy("b"));
    const a1 = await st.put(policy("a"));
    assert.ok(b1.version > 0);
    assert.is(b1.policy.metadata!.version, b1.version);
    assert.ok(b1.policy.metadata!.createdAtUnixMs > 0);
    assert.is(b1.policy.metadata!.updatedAtUnixMs, b1.policy.metadata!.createdAtUnixMs);
    assert.is(b1.policy.metadata!.expiresAtUnixMs, 0);
    assert.equal(b1.policy.spec, policy("b").spec);

    const got = await st.get("b");
    assert.equal(got, { policy: b1.policy, version: b1.version });
    assert.is(await st.get("nope"), undefined);
    const l = await st.list();
    assert.equal(l.policies.map((p) => p.policy.metadata!.name), ["a", "b"]);
    assert.ok(l.revision >= a1.version);

    const b2 = await st.put(policy("b", 200));
    assert.ok(b2.version > a1.version);
    assert.is(b2.policy.metadata!.createdAtUnixMs, b1.policy.metadata!.createdAtUnixMs);
    assert.ok(b2.policy.metadata!.updatedAtUnixMs >= b1.policy.metadata!.updatedAtUnixMs);
    assert.is((await st.get("b"))!.policy.spec!.rules[0]!.fault!.delay!.fixedDelayMs, 200);

    const del = await st.delete("b");
    assert.equal(del.previous, { policy: b2.policy, version: b2.version });
    assert.ok(del.revision > b2.version);
    assert.is(await st.get("b"), undefined);
    assert.equal((await st.list()).policies.map((p) => p.policy.metadata!.name), ["a"]);
    // Returned objects are copies: mutating them does not change the store.
    a1.policy.spec!.priority = 99;
    assert.is((await st.get("a"))!.policy.spec!.priority, 0);
  });

  s("versions increase with every write", async () => {
    const st = await open();
    const versions: number[] = [];
    for (let i = 0; i < 5; i++) versions.push((await st.put(policy(i % 2 ? "x" : "y", i + 1))).version);
    versions.push((await st.delete("x")).revision);
    versions.push((await st.put(policy("x"))).version);
    for (let i = 1; i < versions.length; i++) assert.ok(versions[i]! > versions[i - 1]!, String(versions));
  });

  s("compare-and-swap: expected version must match (put and delete)", async () => {
    const st = await open();
    const v1 = await st.put(policy("c"));
    const v2 = await st.put(policy("c", 2), { expectedVersion: v1.version });
    await rejects(st.put(policy("c", 3), { expectedVersion: v1.version }), "conflict");
    await rejects(st.delete("c", { expectedVersion: v1.version }), "conflict");
    await rejects(st.put(policy("absent"), { expectedVersion: 12345 }), "conflict");
    assert.is((await st.get("c"))!.version, v2.version);
    const d = await st.delete("c", { expectedVersion: v2.version });
    assert.is(d.previous.version, v2.version);
  });

  s("createOnly fails when the name exists; delete of a missing name is not_found", async () => {
    const st = await open();
    await st.put(policy("n"), { createOnly: true });
    const e = await rejects(st.put(policy("n", 5), { createOnly: true }), "already_exists");
    assert.match(e.message, /"n"/);
    assert.is((await st.get("n"))!.policy.spec!.rules[0]!.fault!.delay!.fixedDelayMs, 100);
    await rejects(st.delete("missing"), "not_found");
  });

  s("TTL: stamped expiry, deleted by the store with reason expired; an update without TTL keeps the policy", async () => {
    const st = await open();
    const start = (await st.list()).revision;
    const rec = record(st, start);
    try {
      const t = await st.put(policy("short"), { ttlSeconds: 1 });
      assert.is(t.policy.metadata!.expiresAtUnixMs, t.policy.metadata!.updatedAtUnixMs + 1000);
      // "kept" had a TTL, then was updated without one; "sentinel" gets its TTL after both.
      await st.put(policy("kept"), { ttlSeconds: 1 });
      const kept = await st.put(policy("kept", 7));
      assert.is(kept.policy.metadata!.expiresAtUnixMs, 0);
      await st.put(policy("sentinel"), { ttlSeconds: 1 });

      await until("short and sentinel to expire", async () => !(await st.get("short")) && !(await st.get("sentinel")));
      assert.ok(await st.get("kept"), "an update without TTL must drop the expiry");
      const deletes = await until("expiry events", () => {
        const d = rec.events.filter((e) => e.type === "delete");
        return d.length >= 2 ? d : undefined;
      });
      assert.equal(
        deletes.map((e) => [e.type === "delete" && e.name, e.type === "delete" && e.reason]).sort(),
        [["sentinel", "expired"], ["short", "expired"]],
      );
      assert.equal((await st.list()).policies.map((p) => p.policy.metadata!.name), ["kept"]);
    } finally {
      rec.close();
    }
  });

  s("watch: events after a revision, in order, each once", async () => {
    const st = await open();
    const r0 = (await st.list()).revision;
    const p1 = await st.put(policy("a"));
    await st.put(policy("b"));
    await st.delete("a");
    await st.put(policy("b", 9));
    const all = record(st, r0);
    const fromP1 = record(st, p1.version);
    try {
      await all.waitFor(4);
      await fromP1.waitFor(3);
      const live = await st.put(policy("c"));
      await all.waitFor(5);
      await fromP1.waitFor(4);
      await new Promise((r) => setTimeout(r, 200)); // nothing extra may follow
      assert.equal(all.events.map(brief), ["put a", "put b", "delete a", "put b", "put c"]);
      assert.equal(fromP1.events.map(brief), ["put b", "delete a", "put b", "put c"]);
      revisionsIncrease(all.events);
      assert.is(all.events[4]!.revision, live.version);
      const e3 = all.events[3]!;
      assert.ok(e3.type === "put" && e3.policy.policy.spec!.rules[0]!.fault!.delay!.fixedDelayMs === 9);
      const e2 = all.events[2]!;
      assert.ok(e2.type === "delete" && e2.reason === "deleted");
    } finally {
      all.close();
      fromP1.close();
    }
  });

  s("watch resume: close, write more, reopen from the last revision seen: nothing lost or repeated", async () => {
    const st = await open();
    const r0 = (await st.list()).revision;
    const first = record(st, r0);
    await st.put(policy("a"));
    await st.put(policy("b"));
    await first.waitFor(2);
    first.close();
    const last = first.events[first.events.length - 1]!.revision;
    await st.put(policy("c"));
    await st.delete("a");
    await st.put(policy("d"));
    const second = record(st, last);
    try {
      await second.waitFor(3);
      await st.put(policy("e"));
      await second.waitFor(4);
      await new Promise((r) => setTimeout(r, 200));
      assert.equal([...first.events, ...second.events].map(brief), ["put a", "put b", "put c", "delete a", "put d", "put e"]);
      revisionsIncrease([...first.events, ...second.events]);
      assert.is(first.events.length, 2, "a closed watch gets nothing more");
    } finally {
      second.close();
    }
  });

  s("50 concurrent plain puts of one name all succeed; the highest revision wins; created once", async () => {
    const st = await open();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => st.put(policy("hot", i + 1))));
    const versions = results.map((r) => r.version);
    assert.is(new Set(versions).size, 50, "every write has its own revision");
    assert.is(results.filter((r) => r.created).length, 1, "exactly one write created the name");
    const winner = results.reduce((a, b) => (b.version > a.version ? b : a));
    const stored = (await st.get("hot"))!;
    assert.is(stored.version, winner.version);
    assert.equal(stored.policy.spec, winner.policy.spec);
    // Concurrent plain deletes: one deletes, the others find nothing (never a conflict).
    const dels = await Promise.allSettled(Array.from({ length: 10 }, () => st.delete("hot")));
    assert.is(dels.filter((d) => d.status === "fulfilled").length, 1);
    for (const d of dels) if (d.status === "rejected") assert.is((d.reason as StoreError).code, "not_found");
  });

  s("listPage: name order, invalid-free pages chain with next; usage counts bytes; maxTotalBytes refuses with quota", async () => {
    const st = await open();
    for (const n of ["p1", "p2", "p3", "p4", "p5"]) await st.put(policy(n));
    const seen: string[] = [];
    let after: string | undefined;
    let pages = 0;
    do {
      const page = await st.listPage({ after, limit: 2 });
      assert.ok(page.policies.length <= 2 && page.policies.length > 0);
      assert.equal(page.invalid, []);
      seen.push(...page.policies.map((p) => p.policy.metadata!.name));
      after = page.next;
      pages++;
    } while (after);
    assert.equal(seen, ["p1", "p2", "p3", "p4", "p5"]);
    assert.is(pages, 3);
    const u = await until("usage to count five entries", async () => {
      const x = await st.usage();
      return x.entries === 5 ? x : undefined;
    });
    assert.ok(u.bytes > 5 * 100, String(u.bytes));
    // Replacing p1 by a same-size value fits exactly; one more byte of room is not there for a new name.
    await st.put(policy("p1", 200), { maxTotalBytes: u.bytes });
    const e = await rejects(st.put(policy("p6"), { maxTotalBytes: u.bytes }), "quota");
    assert.match(e.message, /total limit of \d+ bytes/);
    assert.is(await st.get("p6"), undefined);
  });

  s("ping answers while the store is up", async () => {
    const st = await open();
    await st.ping();
  });

  s.run();
}

// ---------------------------------------------------------------- embedded

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-store-contract-"));
const embedded: Backend = {
  name: "embedded",
  open: (ns) => EmbeddedStore.open({ dataDir: path.join(tmpRoot, ns), logger }),
};
contract(embedded);

const emb = suite("embedded store only");
emb.after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

emb("restart keeps policies, revisions and pending expiry", async () => {
  const dir = path.join(tmpRoot, "restart");
  const a = await EmbeddedStore.open({ dataDir: dir, logger });
  const pa = await a.put(policy("keep"));
  const pb = await a.put(policy("expires"), { ttlSeconds: 2 });
  const before = await a.list();
  await a.close();

  const b = await EmbeddedStore.open({ dataDir: dir, logger });
  try {
    const after = await b.list();
    assert.equal(after, before);
    assert.equal(await b.get("keep"), { policy: pa.policy, version: pa.version });
    const rec = record(b, after.revision);
    const next = await b.put(policy("new"));
    assert.ok(next.version > pb.version);
    await until("re-armed expiry", async () => !(await b.get("expires")));
    await rec.waitFor(2);
    assert.equal(rec.events.map((e) => [brief(e), e.type === "delete" ? e.reason : ""]), [
      ["put new", ""],
      ["delete expires", "expired"],
    ]);
    rec.close();
  } finally {
    await b.close();
  }
});

emb("expiry that passed while stopped is applied at start", async () => {
  const dir = path.join(tmpRoot, "expired-while-down");
  const a = await EmbeddedStore.open({ dataDir: dir, logger });
  const p = await a.put(policy("gone"), { ttlSeconds: 1 });
  await a.put(policy("stays"));
  await a.close();
  await until("expiry time to pass", () => Date.now() > p.policy.metadata!.expiresAtUnixMs);
  const b = await EmbeddedStore.open({ dataDir: dir, logger });
  try {
    assert.equal((await b.list()).policies.map((x) => x.policy.metadata!.name), ["stays"]);
  } finally {
    await b.close();
  }
});

emb("a leftover temp file (crash mid-write) is ignored and removed; nothing is lost", async () => {
  const dir = path.join(tmpRoot, "crash");
  const a = await EmbeddedStore.open({ dataDir: dir, logger });
  await a.put(policy("one"));
  const before = await a.list();
  await a.close();
  const tmp = path.join(dir, "policies.json.tmp-999-deadbeef");
  fs.writeFileSync(tmp, '{"format":"hfi-embedded-store/v1","revision":99,"polic'); // torn write
  const b = await EmbeddedStore.open({ dataDir: dir, logger });
  try {
    assert.equal(await b.list(), before);
    assert.not.ok(fs.existsSync(tmp));
  } finally {
    await b.close();
  }
});

emb("a corrupt data file is a clear startup error and is left untouched", async () => {
  const dir = path.join(tmpRoot, "corrupt");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "policies.json");
  fs.writeFileSync(file, '{"format":"hfi-embedded-store/v1","revision":3,"policies":{"a":');
  try {
    await EmbeddedStore.open({ dataDir: dir, logger });
    assert.unreachable("must not open");
  } catch (e) {
    assert.match((e as Error).message, /policies\.json is corrupt \(not JSON: .*\); refusing to start with an empty store/);
  }
  assert.is(fs.readFileSync(file, "utf8"), '{"format":"hfi-embedded-store/v1","revision":3,"policies":{"a":');
  fs.writeFileSync(file, JSON.stringify({ format: "something-else", revision: 1, policies: {} }));
  try {
    await createStore({ dataDir: dir, logger });
    assert.unreachable("must not open");
  } catch (e) {
    assert.match((e as Error).message, /is corrupt \(unknown format "something-else"/);
  }
});

emb("a hand-edited invalid policy is not served but kept on disk", async () => {
  const dir = path.join(tmpRoot, "edited");
  const a = await EmbeddedStore.open({ dataDir: dir, logger });
  await a.put(policy("good"));
  await a.put(policy("bad"));
  await a.close();
  const file = path.join(dir, "policies.json");
  const data = JSON.parse(fs.readFileSync(file, "utf8"));
  data.policies.bad.value.spec.rules[0].fault.percentage = 500;
  fs.writeFileSync(file, JSON.stringify(data));
  const b = await EmbeddedStore.open({ dataDir: dir, logger });
  try {
    assert.equal((await b.list()).policies.map((p) => p.policy.metadata!.name), ["good"]);
    await b.put(policy("other"));
    assert.is(JSON.parse(fs.readFileSync(file, "utf8")).policies.bad.value.spec.rules[0].fault.percentage, 500);
    // The name is taken: create-only fails, a normal apply replaces the broken value.
    await rejects(b.put(policy("bad"), { createOnly: true }), "already_exists");
    await b.put(policy("bad"));
    assert.ok(await b.get("bad"));
  } finally {
    await b.close();
  }
});

emb("watch from a revision older than the event log gets a reset with the full state", async () => {
  const a = await EmbeddedStore.open({ dataDir: path.join(tmpRoot, "ring"), logger, eventLogSize: 2 });
  try {
    const r0 = (await a.list()).revision;
    await a.put(policy("a"));
    await a.put(policy("b"));
    await a.put(policy("c"));
    await a.delete("b");
    const rec = record(a, r0);
    await rec.waitFor(1);
    await a.put(policy("d"));
    await rec.waitFor(2);
    assert.equal(rec.events.map(brief), [`reset@${r0 + 4}:a,c`, "put d"]);
    rec.close();
  } finally {
    await a.close();
  }
});

emb("watch from a revision the store has not reached (data dir replaced) gets a reset", async () => {
  const a = await EmbeddedStore.open({ dataDir: path.join(tmpRoot, "future"), logger });
  try {
    await a.put(policy("a"));
    const rec = record(a, 1000);
    await rec.waitFor(1);
    assert.equal(rec.events.map(brief), ["reset@1:a"]);
    rec.close();
  } finally {
    await a.close();
  }
});

emb("one store per data dir: a second open fails while the first is open; stale locks are taken over", async () => {
  const dir = path.join(tmpRoot, "lock");
  const a = await EmbeddedStore.open({ dataDir: dir, logger });
  try {
    await EmbeddedStore.open({ dataDir: dir, logger }).then(
      () => assert.unreachable("second open must fail"),
      (e: Error) => assert.match(e.message, /is already open in this process/),
    );
  } finally {
    await a.close();
  }
  // Held by another live process.
  const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  try {
    fs.writeFileSync(path.join(dir, ".lock"), `${other.pid}\n`);
    await EmbeddedStore.open({ dataDir: dir, logger }).then(
      () => assert.unreachable("open must fail"),
      (e: Error) => assert.match(e.message, new RegExp(`is in use by process ${other.pid}`)),
    );
  } finally {
    const exited = new Promise((r) => other.once("exit", r));
    other.kill("SIGKILL");
    await exited;
  }
  // That process is gone now: its lock is stale.
  const b = await EmbeddedStore.open({ dataDir: dir, logger });
  await b.close();
  assert.not.ok(fs.existsSync(path.join(dir, ".lock")));
});

emb.run();

// ---------------------------------------------------------------- etcd

let etcd: TestEtcd | undefined;
const etcdBackend: Backend = {
  name: "etcd",
  open: async (ns) => {
    etcd ??= await TestEtcd.start();
    return new EtcdStore({ endpoints: [etcd.endpoint], prefix: `/hfi-test/${ns}/`, logger });
  },
};
contract(etcdBackend);

const et = suite("etcd store only");
const etcdStores: PolicyStore[] = [];
const openEtcd = async (ns: string) => {
  const st = (await etcdBackend.open(ns)) as EtcdStore;
  etcdStores.push(st);
  return st;
};
et.after.each(async () => {
  for (const st of etcdStores.splice(0)) await st.close();
});
et.after(async () => {
  await etcd?.stop();
});

et("createStore picks etcd when endpoints are given (comma list, host:port without scheme)", async () => {
  const st = await createStore({ etcdEndpoints: `${etcd!.endpoint.replace("http://", "")}, `, etcdPrefix: "/hfi-test/create", logger });
  etcdStores.push(st);
  assert.is(st.kind, "etcd");
  await st.put(policy("x"));
  assert.match(etcd!.ctl("get", "/hfi-test/create/x", "--print-value-only"), /"fixedDelayMs":100/);
  // The prefix got its "/": a sibling key is not part of the store.
  etcd!.ctl("put", "/hfi-test/create-other/y", JSON.stringify({ metadata: { name: "y" }, spec: { rules: [{ fault: { percentage: 1, delay_ms: 1 } }] } }));
  assert.equal((await st.list()).policies.map((p) => p.policy.metadata!.name), ["x"]);
});

et("values written with etcdctl: valid → put event and listed; invalid → invalid event, never listed", async () => {
  const st = await openEtcd("ctl");
  const r0 = (await st.list()).revision;
  const rec = record(st, r0);
  try {
    const valid = { metadata: { name: "by-hand", updated_at_unix_ms: 1700000000000 }, spec: { rules: [{ fault: { percentage: 5, abort: { http_status: 503 } } }] } };
    etcd!.ctl("put", "/hfi-test/ctl/by-hand", JSON.stringify(valid));
    etcd!.ctl("put", "/hfi-test/ctl/broken", JSON.stringify({ metadata: { name: "broken" }, spec: { rules: [{ fault: { percentage: 500 } }] } }));
    etcd!.ctl("put", "/hfi-test/ctl/garbage", "{not json");
    etcd!.ctl("put", "/hfi-test/ctl/renamed", JSON.stringify({ ...valid, metadata: { name: "other" } }));
    await rec.waitFor(4);
    assert.equal(rec.events.map((e) => `${e.type} ${e.type !== "reset" ? e.name : ""}`), [
      "put by-hand",
      "invalid broken",
      "invalid garbage",
      "invalid renamed",
    ]);
    const put = rec.events[0]!;
    assert.ok(put.type === "put");
    if (put.type === "put") {
      assert.is(put.policy.version, put.revision);
      assert.is(put.policy.policy.metadata!.updatedAtUnixMs, 1700000000000);
    }
    const inv = rec.events[1]!;
    assert.ok(inv.type === "invalid" && inv.error === "spec.rules[0].fault.percentage: must be between 0 and 100; spec.rules[0].fault: must set delay (or delay_ms), abort, header_control, response or response_rate_limit");
    const inv3 = rec.events[3]!;
    assert.ok(inv3.type === "invalid" && /does not match the key name "renamed"/.test(inv3.error));
    const l = await st.list();
    assert.equal(l.policies.map((p) => p.policy.metadata!.name), ["by-hand"]);
    assert.is(await st.get("broken"), undefined);
    // Invalid entries are listed with their reason and can be deleted through the store.
    const page = await st.listPage({ limit: 10 });
    assert.equal(page.policies.map((p) => p.policy.metadata!.name), ["by-hand"]);
    assert.equal(page.invalid.map((e) => e.name), ["broken", "garbage", "renamed"]);
    assert.match(page.invalid[1]!.error, /^not JSON/);
    assert.is(page.invalid[1]!.bytes, "{not json".length);
    assert.equal((await st.listInvalid()).map((e) => e.name), ["broken", "garbage", "renamed"]);
    const d = await st.delete("broken");
    assert.ok(d.invalid && /percentage/.test(d.invalid.error));
    assert.is(d.previous.policy.metadata!.name, "broken");
    await rejects(st.delete("broken"), "not_found");
    await until("the index to drop the deleted entry", async () => (await st.listInvalid()).length === 2);
  } finally {
    rec.close();
  }
});

et("etcd SIGKILL + restart while watching: later writes arrive, nothing lost or repeated", async () => {
  const st = await openEtcd("crash");
  const r0 = (await st.list()).revision;
  const rec = record(st, r0);
  try {
    await st.put(policy("before-1"));
    await st.put(policy("before-2"));
    await rec.waitFor(2);
    await etcd!.restart(); // SIGKILL, then the same member comes back on the same data dir
    // Written at once by another client, likely before our watch has reconnected.
    etcd!.ctl("put", "/hfi-test/crash/during", JSON.stringify({ metadata: { name: "during" }, spec: { rules: [{ fault: { percentage: 1, delay_ms: 1 } }] } }));
    await until("the store to answer again", () => st.ping().then(() => true, () => false));
    await until("a write to succeed", () => st.put(policy("after-1")).then(() => true, () => false));
    await st.put(policy("after-2"));
    await rec.waitFor(5);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rec.events.map(brief), ["put before-1", "put before-2", "put during", "put after-1", "put after-2"]);
    revisionsIncrease(rec.events);
    assert.equal((await st.list()).policies.map((p) => p.policy.metadata!.name), ["after-1", "after-2", "before-1", "before-2", "during"]);
  } finally {
    rec.close();
  }
});

et("a TTL lease outlives the store instance that created it", async () => {
  const a = await openEtcd("lease");
  const p = await a.put(policy("temp"), { ttlSeconds: 1 });
  const leases = etcd!.ctl("lease", "list");
  assert.match(leases, /found \d+ leases/);
  await a.close();
  const b = await openEtcd("lease");
  const rec = record(b, p.version);
  try {
    await until("lease expiry", async () => !(await b.get("temp")));
    await rec.waitFor(1);
    const e = rec.events[0]!;
    assert.ok(e.type === "delete" && e.name === "temp" && e.reason === "expired", JSON.stringify(e));
  } finally {
    rec.close();
  }
});

et("expiry sweep: a policy past its expiry whose lease is still alive (renewed by etcd) is deleted as expired", async () => {
  const st = await openEtcd("sweep");
  const r0 = (await st.list()).revision;
  const rec = record(st, r0);
  try {
    const lease = /lease ([0-9a-f]+) granted/.exec(etcd!.ctl("lease", "grant", "600"))![1]!;
    const now = Date.now();
    const value = (name: string, expires: number) =>
      JSON.stringify({ metadata: { name, updatedAtUnixMs: now - 60_000, expiresAtUnixMs: expires }, spec: { rules: [{ fault: { percentage: 1, delay_ms: 1 } }] } });
    etcd!.ctl("put", `--lease=${lease}`, "/hfi-test/sweep/overdue", value("overdue", now - 10_000));
    etcd!.ctl("put", `--lease=${lease}`, "/hfi-test/sweep/pending", value("pending", now + 600_000));
    await st.put(policy("forever"));
    assert.equal(await st.sweepExpired(), ["overdue"]);
    assert.equal(await st.sweepExpired(), [], "a second sweep finds nothing");
    assert.equal((await st.list()).policies.map((p) => p.policy.metadata!.name), ["forever", "pending"]);
    await rec.waitFor(4);
    const del = rec.events[3]!;
    assert.ok(del.type === "delete" && del.name === "overdue" && del.reason === "expired", JSON.stringify(del));
  } finally {
    rec.close();
  }
});

et("compaction past the watch revision → reset with the full state, then live events", async () => {
  const st = await openEtcd("compact");
  const r0 = (await st.list()).revision;
  await st.put(policy("a"));
  await st.put(policy("b"));
  await st.delete("a");
  const c = await st.put(policy("c"));
  etcd!.ctl("compact", String(c.version));
  const rec = record(st, r0);
  try {
    await rec.waitFor(1);
    const reset = rec.events[0]!;
    assert.ok(reset.type === "reset");
    if (reset.type === "reset") {
      assert.equal(reset.policies.map((p) => p.policy.metadata!.name), ["b", "c"]);
      assert.ok(reset.revision >= c.version);
    }
    await st.put(policy("d"));
    await rec.waitFor(2);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(rec.events.slice(1).map(brief), ["put d"]);
  } finally {
    rec.close();
  }
});

et("etcd history behind the watch (restored/replaced etcd) → reset instead of waiting", async () => {
  const st = await openEtcd("behind");
  await st.put(policy("a"));
  const { revision } = await st.list();
  const rec = record(st, revision + 1000);
  try {
    await rec.waitFor(1);
    assert.equal(rec.events.map(brief), [`reset@${revision}:a`]);
    await st.put(policy("b"));
    await rec.waitFor(2);
    assert.equal(rec.events.slice(1).map(brief), ["put b"]);
  } finally {
    rec.close();
  }
});

/** Fails the test instead of hanging when p does not settle in time. */
async function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what} hung for ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

et("a frozen etcd (SIGSTOP: connected but silent) fails calls with unavailable instead of hanging; SIGCONT recovers", async () => {
  const st = await openEtcd("frozen");
  await st.put(policy("a"));
  const pid = (etcd as unknown as { proc: { pid: number } }).proc.pid;
  process.kill(pid, "SIGSTOP");
  try {
    const e = await bounded(rejects(st.ping(), "unavailable"), 15_000, "ping");
    assert.match(e.message, /^etcd: status (failed|did not complete)/);
    await bounded(rejects(st.put(policy("b")), "unavailable"), 15_000, "put");
    await bounded(rejects(st.get("a"), "unavailable"), 15_000, "get");
  } finally {
    process.kill(pid, "SIGCONT");
  }
  await until("etcd to answer again", () => st.ping().then(() => true, () => false));
  await until("a write to succeed", () => st.put(policy("b")).then(() => true, () => false));
  assert.equal((await st.list()).policies.map((p) => p.policy.metadata!.name), ["a", "b"]);
});

et("an unreachable etcd fails fast with unavailable (no hang)", async () => {
  const port = await freePort();
  const st = new EtcdStore({ endpoints: [`http://127.0.0.1:${port}`], prefix: "/x/", logger, timeoutMs: 1000 });
  etcdStores.push(st);
  await rejects(st.ping(), "unavailable");
  await rejects(st.put(policy("x")), "unavailable");
  await rejects(st.list(), "unavailable");
});

et.run();
