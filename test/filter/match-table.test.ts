// The filter's per-snapshot candidate index and quick-reject table
// (filter/assembly/rule-index.ts, rules.ts: exact method, path exact / prefix /
// an anchored regex's literal prefix, exact header, caller) must never change
// which rule a request picks: firstMatch
// (the production path) is compared with firstMatchFull (every rule evaluated
// in full, in order) on generated snapshots and requests built from small
// alphabets, so that matches, near misses and edge cases (empty method, long
// methods, missing :method/:path, query strings, regexes with and without a
// literal prefix) are frequent.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { encodeSnapshot, loadTestEntry, pairs, withBytes, type TestEntryExports } from "./test-wasm.ts";

interface MatchExports extends TestEntryExports {
  decode(p: number, n: number): number;
  firstMatch(p: number, n: number): number;
  firstMatchFull(p: number, n: number): number;
  setPeer(p: number, n: number): void;
}

const wasm = loadTestEntry<MatchExports>();

const METHODS = ["GET", "POST", "", "get", "DELETE", "PUT", "OPTIONSX", "OPTIONSXY"]; // 7 bytes fit the integer key, 8+ do not
const PATHS = ["/a", "/a/b", "/a/12", "/aab", "/b", "", "/a/b?x=1", "/aa/", "/a//", "?q", "/", "/ab", "/a/", "/aa", "/a/1?x"];
const PATH_REGEXES = [
  "^/a/b", "^/a(/|$)", "^(?:/a)b", "^/a/\\d+$", "/b$", "^", "^$", "^/a|^/b", "(^/a)", "^/a*b", "^/a{2}", "^/a{0}/",
  "^\\/a", "^[/]a", "^/a?", "^/a+", "^(?:^/a)", "^/a(?:b)?", "^/a/.", "a", "^/aa|/b",
];
const METHOD_REGEXES = ["^P", "GET|POST", "^$", "T$"];

const stringMatch = (values: string[], regexes: string[]) =>
  fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(...values).map((v) => ({ exact: v })),
    fc.constantFrom(...values, "/a", "G", "PO").map((v) => ({ prefix: v })),
    fc.constantFrom(...regexes).map((v) => ({ regex: v })),
  );
// Longer names in several cases: the quick table folds a name's length, first and last byte into a bit.
const keyed = fc.record({ name: fc.constantFrom("x", "X", "y", "q", "x-user", "X-USER", "x-useR", "x-users"), exact: fc.constantFrom("1", "2", "") }, { requiredKeys: ["name"] });
const rule = fc.record({
  match: fc.record(
    {
      method: stringMatch(METHODS, METHOD_REGEXES),
      path: stringMatch(PATHS, PATH_REGEXES),
      headers: fc.array(keyed, { maxLength: 2 }),
      queryParams: fc.array(keyed, { maxLength: 1 }),
    },
    { requiredKeys: [] },
  ),
  fault: fc.constant({ percentage: 1 }),
});
const snapshot = fc
  .array(fc.array(rule, { minLength: 1, maxLength: 4 }), { maxLength: 6 })
  .map((policies) => ({ policies: policies.map((rules, i) => ({ name: `p${i}`, rules })) }));
const request = fc
  .record({
    method: fc.option(fc.constantFrom(...METHODS)),
    path: fc.option(fc.constantFrom(...PATHS)),
    headers: fc.array(fc.tuple(fc.constantFrom("x", "X", "y", "z", "x-user", "X-User", "x-uses"), fc.constantFrom("1", "2", "")), { maxLength: 3 }),
  })
  .map(({ method, path, headers }) => {
    const e: [string, string][] = [];
    if (method !== null) e.push([":method", method]);
    if (path !== null) e.push([":path", path]);
    return pairs([...e, ...headers]);
  });

test("the quick-reject table picks the same rule as evaluating every rule in full", () => {
  let requests = 0;
  let matched = 0;
  fc.assert(
    fc.property(snapshot, fc.array(request, { minLength: 1, maxLength: 8 }), (snap, reqs) => {
      assert.is(withBytes(wasm, encodeSnapshot(snap), (p, n) => wasm.decode(p, n)), 1);
      for (const r of reqs) {
        const full = withBytes(wasm, r, (p, n) => wasm.firstMatchFull(p, n));
        assert.is(withBytes(wasm, r, (p, n) => wasm.firstMatch(p, n)), full);
        requests++;
        if (full >= 0) matched++;
      }
    }),
    { numRuns: 5000 },
  );
  // The generators must produce both outcomes often, or the comparison says little.
  assert.ok(matched > requests / 10 && matched < (requests * 9) / 10, `${matched} of ${requests} matched`);
});

