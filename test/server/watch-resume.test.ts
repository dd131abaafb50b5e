// WatchPolicies with start_revision over real gRPC: replay of the changes
// after a revision (also after a server restart), and the reset (marker, a PUT
// per policy, marker) when the store's history does not reach back that far.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { hfiGrpc } from "../../proto/loader.ts";
import type { PolicyEventOut, PolicyServiceClient } from "../../proto/loader.ts";
import { createPolicyClient, type Policy, type PolicyClient } from "../../cli/client/index.ts";
import { TestEtcd } from "../support/etcd.ts";
import { freePort } from "../support/ports.ts";
import { startTestServer, type TestServer } from "../support/server.ts";

const policy = (name: string, pct = 10): Policy => ({
  metadata: { name },
  spec: { rules: [{ fault: { percentage: pct, delay: { fixedDelayMs: 5 } } }] },
});

/** A compact form of an event: "PUT a@7", "DELETE a@9", "MARK@9". */
function show(e: PolicyEventOut): string {
  if (e.type === "TYPE_UNSPECIFIED") return `MARK@${e.revision}${e.policy ? "+policy" : ""}`;
  return `${e.type.slice(5)} ${e.policy?.metadata?.name}@${e.revision}`;
}

/** Opens WatchPolicies(start_revision) and collects events until `count` arrived. */
async function watchFrom(address: string, startRevision: number, count: number): Promise<PolicyEventOut[]> {
  const stub = new (hfiGrpc().PolicyService)(address, grpc.credentials.createInsecure()) as PolicyServiceClient;
  const call = stub.watchPolicies({ startRevision });
  const events: PolicyEventOut[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`only ${events.length} of ${count} events: ${events.map(show)}`)), 20_000);
      call.on("data", (e: PolicyEventOut) => {
        events.push(e);
        if (events.length >= count) {
          clearTimeout(guard);
          resolve();
        }
      });
      call.on("error", (err) => {
        clearTimeout(guard);
        if (events.length < count) reject(err);
      });
    });
    return events;
  } finally {
    call.cancel();
    stub.close();
  }
}

/** Nothing more arrives on a stream from `startRevision` after `count` events (a change made afterwards comes next). */
async function nextAfter(address: string, client: PolicyClient, startRevision: number, count: number, probe: string) {
  const pending = watchFrom(address, startRevision, count + 1);
  pending.catch(() => {}); // awaited below; a failure before that must not go unhandled
  await new Promise((r) => setTimeout(r, 300));
  const applied = await client.applyPolicy(policy(probe));
  const events = await pending;
  assert.is(show(events[count]!), `PUT ${probe}@${applied.policy.metadata!.version}`, "the next event is the live change");
  return events.slice(0, count);
}

interface Backend {
  label: string;
  start(grpcAddr: string): Promise<TestServer>;
  cleanup(): Promise<void>;
  /** Makes the store forget history up to `revision` (etcd compaction), or undefined when it cannot. */
  compact?(revision: number): void;
}

function embedded(): Backend {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-watch-resume-"));
  return {
    label: "embedded store",
    start: (grpcAddr) => startTestServer({ grpcAddr, dataDir }),
    cleanup: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
  };
}

function etcdBackend(): Backend {
  let etcd: TestEtcd | undefined;
  return {
    label: "etcd",
    async start(grpcAddr) {
      etcd ??= await TestEtcd.start();
      return startTestServer({ grpcAddr, etcd });
    },
    cleanup: async () => etcd?.stop(),
    compact: (revision) => void etcd!.ctl("compact", String(revision)),
  };
}

for (const make of [embedded, etcdBackend]) {
  const backend = make();
  const t = suite(`WatchPolicies start_revision (${backend.label})`);
  let server: TestServer | undefined;
  let client: PolicyClient | undefined;
  let address = "";

  t.before(async () => {
    address = `127.0.0.1:${await freePort()}`;
    server = await backend.start(address);
    client = createPolicyClient({ server: address });
  });
  t.after(async () => {
    client?.close();
    await server?.close();
    await backend.cleanup();
  });

  t("replays the changes after start_revision in order, DELETE with the last content, then live ones", async () => {
    const a = (await client!.applyPolicy(policy("replay-a"))).policy.metadata!.version;
    const b = (await client!.applyPolicy(policy("replay-b"))).policy.metadata!.version;
    const a2 = (await client!.applyPolicy(policy("replay-a", 20))).policy.metadata!.version;
    const { revision: del } = await client!.deletePolicy("replay-a");
    const events = await nextAfter(address, client!, a, 3, "replay-live");
    assert.equal(events.map(show), [`PUT replay-b@${b}`, `PUT replay-a@${a2}`, `DELETE replay-a@${del}`]);
    assert.is(events[2]!.policy!.spec!.rules[0]!.fault!.percentage, 20, "DELETE carries the content before deletion");
    // At the current revision: nothing to replay.
    const { revision } = await client!.listPolicies();
    assert.equal(await nextAfter(address, client!, revision, 0, "replay-live2"), []);
  });

  if (backend.label === "etcd") {
    t("after a server restart: every change since start_revision, also those made while it was down", async () => {
      const { revision: before } = await client!.listPolicies();
      const a = (await client!.applyPolicy(policy("restart-a"))).policy.metadata!.version;
      await server!.close();
      // Another replica on the same etcd takes writes meanwhile.
      const other = await backend.start("127.0.0.1:0");
      const otherClient = createPolicyClient({ server: other.grpcAddress });
      let b: number;
      try {
        b = (await otherClient.applyPolicy(policy("restart-b"))).policy.metadata!.version;
      } finally {
        otherClient.close();
        await other.close();
      }
      server = await backend.start(address);
      const { revision: del } = await client!.deletePolicy("restart-a");
      const events = await nextAfter(address, client!, before, 3, "restart-live");
      assert.equal(events.map(show), [`PUT restart-a@${a}`, `PUT restart-b@${b}`, `DELETE restart-a@${del}`]);
    });
  } else {
    t("embedded store restarted: from the revision it was stopped at, the replay is exact", async () => {
      const { revision: atStop } = await client!.listPolicies();
      await server!.close();
      server = await backend.start(address);
      const a = (await client!.applyPolicy(policy("exact-a"))).policy.metadata!.version;
      const { revision: del } = await client!.deletePolicy("exact-a");
      const events = await nextAfter(address, client!, atStop, 2, "exact-live");
      assert.equal(events.map(show), [`PUT exact-a@${a}`, `DELETE exact-a@${del}`]);
    });
  }

  t("history gone (or start_revision newer than the store): marker, a PUT per policy in version order, marker", async () => {
    const { policies } = await client!.listPolicies();
    for (const p of policies) await client!.deletePolicy(p.metadata!.name);
    const x = (await client!.applyPolicy(policy("reset-x"))).policy.metadata!.version;
    const w = (await client!.applyPolicy(policy("reset-w"))).policy.metadata!.version;
    const { revision } = await client!.listPolicies();
    let start = revision + 1000; // newer than the store: only a reset is correct
    if (backend.compact) {
      backend.compact(revision);
      start = x - 1;
    }
    const events = await nextAfter(address, client!, start, 4, "reset-live");
    assert.equal(events.map(show), [`MARK@${revision}`, `PUT reset-x@${revision}`, `PUT reset-w@${revision}`, `MARK@${revision}`]);
    assert.is(events[2]!.policy!.metadata!.version, w);
  });

  t.run();
}
