// `hfi policy watch` across control-plane restarts: it reconnects, says so on
// stderr, and prints every change made meanwhile exactly once and in order
// (embedded store on the same data dir; etcd with another replica taking the
// writes while this one is down, and after compaction of the history).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { backoffDelay, createPolicyClient, type Policy } from "../../cli/client/index.ts";
import { TestEtcd } from "../support/etcd.ts";
import { freePort } from "../support/ports.ts";
import { startTestServer, waitFor, type TestServer } from "../support/server.ts";
import { LineReader, runHfi, spawnHfi, stopChild } from "./run.ts";

const policy = (name: string, pct = 10): Policy => ({
  metadata: { name },
  spec: { rules: [{ fault: { percentage: pct, delay: { fixedDelayMs: 5 } } }] },
});

/** A running `hfi policy watch -o json`: its events as "PUT name" / "DELETE name", its stderr. */
class Watcher {
  readonly child: ChildProcess;
  readonly lines: LineReader;
  stderr = "";
  constructor(server: string, extra: string[] = []) {
    this.child = spawnHfi(["policy", "watch", "-o", "json", ...extra], { env: { HFI_SERVER: server } });
    this.lines = new LineReader(this.child);
    this.child.stderr!.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
  }
  async next(): Promise<string> {
    const e = JSON.parse(await this.lines.next()) as { type: string; policy: { metadata: { name: string } } };
    return `${e.type} ${e.policy.metadata.name}`;
  }
  async take(n: number): Promise<string[]> {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next());
    return out;
  }
  /** Waits until stderr has `text` `times` times. */
  async notice(text: string, times = 1): Promise<void> {
    await waitFor(() => this.stderr.split(text).length - 1 >= times, `"${text}" x${times} on stderr (got: ${this.stderr})`, 20_000);
  }
}

test("backoff: doubles from 500 ms, capped at 10 s, jittered within [d/2, d]", () => {
  assert.is(backoffDelay(0, 500, 10_000, () => 1), 500);
  assert.is(backoffDelay(0, 500, 10_000, () => 0), 250);
  assert.is(backoffDelay(3, 500, 10_000, () => 1), 4000);
  assert.is(backoffDelay(10, 500, 10_000, () => 1), 10_000);
  assert.is(backoffDelay(100, 500, 10_000, () => 0), 5000);
});

test("embedded store: restart on the same data dir; changes right after the restart appear once, in order", async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-watch-cli-"));
  const address = `127.0.0.1:${await freePort()}`;
  let server: TestServer | undefined = await startTestServer({ grpcAddr: address, dataDir });
  const client = createPolicyClient({ server: address });
  let w: Watcher | undefined;
  try {
    await client.applyPolicy(policy("emb-a"));
    w = new Watcher(address);
    assert.is(await w.next(), "PUT emb-a");
    await server.close();
    server = undefined;
    await w.notice(`watch: connection to ${address} lost, reconnecting…`);
    server = await startTestServer({ grpcAddr: address, dataDir });
    // Written before the watch is back (it is waiting out its backoff).
    await client.applyPolicy(policy("emb-b"));
    await client.deletePolicy("emb-a");
    await client.applyPolicy(policy("emb-a", 30));
    assert.equal(await w.take(3), ["PUT emb-b", "DELETE emb-a", "PUT emb-a"]);
    await w.notice(`watch: connection to ${address} resumed`);
    await client.applyPolicy(policy("emb-c"));
    assert.is(await w.next(), "PUT emb-c", "nothing repeated before the live change");
    assert.is(w.stderr.split("lost").length - 1, 1, "one notice per outage");
  } finally {
    const code = w ? await stopChild(w.child, "SIGINT") : 0;
    client.close();
    await server?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    assert.is(code, 0, `Ctrl-C ends watch with 0: ${w?.stderr}`);
  }
});