// The candidate index (filter/assembly/rule-index.ts) keys paths by up to 16 bytes and spans
// several 64-bit words past 64 rules: long paths that share and differ after 16 bytes, callers,
// and snapshots of up to 120 rules.
const LONG_PATHS = ["/api/v1/orders/1", "/api/v1/orders/12", "/api/v1/orders/12/items", "/api/v1/order", "/api/v1/ordersX/1", "/api/v2/orders/1", "/a", "/"];
const CALLERS = [
  { principal: "cluster.local/ns/demo/sa/checkout", service: "checkout", namespace: "demo" },
  { principal: "", service: "cart", namespace: "shop" },
  { principal: "cluster.local/ns/shop/sa/cart", service: "", namespace: "" },
  { principal: "", service: "", namespace: "" },
];
const source = fc.option(
  fc.record(
    {
      principal: fc.constantFrom("cluster.local/ns/demo/sa/checkout", "cluster.local/ns/shop/sa/cart"),
      service: fc.constantFrom("checkout", "cart"),
      namespace: fc.constantFrom("demo", "shop"),
    },
    { requiredKeys: [] },
  ).filter((s) => Object.keys(s).length > 0),
  { nil: undefined },
);
const wideRule = fc.record({
  match: fc.record(
    {
      method: fc.option(fc.constantFrom("GET", "POST").map((v) => ({ exact: v })), { nil: undefined }),
      path: fc.oneof(
        fc.constantFrom(...LONG_PATHS).map((v) => ({ exact: v })),
        fc.constantFrom(...LONG_PATHS, "/api/v1/orders/12/", "/api/v1/orders/123").map((v) => ({ prefix: v })),
        fc.constantFrom("^/api/v1/orders/[0-9]+$", "^/api/v1/orders/1", "^/api/v", "/items$").map((v) => ({ regex: v })),
      ),
      headers: fc.array(keyed, { maxLength: 1 }),
      source,
    },
    { requiredKeys: ["path"] },
  ),
  fault: fc.constant({ percentage: 1 }),
});
const wideSnapshot = fc
  .array(fc.array(wideRule, { minLength: 1, maxLength: 4 }), { minLength: 10, maxLength: 30 })
  .map((policies) => ({ policies: policies.map((rules, i) => ({ name: `p${i}`, rules })) }));
const wideRequest = fc.record({
  method: fc.constantFrom("GET", "POST"),
  path: fc.constantFrom(...LONG_PATHS, "/api/v1/orders/12?x=1", "/api/v1/orders/123"),
  headers: fc.array(fc.tuple(fc.constantFrom("x", "x-user", "X-User"), fc.constantFrom("1", "2")), { maxLength: 2 }),
  caller: fc.constantFrom(...CALLERS),
});

test("the candidate index picks the same rule as evaluating every rule in full (long paths, callers, > 64 rules)", () => {
  let requests = 0;
  let matched = 0;
  fc.assert(
    fc.property(wideSnapshot, fc.array(wideRequest, { minLength: 1, maxLength: 8 }), (snap, reqs) => {
      assert.is(withBytes(wasm, encodeSnapshot(snap), (p, n) => wasm.decode(p, n)), 1);
      for (const r of reqs) {
        const c = r.caller;
        withBytes(wasm, `${c.principal}\n${c.service}\n${c.namespace}`, (p, n) => wasm.setPeer(p, n));
        const req = pairs([[":method", r.method], [":path", r.path], ...r.headers]);
        const full = withBytes(wasm, req, (p, n) => wasm.firstMatchFull(p, n));
        assert.is(withBytes(wasm, req, (p, n) => wasm.firstMatch(p, n)), full);
        requests++;
        if (full >= 0) matched++;
      }
    }),
    { numRuns: 1500 },
  );
  assert.ok(matched > requests / 10 && matched < (requests * 9) / 10, `${matched} of ${requests} matched`);
});

test("an anchored regex's literal prefix rejects early but never wrongly", () => {
  const snap = {
    policies: [{
      name: "p",
      rules: [
        { match: { path: { regex: "^/api/v1/orders/[0-9]+$" } }, fault: { percentage: 1 } },
        { match: { method: { exact: "POST" }, path: { regex: "^(?:/a)b|^/c" } }, fault: { percentage: 1 } },
        { match: { path: { regex: "^/x{0}y" } }, fault: { percentage: 1 } },
      ],
    }],
  };
  assert.is(withBytes(wasm, encodeSnapshot(snap), (p, n) => wasm.decode(p, n)), 1);
  const first = (method: string, path: string) => withBytes(wasm, pairs([[":method", method], [":path", path]]), (p, n) => wasm.firstMatch(p, n));
  assert.is(first("GET", "/api/v1/orders/12"), 0);
  assert.is(first("GET", "/api/v1/orders/x"), -1);
  assert.is(first("GET", "/api/v1/order"), -1);
  assert.is(first("POST", "/ab"), 1);
  assert.is(first("POST", "/c"), 1, "alternation: no common literal prefix");
  assert.is(first("GET", "/ab"), -1);
  assert.is(first("GET", "/y"), 2, "x{0} matches the empty string");
});

test.run();
