// The CLI's rendering, without a server: the policy document round-trips
// through the server's parser (property test), tables fit their width, and
// the short phrases read right.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import YAML from "yaml";
import { parsePolicyDocuments, parsePolicyInput } from "../../policy/index.ts";
import type { Policy, PolicyOut } from "../../proto/types.ts";
import { policyChanges, policyDocument } from "../../cli/policy/document.ts";
import { renderTable, truncate } from "../../cli/policy/table.ts";
import { expiresText, faultText, fmtDuration, matchText, proxyLabel, selectorText, targetText } from "../../cli/policy/summary.ts";
import { POLICY_COLUMNS, renderPolicies } from "../../cli/policy/read.ts";

const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/);
const word = fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/);
const stringMatch = fc.oneof(
  fc.record({ exact: fc.string({ minLength: 1, maxLength: 12 }) }),
  fc.record({ prefix: fc.constantFrom("/", "/api", "/api/v1/") }),
  fc.record({ regex: fc.constantFrom("^/api/v[0-9]+/", "a|b", "(?:x)+y?", "\\d{2,4}") }),
);
const headerMatch = fc.tuple(fc.constantFrom("x-user", "x-test", "cookie"), fc.oneof(stringMatch, fc.record({ present: fc.boolean() }))).map(
  ([n, m]) => ({ name: n, ...m }),
);
const fault = fc
  .record(
    {
      percentage: fc.integer({ min: 0, max: 1_000_000 }).map((n) => n / 10_000),
      delay: fc.record({ fixedDelayMs: fc.integer({ min: 1, max: 120_000 }) }),
      abort: fc.record(
        {
          httpStatus: fc.integer({ min: 200, max: 599 }),
          body: fc.string({ maxLength: 20 }),
          grpcStatus: fc.integer({ min: 0, max: 16 }),
          headers: fc.array(fc.record({ name: fc.constantFrom("x-a", "retry-after"), value: fc.string({ maxLength: 5 }) }), { maxLength: 2 }),
        },
        { requiredKeys: ["httpStatus"] },
      ),
      startDelayMs: fc.integer({ min: 0, max: 120_000 }),
      durationSeconds: fc.integer({ min: 0, max: 2_592_000 }),
    },
    { requiredKeys: ["percentage"] },
  )
  .filter((f) => f.delay !== undefined || f.abort !== undefined);
const policyArb: fc.Arbitrary<Policy> = fc.record({
  metadata: fc.record({ name, labels: fc.dictionary(word, word, { maxKeys: 3 }) }, { requiredKeys: ["name"] }),
  spec: fc.record(
    {
      selector: fc.record({
        service: fc.constantFrom("", "*", "frontend", "api"),
        namespace: fc.constantFrom("", "*", "demo"),
        labels: fc.dictionary(word, word, { maxKeys: 2 }),
      }),
      priority: fc.integer({ min: -5, max: 5 }),
      rules: fc.array(
        fc.record(
          {
            match: fc.record({
              method: fc.constantFrom({ exact: "GET" }, { exact: "POST" }, { prefix: "P" }),
              path: stringMatch,
              headers: fc.array(headerMatch, { maxLength: 3 }),
              queryParams: fc.array(headerMatch, { maxLength: 2 }),
            }, { requiredKeys: [] }),
            fault,
          },
          { requiredKeys: ["fault"] },
        ),
        { minLength: 1, maxLength: 4 },
      ),
    },
    { requiredKeys: ["rules"] },
  ),
});

/** Output-only metadata cleared; a match with no condition is the same as none (every request). */
const stripStatus = (p: PolicyOut) => ({
  metadata: { ...p.metadata!, version: 0, createdAtUnixMs: 0, updatedAtUnixMs: 0, expiresAtUnixMs: 0 },
  spec: {
    ...p.spec!,
    rules: p.spec!.rules.map((r) => {
      const m = r.match;
      const empty = !m || (!m.method && !m.path && m.headers.length === 0 && m.queryParams.length === 0);
      return { ...r, match: empty ? null : m };
    }),
  },
});

