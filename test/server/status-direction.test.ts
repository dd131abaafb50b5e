// Status counts by direction: a workload's inbound and outbound filter
// instances hold the same snapshot, but a policy targets only the instances
// of its direction — for this replica's proxies, other replicas' summaries
// (split per direction) and their laggards (which keep their direction
// through the board's stored form).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { statusQuery, statusReport } from "../../server/status/report.ts";
import { tallyRecords } from "../../server/status/tally.ts";
import { mergeSummaries } from "../../server/status/summary.ts";
import { decodeRecord, decodeSummary, encodeSummary } from "../../server/store/etcd-board.ts";
import { parsePolicyInput } from "../../policy/index.ts";
import type { ProxyRecord, StatusSummary, StoredPolicy } from "../../server/store/types.ts";
import type { PolicyOut } from "../../proto/loader.ts";

function stored(name: string, direction: string, version: number): StoredPolicy {
  const r = parsePolicyInput({ metadata: { name }, spec: { selector: { service: "web" }, direction, rules: [{ fault: { percentage: 1, delay_ms: 1 } }] } });
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return { policy: (r as { policy: PolicyOut }).policy, version };
}

function rec(proxyId: string, direction: "inbound" | "outbound" | undefined, acked: [string, number][], replica = "a"): ProxyRecord {
  return {
    replica,
    stream: proxyId,
    identity: { service: "web", namespace: "ns", pod: "web-1", proxyId, labels: {}, ...(direction ? { direction } : {}) },
    sentVersion: "v1",
    ackedVersion: acked.length ? "v1" : "",
    nackedVersion: "",
    nackError: "",
    sent: [["in", 1], ["out", 2]],
    acked,
    nacked: [],
    connectedAtUnixMs: 1,
  };
}

const both: [string, number][] = [["in", 1], ["out", 2]];

test("local proxies: each policy counts the instances of its direction (no direction reported = inbound)", () => {
  const policies = [stored("in", "", 1), stored("out", "outbound", 2)];
  const q = statusQuery(policies);
  const report = statusReport(policies, q, tallyRecords([rec("p1", undefined, both), rec("p2", "outbound", both), rec("p3", "outbound", [])], q));
  const [inb, out] = report.policies;
  assert.is(inb!.direction, "inbound");
  assert.equal([inb!.targetedProxies, inb!.ackedCount, inb!.pendingCount], [1, 1, 0]);
  assert.equal(inb!.acked.map((r) => r.identity!.proxyId), ["p1"]);
  assert.is(out!.direction, "outbound");
  assert.equal([out!.targetedProxies, out!.ackedCount, out!.pendingCount], [2, 1, 1]);
  assert.equal(out!.pending.map((r) => r.identity!.proxyId), ["p3"]);
});

test("other replicas: summaries split groups per direction and merge per direction; laggards keep theirs on the board", () => {
  const identity = { service: "web", namespace: "ns", labels: {} };
  const w1: StatusSummary = {
    replica: "b",
    streams: 3,
    groups: [
      { identity, streams: 1, acked: [["in", 1, 1, 5], ["out", 2, 1, 5]], nacked: [] },
      { identity: { ...identity, direction: "outbound" }, streams: 2, acked: [["in", 1, 1, 6], ["out", 2, 1, 6]], nacked: [] },
    ],
    laggards: [rec("q3", "outbound", [], "b")],
    laggardsOmitted: 0,
  };
  const merged = mergeSummaries("b", [w1, { ...w1, laggards: [] }]);
  assert.equal(merged.groups.map((g) => [g.identity.direction ?? "inbound", g.streams]), [["inbound", 2], ["outbound", 4]]);
  const onBoard = decodeSummary("b", encodeSummary(merged))!;
  assert.is(onBoard.laggards[0]!.identity.direction, "outbound");
  const policies = [stored("in", "", 1), stored("out", "outbound", 2)];
  const q = statusQuery(policies);
  const report = statusReport(policies, q, tallyRecords([], q), [onBoard]);
  const [inb, out] = report.policies;
  assert.equal([inb!.targetedProxies, inb!.ackedCount], [2, 2]);
  assert.equal([out!.targetedProxies, out!.ackedCount, out!.pendingCount], [4, 2, 2]);
  assert.equal(out!.pending.map((r) => r.identity!.proxyId), ["q3"], "the outbound laggard is listed for the outbound policy only");
  assert.equal(inb!.pending, []);
  assert.is(decodeRecord("b", "1", JSON.stringify({ identity: { service: "web" }, sent: [] }))!.identity.direction, undefined);
});

test.run();
