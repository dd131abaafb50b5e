// `hfi policy` against what other tools leave in etcd and against a big
// store: values written with etcdctl that do not validate are listed with
// their reason (`list --invalid`, `status`), explained by `get`, removed by
// `delete`; `list` over 50 MB of policies works (ListPolicies pages).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Etcd3 } from "etcd3";
import { parsePolicyInput } from "../../policy/index.ts";
import { stampPolicy, storedValue } from "../../server/store/stamp.ts";
import { TestEtcd } from "../support/etcd.ts";
import { startTestServer, waitFor, type TestServer } from "../support/server.ts";
import { runHfi } from "./run.ts";

let etcd: TestEtcd;
let server: TestServer;
const PREFIX = "/hfi/policies/";
const hfi = (...args: string[]) => runHfi(["policy", ...args], { env: { HFI_SERVER: server.grpcAddress } });

test.before(async () => {
  etcd = await TestEtcd.start();
  server = await startTestServer({ etcd });
});
test.after(async () => {
  await server.close();
  await etcd.stop();
});

test("an invalid value written with etcdctl: list --invalid, status and get say why; delete removes it", async () => {
  etcd.ctl("put", `${PREFIX}broken`, JSON.stringify({ metadata: { name: "broken" }, spec: { rules: [{ fault: { percentage: 500, delay_ms: 5 } }] } }));
  etcd.ctl("put", `${PREFIX}garbage`, "{not json");
  const applied = await runHfi(["policy", "apply", "-f", "-"], {
    env: { HFI_SERVER: server.grpcAddress },
    input: "metadata: {name: fine}\nspec: {rules: [{fault: {percentage: 1, delay_ms: 5}}]}\n",
  });
  assert.is(applied.code, 0, applied.stderr);

  const inv = await waitFor(async () => {
    const r = await hfi("list", "--invalid");
    return r.stdout.includes("garbage") && r.stdout.includes("broken") ? r : undefined;
  }, "both invalid entries listed", 20_000);
  assert.is(inv.code, 0, inv.stderr);
  assert.match(inv.stdout, /NAME\s+VERSION\s+BYTES\s+REASON/);
  // 80 columns when not a terminal: the reason is cut to fit, in full with -o json.
  assert.match(inv.stdout, /broken\s+\d+\s+\d+\s+spec\.rules\[0\]\.fault\.percentage/);
  assert.match(inv.stdout, /garbage\s+\d+\s+9\s+not JSON/);

  const json = JSON.parse((await hfi("list", "--invalid", "-o", "json")).stdout) as { invalidPolicies: { name: string; error: string }[] };
  assert.equal(json.invalidPolicies.map((e) => e.name), ["broken", "garbage"]);
  assert.match(json.invalidPolicies[0]!.error, /^spec\.rules\[0\]\.fault\.percentage: must be between 0 and 100/);

  // Plain list shows the valid policies and points at the invalid ones on stderr.
  const list = await hfi("list");
  assert.is(list.code, 0);
  assert.match(list.stdout, /^NAME/);
  assert.match(list.stdout, /fine/);
  assert.not.match(list.stdout, /broken/);
  assert.match(list.stderr, /2 invalid entries in the store, not served to proxies: see `hfi policy list --invalid`/);

  const status = await hfi("status");
  assert.is(status.code, 0, status.stderr);
  assert.match(status.stdout, /Invalid entries \(not served\): 2/);
  assert.match(status.stdout, /broken \(version \d+\): spec\.rules\[0\]\.fault\.percentage/);

  const get = await hfi("get", "broken");
  assert.is(get.code, 1);
  assert.match(get.stderr, /the store holds an invalid value under this name/);

  const del = await hfi("delete", "broken");
  assert.is(del.code, 0, del.stderr);
  assert.match(del.stdout, /invalid entry "broken" deleted \(spec\.rules\[0\]\.fault\.percentage/);
  assert.is(etcd.ctl("get", `${PREFIX}broken`).trim(), "", "gone from etcd");
  const again = await hfi("delete", "broken");
  assert.is(again.code, 1);
  assert.match(again.stderr, /policy "broken" not found/);

  // delete --all takes the remaining invalid entry too.
  const all = await hfi("delete", "--all", "--yes");
  assert.is(all.code, 0, all.stderr);
  assert.match(all.stdout, /invalid entry "garbage" deleted/);
  assert.match(all.stdout, /policy "fine" deleted/);
  assert.is((await hfi("list", "--invalid")).stdout, "No invalid entries.\n");
});

test("hfi policy list over 50 MB of policies", async () => {
  // Seed straight into etcd (transactions under etcd's request limit).
  const client = new Etcd3({ hosts: [etcd.endpoint] });
  const names: string[] = [];
  try {
    let ops: { request_put: { key: Buffer; value: Buffer } }[] = [];
    let bytes = 0;
    let total = 0;
    for (let i = 0; i < 1100; i++) {
      const name = `big-${String(i).padStart(4, "0")}`;
      names.push(name);
      const headers = Array.from({ length: 6 }, (_, h) => ({ name: `x-pad-${h}`, value: "v".repeat(8000) }));
      const r = parsePolicyInput({ metadata: { name }, spec: { rules: [{ fault: { percentage: 1, abort: { http_status: 503, headers } } }] } });
      if (!r.ok) throw new Error(JSON.stringify(r.errors));
      const value = JSON.stringify(storedValue(stampPolicy(r.policy, { version: 0, createdAtUnixMs: 1, updatedAtUnixMs: 1, expiresAtUnixMs: 0 })));
      if (bytes + value.length > 1_200_000) {
        await client.kv.txn({ success: ops });
        ops = [];
        bytes = 0;
      }
      ops.push({ request_put: { key: Buffer.from(PREFIX + name), value: Buffer.from(value) } });
      bytes += value.length;
      total += value.length;
    }
    await client.kv.txn({ success: ops });
    assert.ok(total > 50_000_000, String(total));
  } finally {
    client.close();
  }
  const r = await waitFor(async () => {
    const x = await hfi("list", "-o", "json");
    return x.code === 0 && (JSON.parse(x.stdout) as { policies: unknown[] }).policies.length === 1100 ? x : undefined;
  }, "list to show 1100 policies", 60_000);
  const doc = JSON.parse(r.stdout) as { policies: { metadata: { name: string } }[] };
  assert.equal(doc.policies.map((p) => p.metadata.name), names);
  const table = await hfi("list");
  assert.is(table.code, 0, table.stderr);
  assert.is(table.stdout.trim().split("\n").length, 1101, "header + one line per policy");
});

test.run();