test("property: a policy's YAML and JSON document parse back to the same policy", async () => {
  await fc.assert(
    fc.asyncProperty(policyArb, async (input) => {
      const parsed = parsePolicyInput(input);
      fc.pre(parsed.ok);
      if (!parsed.ok) return;
      const p = { ...parsed.policy, metadata: { ...parsed.policy.metadata!, version: 7, createdAtUnixMs: 1, updatedAtUnixMs: 2 } };
      for (const text of [await renderPolicies([p], "yaml", true), await renderPolicies([p], "json", true), await renderPolicies([p, p], "json", false)]) {
        const docs = parsePolicyDocuments(text, "out");
        assert.ok(docs.length >= 1);
        for (const d of docs) {
          if (!d.ok) throw new Error(`${JSON.stringify(d.errors)}\n${text}`);
          assert.equal(stripStatus(d.policy), stripStatus(p));
        }
      }
      assert.equal(policyChanges(p, p), [], "no change against itself");
    }),
    { numRuns: 300 },
  );
});

test("document: snake_case, defaults left out, a set `present: false` and `percentage: 0` kept", async () => {
  const r = parsePolicyInput({
    metadata: { name: "doc" },
    spec: { rules: [{ match: { headers: [{ name: "x-a", present: false }] }, fault: { percentage: 0, delay_ms: 5 } }] },
  });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(policyDocument(r.policy, { withStatus: false }), {
    metadata: { name: "doc" },
    spec: { rules: [{ match: { headers: [{ name: "x-a", present: false }] }, fault: { percentage: 0, delay: { fixed_delay_ms: 5 } } }] },
  });
  const yaml = await renderPolicies([r.policy], "yaml", true);
  assert.ok(yaml.indexOf("metadata:") < yaml.indexOf("spec:"));
  assert.equal(YAML.parse(yaml).spec.rules[0].fault.delay, { fixed_delay_ms: 5 });
});

test("policyChanges: added, removed and changed fields by path", () => {
  const a = parsePolicyInput({ metadata: { name: "c" }, spec: { selector: { namespace: "x" }, rules: [{ fault: { percentage: 50, delay_ms: 5 } }] } });
  const b = parsePolicyInput({ metadata: { name: "c" }, spec: { rules: [{ fault: { percentage: 100, delay_ms: 5, abort: { http_status: 503 } } }] } });
  assert.ok(a.ok && b.ok);
  if (!a.ok || !b.ok) return;
  assert.equal(policyChanges(a.policy, b.policy), [
    { path: "spec.rules[0].fault.percentage", before: "50", after: "100" },
    { path: "spec.rules[0].fault.abort.http_status", before: undefined, after: "503" },
    { path: "spec.selector.namespace", before: '"x"' },
  ]);
});