test("etcd: writes through another replica while this one is down, then after compaction (net changes)", async () => {
  const etcd = await TestEtcd.start();
  const address = `127.0.0.1:${await freePort()}`;
  let server: TestServer | undefined = await startTestServer({ grpcAddr: address, etcd });
  const client = createPolicyClient({ server: address });
  let w: Watcher | undefined;
  /** Runs `fn` against a second replica on the same etcd, then stops it. */
  const viaOtherReplica = async (fn: (c: ReturnType<typeof createPolicyClient>) => Promise<void>) => {
    const other = await startTestServer({ etcd });
    const c = createPolicyClient({ server: other.grpcAddress });
    try {
      await fn(c);
    } finally {
      c.close();
      await other.close();
    }
  };
  try {
    await client.applyPolicy(policy("etcd-a"));
    w = new Watcher(address);
    assert.is(await w.next(), "PUT etcd-a");

    await server.close();
    server = undefined;
    await w.notice("lost, reconnecting…");
    await viaOtherReplica(async (c) => {
      await c.applyPolicy(policy("etcd-b"));
      await c.applyPolicy(policy("etcd-b", 20));
      await c.deletePolicy("etcd-a");
    });
    server = await startTestServer({ grpcAddr: address, etcd });
    await client.applyPolicy(policy("etcd-c"));
    assert.equal(await w.take(4), ["PUT etcd-b", "PUT etcd-b", "DELETE etcd-a", "PUT etcd-c"]);
    await w.notice("resumed");

    // Down again; the history of what happens meanwhile is compacted away:
    // the watch gets a reset and prints the net changes (PUTs in version order, then DELETEs).
    await server.close();
    server = undefined;
    await w.notice("lost, reconnecting…", 2);
    await viaOtherReplica(async (c) => {
      await c.applyPolicy(policy("etcd-d"));
      await c.applyPolicy(policy("etcd-b", 40));
      await c.deletePolicy("etcd-c");
      await c.applyPolicy(policy("etcd-e"));
      await c.deletePolicy("etcd-e");
      const { revision } = await c.listPolicies();
      etcd.ctl("compact", String(revision));
    });
    server = await startTestServer({ grpcAddr: address, etcd });
    assert.equal(await w.take(3), ["PUT etcd-d", "PUT etcd-b", "DELETE etcd-c"]);
    await client.applyPolicy(policy("etcd-f"));
    assert.is(await w.next(), "PUT etcd-f", "nothing repeated before the live change");
    await w.notice("resumed", 2);
  } finally {
    const code = w ? await stopChild(w.child, "SIGINT") : 0;
    client.close();
    await server?.close();
    await etcd.stop();
    assert.is(code, 0, `Ctrl-C ends watch with 0: ${w?.stderr}`);
  }
});

test("typed client, resume: from a store never written to (revision 0), across a restart; callbacks", async () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-watch-client-"));
  const address = `127.0.0.1:${await freePort()}`;
  let server: TestServer | undefined = await startTestServer({ grpcAddr: address, dataDir });
  const client = createPolicyClient({ server: address });
  const notes: string[] = [];
  const it = client
    .watchPolicies({
      sendInitial: true,
      resume: { minDelayMs: 50, onDisconnect: (e) => notes.push(`lost ${e.code}`), onResume: () => notes.push("resumed") },
    })
    [Symbol.asyncIterator]();
  const next = async () => {
    const r = await it.next();
    assert.ok(!r.done);
    return `${r.value!.type.slice(5)} ${r.value!.policy?.metadata?.name}@${r.value!.revision}`;
  };
  try {
    assert.is((await client.listPolicies()).revision, 0);
    const first = next(); // starts the watch: list at revision 0, then a stream from now with the full state
    await new Promise((r) => setTimeout(r, 300));
    const a = (await client.applyPolicy(policy("zero-a"))).policy.metadata!.version;
    assert.is(await first, `PUT zero-a@${a}`);
    await server.close();
    server = await startTestServer({ grpcAddr: address, dataDir });
    const b = (await client.applyPolicy(policy("zero-b"))).policy.metadata!.version;
    const { revision: del } = await client.deletePolicy("zero-a");
    assert.equal([await next(), await next()], [`PUT zero-b@${b}`, `DELETE zero-a@${del}`]);
    await waitFor(() => notes.includes("resumed"), "onResume");
    assert.equal(notes, ["lost UNAVAILABLE", "resumed"]);
    // return() ends it, also while a next() is waiting.
    const pending = it.next();
    await it.return!();
    assert.equal(await pending, { done: true, value: undefined });
  } finally {
    await it.return?.();
    client.close();
    await server?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

test("--no-reconnect: the old behaviour, exit 1 with the reason when the server goes away", async () => {
  const server = await startTestServer();
  const w = new Watcher(server.grpcAddress, ["--no-reconnect", "--no-initial"]);
  try {
    const client = createPolicyClient({ server: server.grpcAddress });
    try {
      // The watch is live once it prints a change made after it started.
      await waitFor(async () => {
        await client.applyPolicy(policy("nr", 1 + Math.floor(Math.random() * 99)));
        return w.lines.next(500).then(() => true, () => false);
      }, "watch live");
    } finally {
      client.close();
    }
  } finally {
    await server.close();
  }
  const code = await new Promise<number | null>((r) => (w.child.exitCode !== null ? r(w.child.exitCode) : w.child.once("exit", r)));
  assert.is(code, 1);
  assert.match(w.stderr, /^error: .*unavailable/m);
  assert.not.match(w.stderr, /reconnecting/);
});

test("Ctrl-C while waiting to reconnect: exit 0", async () => {
  const server = await startTestServer();
  let w: Watcher;
  try {
    const client = createPolicyClient({ server: server.grpcAddress });
    try {
      await client.applyPolicy(policy("ctrl-c"));
    } finally {
      client.close();
    }
    w = new Watcher(server.grpcAddress);
    assert.is(await w.next(), "PUT ctrl-c");
  } finally {
    await server.close();
  }
  await w.notice("lost, reconnecting…");
  assert.is(await stopChild(w.child, "SIGINT"), 0, w.stderr);
});

test("a wrong address still fails at once (exit 1) instead of retrying", async () => {
  const r = await runHfi(["policy", "watch", "--server", "127.0.0.1:1"]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /cannot reach the HFI server at 127\.0\.0\.1:1/);
});

test.run();
