// Selector semantics and the wire helpers the push path relies on.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { hfiGrpc } from "../../proto/loader.ts";
import type { IdentityOut, SelectorOut } from "../../proto/loader.ts";
import { identityKey, normaliseIdentity, selectorMatches } from "../../server/selector.ts";
import { encodeSnapshot, encodeSnapshotPolicy } from "../../server/distribution/snapshot.ts";
import { grpcPolicyInput } from "../../server/grpc/messages.ts";
import { fieldFacts, messageType, setFields } from "../../policy/index.ts";
import { methodDefinition } from "../../server/grpc/methods.ts";

const id = (o: Partial<IdentityOut>) => normaliseIdentity(o);
const sel = (o: Partial<SelectorOut>): SelectorOut => ({ service: "", namespace: "", labels: {}, ...o });

test("service-only selector matches that service in every namespace", () => {
  const s = sel({ service: "web" });
  assert.ok(selectorMatches(s, id({ service: "web", namespace: "a" })));
  assert.ok(selectorMatches(s, id({ service: "web", namespace: "b" })));
  assert.not.ok(selectorMatches(s, id({ service: "api", namespace: "a" })));
});

test("namespace-only selector matches every service of that namespace", () => {
  const s = sel({ namespace: "prod" });
  assert.ok(selectorMatches(s, id({ service: "web", namespace: "prod" })));
  assert.not.ok(selectorMatches(s, id({ service: "web", namespace: "dev" })));
  assert.not.ok(selectorMatches(s, id({ service: "web" })), "unknown namespace does not match a namespace selector");
});

test("empty, '*' and missing selectors match everyone", () => {
  for (const s of [sel({}), sel({ service: "*", namespace: "*" }), null, undefined]) {
    assert.ok(selectorMatches(s, id({ service: "web", namespace: "prod" })));
    assert.ok(selectorMatches(s, id({})));
  }
});

test("labels must all match", () => {
  const s = sel({ labels: { app: "web", tier: "front" } });
  assert.ok(selectorMatches(s, id({ service: "web", labels: { app: "web", tier: "front", x: "y" } })));
  assert.not.ok(selectorMatches(s, id({ service: "web", labels: { app: "web" } })));
  assert.not.ok(selectorMatches(s, id({ service: "web", labels: { app: "web", tier: "back" } })));
});

test("an unknown identity (no service) gets wildcard policies only", () => {
  const unknown = id({ namespace: "prod", labels: { app: "web" } });
  assert.ok(selectorMatches(sel({}), unknown));
  assert.ok(selectorMatches(sel({ namespace: "prod" }), unknown));
  assert.not.ok(selectorMatches(sel({ namespace: "dev" }), unknown));
  assert.not.ok(selectorMatches(sel({ service: "web" }), unknown));
  assert.not.ok(selectorMatches(sel({ labels: { app: "web" } }), unknown), "labels need a known workload");
});

test("identity key ignores pod and proxy id and label order", () => {
  const a = id({ service: "web", namespace: "p", pod: "a", proxyId: "1", labels: { x: "1", y: "2" } });
  const b = id({ service: "web", namespace: "p", pod: "b", proxyId: "2", labels: { y: "2", x: "1" } });
  assert.is(identityKey(a), identityKey(b));
  assert.is.not(identityKey(a), identityKey(id({ service: "web", namespace: "q" })));
});

test("setFields keeps the set oneof member, including present: false", () => {
  const out = setFields(messageType("HeaderMatch"), { name: "h", present: false, kind: "present", exact: "" });
  assert.equal(out, { name: "h", present: false });
  assert.equal(setFields(messageType("StringMatch"), { exact: "", prefix: "/a", regex: "" }), { prefix: "/a" });
  assert.equal(setFields(messageType("Selector"), { service: "", namespace: "", labels: { k: "" } }), { labels: { k: "" } });
  // Keys the schema does not have are not fields.
  assert.equal(setFields(messageType("Metadata"), { name: "x", bogus: 1 }), { name: "x" });
});

test("schema facts come from the descriptors: maps, lists, oneof members, declaration order", () => {
  const hm = fieldFacts(messageType("HeaderMatch"));
  assert.equal(hm.map((f) => f.name), ["name", "exact", "prefix", "regex", "present"]);
  assert.equal(hm.filter((f) => f.oneof === "kind").map((f) => f.key), ["exact", "prefix", "regex", "present"]);
  assert.ok(fieldFacts(messageType("Selector")).find((f) => f.name === "labels")!.map);
  const spec = fieldFacts(messageType("PolicySpec"));
  assert.equal(spec.map((f) => f.name), ["selector", "rules", "priority", "direction"]);
  assert.ok(spec.find((f) => f.name === "rules")!.repeated);
  assert.is(spec.find((f) => f.name === "rules")!.message, messageType("Rule"));
});

test("grpcPolicyInput drops output-only metadata", () => {
  const p = grpcPolicyInput({ metadata: { name: "x", version: 7, createdAtUnixMs: 1, labels: {} }, spec: null });
  assert.equal(p, { metadata: { name: "x" } });
});

test("a hand-assembled snapshot decodes like one encoded by protobufjs", () => {
  const policies = Buffer.concat([
    encodeSnapshotPolicy({ name: "a", rules: [{ fault: { percentage: 12.5, abort: { httpStatus: 503 } } }], appliedAtUnixMs: 1700000000123, version: 42 }),
    encodeSnapshotPolicy({ name: "b", rules: [], appliedAtUnixMs: 5, version: 300 }),
  ]);
  const bytes = encodeSnapshot("0123456789abcdef", "n-1", policies, 1795289188290);
  const m = methodDefinition("hfi.v1.ConfigDiscoveryService", "StreamConfig");
  const decoded = m.responseDeserialize(bytes) as { version: string; nonce: string; serverTimeUnixMs: number; policies: { name: string; version: number; appliedAtUnixMs: number; rules: { fault: { percentage: number; abort: { httpStatus: number } } }[] }[] };
  assert.is(decoded.version, "0123456789abcdef");
  assert.is(decoded.nonce, "n-1");
  assert.is(decoded.serverTimeUnixMs, 1795289188290);
  assert.equal(decoded.policies.map((p) => [p.name, p.version, p.appliedAtUnixMs]), [["a", 42, 1700000000123], ["b", 300, 5]]);
  assert.is(decoded.policies[0]!.rules[0]!.fault.percentage, 12.5);
  assert.is(decoded.policies[0]!.rules[0]!.fault.abort.httpStatus, 503);
  assert.ok(hfiGrpc().ConfigDiscoveryService);
});

test.run();
