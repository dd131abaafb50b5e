// Property tests of the policy module: generated valid policies parse, are
// idempotent through the canonical JSON, do not depend on the field-name
// spelling; arbitrary input never throws; the regex parser only ever fails
// with a reason.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import {
  compileHfiRegex,
  encodedSize,
  HfiRegexError,
  parsePolicyDocuments,
  parsePolicyInput,
  policyToJson,
} from "../../policy/index.ts";
import type { PolicyOut } from "../../proto/loader.ts";

const safeText = fc.stringMatching(/^[a-zA-Z0-9 /._-]{0,12}$/);
const stringMatch = fc.oneof(
  safeText.map((v) => ({ exact: v })),
  safeText.map((v) => ({ prefix: v })),
  fc.constantFrom("^/api/v[0-9]+$", "a|b", "(?:x)*y", "\\d{2,4}", "[^/]+\\.json$").map((v) => ({ regex: v })),
);
const keyed = (name: fc.Arbitrary<string>) =>
  fc.tuple(name, fc.oneof(stringMatch, fc.boolean().map((present) => ({ present })))).map(([n, m]) => ({ name: n, ...m }));
const headerName = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,10}$/);

const fault = fc
  .record(
    {
      percentage: fc.integer({ min: 0, max: 1_000_000 }).map((ppm) => ppm / 10_000),
      delay: fc.integer({ min: 1, max: 120_000 }).map((ms) => ({ fixed_delay_ms: ms })),
      abort: fc.record(
        {
          http_status: fc.integer({ min: 200, max: 599 }),
          grpc_status: fc.integer({ min: 0, max: 16 }),
          body: safeText,
          headers: fc.array(fc.record({ name: headerName, value: safeText }), { maxLength: 3 }),
        },
        { requiredKeys: ["http_status"] },
      ),
      start_delay_ms: fc.integer({ min: 0, max: 120_000 }),
      duration_seconds: fc.integer({ min: 0, max: 2_592_000 }),
    },
    { requiredKeys: ["percentage"] },
  )
  .filter((f) => f.delay !== undefined || f.abort !== undefined);

const rule = fc.record(
  {
    match: fc.record(
      {
        method: stringMatch,
        path: stringMatch,
        headers: fc.array(keyed(headerName), { maxLength: 3 }),
        query_params: fc.array(keyed(fc.stringMatching(/^[a-z_]{1,8}$/)), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    ),
    fault,
  },
  { requiredKeys: ["fault"] },
);

const policyArb = fc.record({
  metadata: fc.record(
    {
      name: fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?$/),
      labels: fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), fc.stringMatching(/^[a-z0-9]{0,6}$/), { maxKeys: 4 }),
    },
    { requiredKeys: ["name"] },
  ),
  spec: fc.record(
    {
      selector: fc.record(
        { service: fc.constantFrom("", "*", "svc", "a.b_c"), namespace: fc.constantFrom("", "*", "demo") },
        { requiredKeys: [] },
      ),
      priority: fc.integer({ min: -100, max: 100 }),
      rules: fc.array(rule, { minLength: 1, maxLength: 5 }),
    },
    { requiredKeys: ["rules"] },
  ),
});

const camel = (k: string) => k.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** Renames field keys to camelCase (all, or a random subset); map keys (labels) are left alone. */
function respell(v: unknown, pick: () => boolean, inMap = false): unknown {
  if (Array.isArray(v)) return v.map((x) => respell(x, pick));
  if (v && typeof v === "object") {
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [inMap ? k : pick() ? camel(k) : k, respell(x, pick, k === "labels")]),
    );
  }
  return v;
}

function parsed(obj: unknown): PolicyOut {
  const r = parsePolicyInput(obj);
  if (!r.ok) throw new Error(`rejected: ${JSON.stringify(r.errors)} for ${JSON.stringify(obj)}`);
  return r.policy;
}

