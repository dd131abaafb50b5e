// The filter's per-snapshot quick-reject table (filter/assembly/rules.ts:
// exact method as an integer, path exact / prefix / an anchored regex's
// literal prefix) must never change which rule a request picks: firstMatch
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