test("table: aligned, fits the width, long cells shortened with …, names last", () => {
  const rows = [
    ["a-rather-long-policy-name-indeed", "frontend.some-namespace", "3", "100% delay 300ms after 1000ms for 600s; 20% abort 503", "never", "5m3s"],
    ["short", "*", "1", "10% abort 503", "in 4m59s", "1s"],
  ];
  const out = renderTable(POLICY_COLUMNS, rows, { width: 80 }).trimEnd().split("\n");
  for (const l of out) assert.ok(l.length <= 80, l);
  assert.ok(out[1]!.startsWith("a-rather-long-policy-name-indeed  "), "the name kept whole while others can shrink");
  assert.match(out[1]!, /…/);
  const starts = (l: string) => [...l.matchAll(/\S+/g)].map((m) => m.index);
  assert.is(out[0]!.indexOf("TARGET"), out[2]!.indexOf("*"), "columns aligned");
  assert.ok(starts(out[0]!).length > 0);
  assert.is(truncate("abcdef", 4), "abc…");
  assert.is(truncate("abc", 4), "abc");
  assert.not.match(renderTable(POLICY_COLUMNS, rows, { width: 80 }), /\x1b\[/);
  assert.match(renderTable(POLICY_COLUMNS, rows, { width: 80, color: true }), /\x1b\[1mNAME/);
});

test("phrases: selector, target, match, fault, durations, proxy labels", () => {
  assert.is(selectorText(null), "*");
  assert.is(selectorText({ service: "*", namespace: "", labels: {} }), "*");
  assert.is(selectorText({ service: "web", namespace: "shop", labels: { tier: "a" } }), "service=web namespace=shop tier=a");
  assert.is(targetText({ service: "", namespace: "staging", labels: {} }), "*.staging");
  assert.is(targetText({ service: "web", namespace: "", labels: { a: "1" } }), "web.* {a=1}");
  assert.is(matchText(null), "every request");
  const none = { method: null, path: null, headers: [], queryParams: [], grpc: null, source: null, destination: null };
  assert.is(matchText({ ...none, grpc: { service: "demo.Catalog", method: "*" }, source: { service: "checkout", namespace: "", principal: "" } }), "grpc demo.Catalog/*, from checkout.*");
  assert.is(matchText({ ...none, source: { service: "", namespace: "", principal: "cluster.local/ns/demo/sa/checkout" } }), "from principal cluster.local/ns/demo/sa/checkout");
  const f = { percentage: 12.5, delay: { fixedDelayMs: 300, uniform: null, lognormal: null }, abort: { httpStatus: 503, body: "", headers: [], grpcStatus: 14 }, startDelayMs: 100, durationSeconds: 60, delayMs: 0, headerControl: null, response: null, responseRateLimit: null };
  assert.is(faultText(f), "12.5% delay 300ms+abort 503 (grpc 14) after 100ms for 60s");
  const uniform = { ...f, abort: null, delay: { fixedDelayMs: 0, uniform: { minMs: 100, maxMs: 200 }, lognormal: null } };
  assert.is(faultText(uniform), "12.5% delay 100-200ms after 100ms for 60s");
  const lognormal = { ...f, abort: null, delay: { fixedDelayMs: 0, uniform: null, lognormal: { p50Ms: 50, p99Ms: 400 } } };
  assert.is(faultText(lognormal), "12.5% delay lognormal p50 50ms p99 400ms after 100ms for 60s");
  const control = { ...f, percentage: 0, abort: null, delay: null, startDelayMs: 0, durationSeconds: 0, headerControl: { maxDelayMs: 2000, allowAbort: true } };
  assert.is(faultText(control), "header-controlled (delay <= 2000ms, abort)");
  assert.is(faultText({ ...control, percentage: 5, abort: f.abort }), "5% abort 503 (grpc 14), header-controlled (delay <= 2000ms, abort)");
  const rf = { ...f, abort: null, delay: null, startDelayMs: 0, durationSeconds: 0, response: { status: 503, headers: { set: { "x-injected": "1" }, add: {}, remove: [] }, body: "injected", upstreamStatus: { codes: [200], min: 500, max: 599 } } };
  assert.is(faultText(rf), "12.5% response status 503+headers+body on 200,500-599");
  assert.is(fmtDuration(59_400), "59s");
  assert.is(fmtDuration(61_000), "1m1s");
  assert.is(fmtDuration(3_600_000 * 26), "1d2h");
  assert.is(expiresText(0), "never");
  assert.is(expiresText(1000, 2000), "expired");
  assert.is(expiresText(62_000, 1000), "in 1m1s");
  assert.is(proxyLabel({ proxyId: "sidecar~1.2.3.4~web-1.shop~shop.svc.cluster.local/ab12", pod: "web-1", service: "web", namespace: "shop", labels: {} }), "web-1/ab12");
  assert.is(proxyLabel({ proxyId: "node-7", pod: "web-1", service: "", namespace: "", labels: {} }), "node-7");
});

test.run();