test("generated valid policies are accepted and idempotent through the canonical JSON", () => {
  fc.assert(
    fc.property(policyArb, (obj) => {
      const p = parsed(obj);
      const json = policyToJson(p);
      assert.equal(parsed(json), p);
      assert.equal(parsed(JSON.parse(JSON.stringify(json))), p);
      assert.is(encodedSize(p), Buffer.byteLength(JSON.stringify(json)));
      // The proto-loader shaped output is itself valid input.
      assert.equal(parsed(p), p);
    }),
    { numRuns: 400 },
  );
});

test("snake_case, lowerCamelCase and mixed spellings give the same policy", () => {
  fc.assert(
    fc.property(policyArb, fc.infiniteStream(fc.boolean()), (obj, coins) => {
      const it = coins[Symbol.iterator]();
      const base = parsed(obj);
      assert.equal(parsed(respell(obj, () => true)), base);
      assert.equal(parsed(respell(obj, () => it.next().value as boolean)), base);
    }),
    { numRuns: 300 },
  );
});

test("YAML text of a generated policy parses to the same policy as the object", async () => {
  const { stringify } = await import("yaml");
  fc.assert(
    fc.property(fc.array(policyArb, { minLength: 1, maxLength: 3 }), (objs) => {
      const text = objs.map((o) => stringify(o)).join("---\n");
      const docs = parsePolicyDocuments(text, "gen.yaml");
      assert.is(docs.length, objs.length);
      docs.forEach((d, i) => {
        assert.ok(d.ok, JSON.stringify(d));
        if (d.ok) assert.equal(d.policy, parsed(objs[i]));
      });
    }),
    { numRuns: 100 },
  );
});

test("arbitrary input never throws: either a policy or field errors", () => {
  const check = (v: unknown) => {
    const r = parsePolicyInput(v);
    if (!r.ok) {
      assert.ok(r.errors.length > 0);
      for (const e of r.errors) assert.ok(e.path.length > 0 && e.reason.length > 0, JSON.stringify(e));
    }
  };
  fc.assert(fc.property(fc.jsonValue(), check), { numRuns: 500 });
  // Valid policies with one value replaced anywhere by something random.
  fc.assert(
    fc.property(policyArb, fc.jsonValue(), fc.nat(), (obj, junk, pick) => {
      const paths: (string | number)[][] = [];
      const walk = (v: unknown, at: (string | number)[]) => {
        paths.push(at);
        if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, [...at, Array.isArray(v) ? Number(k) : k]);
      };
      walk(obj, []);
      const target = paths[pick % paths.length]!;
      const copy = structuredClone(obj) as Record<string | number, unknown>;
      if (target.length === 0) return check(junk);
      let cur: any = copy;
      for (const k of target.slice(0, -1)) cur = cur[k];
      cur[target[target.length - 1]!] = junk;
      check(copy);
    }),
    { numRuns: 500 },
  );
  fc.assert(fc.property(fc.string(), (s) => void parsePolicyDocuments(s)), { numRuns: 300 });
});

test("the regex parser only fails with a reason, and matching stays linear", () => {
  const atoms = fc.constantFrom("a", "b", ".", "\\d", "\\w", "[a-c]", "[^x]", "é", "\\.", "^", "$", "(", ")", "|", "*", "+", "?", "{2}", "{1,3}", "(?:", "\\", "]", "[", "{", "}", "?", "(?=", "\\1");
  fc.assert(
    fc.property(fc.array(atoms, { maxLength: 16 }).map((a) => a.join("")), fc.string({ maxLength: 40 }), (src, input) => {
      let re;
      try {
        re = compileHfiRegex(src);
      } catch (e) {
        assert.instance(e, HfiRegexError);
        assert.ok((e as HfiRegexError).reason.length > 0);
        return;
      }
      assert.type(re.test(input), "boolean");
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (src) => {
      try {
        compileHfiRegex(src);
      } catch (e) {
        assert.instance(e, HfiRegexError);
      }
    }),
    { numRuns: 2000 },
  );
  // Pathological for backtracking engines; a Pike VM visits each state once per byte.
  const re = compileHfiRegex("^(a|a)*(a|aa)*b$");
  assert.is(re.test("a".repeat(20_000)), false);
});

test.run();
