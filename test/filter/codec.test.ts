// The filter's own protobuf decoder (ConfigSnapshot), request matching and
// plugin-configuration JSON reader, driven through the test entry
// (filter/build/hfi-filter-test.wasm). Snapshots are encoded with the real
// proto definitions (proto/loader.ts), so field numbers and oneofs are the
// wire contract's, not the decoder's idea of it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { encodeSnapshot, loadTestEntry, outputText, pairs, withBytes, type TestEntryExports } from "./test-wasm.ts";

interface TestExports extends TestEntryExports {
  decode(p: number, n: number): number;
  firstMatch(p: number, n: number): number;
  lastIsGrpc(): number;
  parseConfig(p: number, n: number): number;
  structLabels(p: number, n: number): number;
  setPeer(p: number, n: number): void;
  peerLoadCount(): number;
}

const wasm = loadTestEntry<TestExports>();

function call(fn: (p: number, n: number) => number, input: Uint8Array): { rc: number; out: string } {
  return withBytes(wasm, input, (p, n) => {
    const rc = fn(p, n);
    return { rc, out: outputText(wasm) };
  });
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function decode(bytes: Uint8Array): Json {
  const { rc, out } = call(wasm.decode, bytes);
  const parsed = JSON.parse(out);
  assert.is(parsed.ok, rc === 1);
  return parsed;
}


const request = (method: string, p: string, headers: [string, string][] = []): Uint8Array =>
  pairs([[":method", method], [":path", p], [":authority", "svc"], ...headers]);

const richSnapshot = {
  version: "v-42",
  nonce: "n-1",
  serverTimeUnixMs: 1_700_000_000_000,
  policies: [
    {
      name: "checkout-abort",
      appliedAtUnixMs: 1_700_000_000_000,
      version: 7,
      rules: [
        {
          match: {
            method: { exact: "POST" },
            path: { prefix: "/api/checkout" },
            headers: [{ name: "X-User", regex: "^beta-\\d+$" }, { name: "x-debug", present: false }],
            queryParams: [{ name: "mode", exact: "fast lane" }],
          },
          fault: {
            percentage: 12.3456,
            abort: { httpStatus: 503, body: "unavailable", headers: [{ name: "retry-after", value: "1" }], grpcStatus: 14 },
            durationSeconds: 60,
          },
        },
        { fault: { percentage: 100, delay: { fixedDelayMs: 250 }, startDelayMs: 10 } },
      ],
    },
    { name: "catch-all", appliedAtUnixMs: 5, rules: [{ match: { path: { regex: "/health$" } }, fault: { percentage: 0.0001, delayMs: 40 } }] },
  ],
};

test("decodes every field of a snapshot encoded from the proto contract", () => {
  const s = decode(encodeSnapshot(richSnapshot));
  assert.ok(s.ok, s.error);
  assert.is(s.version, "v-42");
  assert.is(s.nonce, "n-1");
  assert.is(s.serverTimeMs, 1_700_000_000_000);
  assert.is(s.policies, 2);
  assert.is(s.rules.length, 3);
  const [r0, r1, r2] = s.rules;
  assert.is(r0.policy, "checkout-abort");
  assert.is(r0.ppm, 123456);
  assert.equal(r0.method, { kind: "exact", value: "POST" });
  assert.equal(r0.path, { kind: "prefix", value: "/api/checkout" });
  assert.equal(r0.headers, [
    { name: "X-User", match: { kind: "regex", value: "^beta-\\d+$" } },
    { name: "x-debug", match: { kind: "present", present: false } },
  ]);
  assert.equal(r0.query, [{ name: "mode", match: { kind: "exact", value: "fast lane" } }]);
  assert.is(r0.abort.status, 503);
  assert.is(r0.abort.grpcStatus, 14);
  assert.is(r0.abort.body, "unavailable");
  assert.equal(r0.abort.headers, [["retry-after", "1"]]);
  // Pre-serialised reply headers: retry-after plus x-hfi-fault: <policy>.
  assert.is(r0.abort.pairsLen, 4 + 2 * 8 + ("retry-after".length + 1 + 2) + ("x-hfi-fault".length + 1 + "checkout-abort".length + 1));
  assert.is(r0.expiresAtMs, 1_700_000_000_000 + 60_000);
  assert.is(r1.ppm, 1_000_000);
  assert.is(r1.delayMs, 250);
  assert.is(r1.startDelayMs, 10);
  assert.is(r1.method, null);
  assert.is(r1.abort, null);
  assert.is(r1.expiresAtMs, 0);
  assert.is(r2.policy, "catch-all");
  assert.is(r2.ppm, 1);
  assert.is(r2.delayMs, 40, "delay_ms shorthand is honoured when delay is absent");
});

test("an empty snapshot decodes to no rules", () => {
  const s = decode(encodeSnapshot({ version: "", nonce: "x" }));
  assert.ok(s.ok);
  assert.is(s.rules.length, 0);
  const empty = decode(new Uint8Array(0));
  assert.ok(empty.ok);
  assert.is(empty.rules.length, 0);
});

test("oneof members set to empty values are told apart from unset ones", () => {
  const s = decode(encodeSnapshot({
    version: "1", nonce: "1",
    policies: [{ name: "p", rules: [{ match: { method: { exact: "" }, path: {}, headers: [{ name: "h", exact: "" }, { name: "g" }] }, fault: { percentage: 1 } }] }],
  }));
  assert.ok(s.ok, s.error);
  const r = s.rules[0];
  assert.equal(r.method, { kind: "exact", value: "" });
  assert.is(r.path, null, "an empty StringMatch is no condition");
  assert.equal(r.headers[0].match, { kind: "exact", value: "" });
  assert.equal(r.headers[1].match, { kind: "present", present: true }, "no condition on a header = must be present");
});

test("delay distributions decode to their parameters (uniform: min and count of values; lognormal: mu and sigma)", () => {
  const s = decode(encodeSnapshot({ policies: [{ name: "p", rules: [
    { fault: { percentage: 100, delay: { uniform: { minMs: 100, maxMs: 200 } } } },
    { fault: { percentage: 100, delay: { lognormal: { p50Ms: 50, p99Ms: 400 } } } },
    { fault: { percentage: 100, delay: { fixedDelayMs: 30 } } },
  ] }] }));
  assert.ok(s.ok, s.error);
  const [u, l, f] = s.rules;
  assert.equal([u.delayDist, u.delayA, u.delayB, u.delayMs], [1, 100, 101, 0]);
  assert.is(l.delayDist, 2);
  assert.ok(Math.abs(l.delayA - Math.log(50)) < 1e-12 && Math.abs(l.delayB - Math.log(8) / 2.3263478740408408) < 1e-12, `${l.delayA} ${l.delayB}`);
  assert.equal([f.delayDist, f.delayMs], [0, 30]);
});

test("header_control decodes to its bounds (a maximum above the delay limit is cut to it)", () => {
  const s = decode(encodeSnapshot({ policies: [{ name: "p", rules: [
    { fault: { headerControl: { maxDelayMs: 2000, allowAbort: true } } },
    { fault: { headerControl: { maxDelayMs: 999999 } } },
    { fault: { percentage: 5, delayMs: 10 } },
  ] }] }));
  assert.ok(s.ok, s.error);
  assert.equal({ ...s.rules[0].headerControl, pairsLen: 0 }, { maxDelayMs: 2000, allowAbort: true, pairsLen: 0 });
  assert.ok(s.rules[0].headerControl.pairsLen > 0, "the x-hfi-fault reply header is prepared");
  assert.is(s.rules[1].headerControl.maxDelayMs, 120000);
  assert.is(s.rules[1].headerControl.allowAbort, false);
  assert.is(s.rules[2].headerControl, null);
});

test("percentages map to parts per million", () => {
  for (const [pct, ppm] of [[0, 0], [0.0001, 1], [50, 500000], [99.9999, 999999], [100, 1000000], [33.33335, 333334]] as const) {
    const s = decode(encodeSnapshot({ policies: [{ name: "p", rules: [{ fault: { percentage: pct } }] }] }));
    assert.is(s.rules[0].ppm, ppm, `${pct}%`);
  }
});

test("invalid content is rejected naming the field, with version and nonce kept for the NACK", () => {
  const cases: [Json, string][] = [
    [{ policies: [{ name: "a", rules: [{ fault: { percentage: 150 } }] }] }, "policies[0].rules[0].fault.percentage: must be between 0 and 100"],
    [{ policies: [{ name: "a", rules: [{ fault: { percentage: -1 } }] }] }, "policies[0].rules[0].fault.percentage: must be between 0 and 100"],
    [{ policies: [{ name: "a", rules: [{ fault: { percentage: NaN } }] }] }, "policies[0].rules[0].fault.percentage: must be between 0 and 100"],
    [{ policies: [{ name: "a", rules: [] }, { name: "b", rules: [{}, { fault: { percentage: 1, abort: { httpStatus: 700 } } }] }] },
      "policies[1].rules[1].fault.abort.http_status: must be between 200 and 599"],
    [{ policies: [{ name: "a", rules: [{ fault: { percentage: 1, abort: { httpStatus: 503, grpcStatus: 17 } } }] }] },
      "policies[0].rules[0].fault.abort.grpc_status: must be between 0 and 16"],
    [{ policies: [{ name: "a", rules: [{ fault: { percentage: 1, delay: { uniform: { minMs: 9, maxMs: 5 } } } }] }] },
      "policies[0].rules[0].fault.delay.uniform: max_ms must be at least min_ms and above 0"],
    [{ policies: [{ name: "a", rules: [{ fault: { percentage: 1, delay: { lognormal: { p50Ms: 50, p99Ms: 50 } } } }] }] },
      "policies[0].rules[0].fault.delay.lognormal: p99_ms must be greater than p50_ms (> 0)"],
    [{ policies: [{ name: "a", rules: [{ match: { path: { regex: "(a" } } }] }] }, "policies[0].rules[0].match.path.regex: missing )"],
    [{ policies: [{ name: "a", rules: [{ match: { headers: [{ name: "x", regex: "\\1" }] } }] }] },
      "policies[0].rules[0].match.headers[0].regex: backreferences are not supported"],
    [{ policies: [{ name: "a", rules: [{ match: { queryParams: [{ name: "", exact: "1" }] } }] }] },
      "policies[0].rules[0].match.query_params[0].name: must not be empty"],
  ];
  for (const [snap, prefix] of cases) {
    const s = decode(encodeSnapshot({ version: "v9", nonce: "n9", ...snap }));
    assert.not.ok(s.ok, prefix);
    assert.ok(s.error.startsWith(prefix), `${s.error} should start with ${prefix}`);
    assert.is(s.version, "v9");
    assert.is(s.nonce, "n9");
  }
});

test("unknown fields of every wire type are skipped", () => {
  const base = Buffer.from(encodeSnapshot(richSnapshot));
  const unknown = Buffer.from([
    0xf8, 0x01, 0x96, 0x01, // field 31 varint
    0xf9, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, // field 31 fixed64
    0xfa, 0x01, 3, 0x61, 0x62, 0x63, // field 31 bytes
    0xfd, 0x01, 1, 2, 3, 4, // field 31 fixed32
  ]);
  const a = decode(base);
  const b = decode(Buffer.concat([unknown, base, unknown]));
  assert.ok(b.ok, b.error);
  assert.equal(b, a);
});

test("malformed wire data is an error, not a trap", () => {
  const bad: [number[], string][] = [
    [[0x0a, 0x05, 0x61], "length out of range"],
    [[0x08], "truncated varint"],
    [[0x0b], "unsupported wire type 3"],
    [[0x00], "invalid tag"],
    [[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], "varint overflow"],
    [[0x1a, 0x02, 0x10, 0x01], "policies[0]: field 2: wrong wire type 0"],
    [[0x21, 1, 2, 3], "truncated fixed64"],
  ];
  for (const [bytes, error] of bad) {
    const s = decode(new Uint8Array(bytes));
    assert.not.ok(s.ok, JSON.stringify(bytes));
    assert.is(s.error, error);
  }
});

test("every truncation of a valid snapshot decodes or fails cleanly", () => {
  const full = encodeSnapshot(richSnapshot);
  for (let n = 0; n < full.length; n++) {
    const s = decode(full.subarray(0, n));
    if (!s.ok) assert.ok(s.error.length > 0);
  }
});

test("fuzz: random bytes never trap the decoder", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      const s = decode(bytes);
      return s.ok || (typeof s.error === "string" && s.error.length > 0);
    }),
    { numRuns: 3000 },
  );
});

test("fuzz: mutated valid snapshots never trap the decoder", () => {
  const full = encodeSnapshot(richSnapshot);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(full.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
      const copy = Uint8Array.from(full);
      for (const [at, v] of edits) copy[at] = v;
      const s = decode(copy);
      return s.ok || s.error.length > 0;
    }),
    { numRuns: 2000 },
  );
});

test("fuzz: generated snapshots round-trip through the decoder", () => {
  const stringMatch = fc.oneof(
    fc.record({ exact: fc.string({ maxLength: 8 }) }),
    fc.record({ prefix: fc.string({ maxLength: 8 }) }),
    fc.record({ regex: fc.constantFrom("^/a", "b+$", "[0-9]{2,3}", "(x|y)z?", ".*") }),
  );
  const rule = fc.record({
    match: fc.record({ method: stringMatch, path: stringMatch }, { requiredKeys: [] }),
    fault: fc.record({
      percentage: fc.integer({ min: 0, max: 1_000_000 }).map((n) => n / 10_000),
      delay: fc.record({ fixedDelayMs: fc.nat(120_000) }),
      startDelayMs: fc.nat(120_000),
      durationSeconds: fc.nat(2_592_000),
    }),
  });
  const policy = fc.record({ name: fc.stringMatching(/^[a-z0-9]{1,10}$/), appliedAtUnixMs: fc.nat(), rules: fc.array(rule, { maxLength: 4 }) });
  fc.assert(
    fc.property(fc.array(policy, { maxLength: 4 }), fc.string({ maxLength: 10 }), (policies, version) => {
      const s = decode(encodeSnapshot({ version, nonce: "n", policies }));
      assert.ok(s.ok, s.error);
      const flat = policies.flatMap((p) => p.rules.map((r) => ({ p, r })));
      assert.is(s.rules.length, flat.length);
      flat.forEach(({ p, r }, i) => {
        const got = s.rules[i];
        assert.is(got.policy, p.name);
        assert.is(got.ppm, Math.round(r.fault.percentage * 10_000));
        assert.is(got.delayMs, r.fault.delay.fixedDelayMs);
        assert.is(got.startDelayMs, r.fault.startDelayMs);
        assert.is(got.expiresAtMs, r.fault.durationSeconds > 0 ? p.appliedAtUnixMs + r.fault.durationSeconds * 1000 : 0);
        const m = r.match.method as Json;
        if (m) assert.equal(got.method, { kind: Object.keys(m)[0], value: Object.values(m)[0] });
        else assert.is(got.method, null);
      });
      return true;
    }),
    { numRuns: 300 },
  );
});

// --- request matching -------------------------------------------------------

function firstMatch(snapshot: Json, req: Uint8Array): number {
  const s = decode(encodeSnapshot(snapshot));
  assert.ok(s.ok, s.error);
  return call(wasm.firstMatch, req).rc;
}

test("rules match on method, path without query, headers (case-insensitive names) and query params", () => {
  const snap = {
    policies: [{
      name: "p", rules: [
        { match: { method: { exact: "DELETE" } }, fault: { percentage: 1 } },
        { match: { path: { exact: "/items" }, queryParams: [{ name: "q a", exact: "x/y z" }] }, fault: { percentage: 1 } },
        { match: { headers: [{ name: "X-Tenant", prefix: "acme" }], path: { regex: "^/v[0-9]+/" } }, fault: { percentage: 1 } },
        { match: { queryParams: [{ name: "debug", present: true }] }, fault: { percentage: 1 } },
        { match: { headers: [{ name: "x-canary", present: false }], method: { exact: "PUT" } }, fault: { percentage: 1 } },
      ],
    }],
  };
  assert.is(firstMatch(snap, request("DELETE", "/anything")), 0);
  assert.is(firstMatch(snap, request("GET", "/items?q+a=x%2Fy+z&other=1")), 1);
  assert.is(firstMatch(snap, request("GET", "/items?q%20a=x%2Fy%20z")), 1);
  assert.is(firstMatch(snap, request("GET", "/items?q+a=nope")), -1);
  assert.is(firstMatch(snap, request("GET", "/items/?q+a=x%2Fy+z")), -1, "path exact compares without the query");
  assert.is(firstMatch(snap, request("GET", "/v2/orders", [["x-tenant", "acme-eu"]])), 2);
  assert.is(firstMatch(snap, request("GET", "/v2/orders", [["X-TENANT", "acme"]])), 2);
  assert.is(firstMatch(snap, request("GET", "/v2/orders", [["x-tenant", "other"], ["x-tenant", "acme"]])), 2, "any value of a repeated header");
  assert.is(firstMatch(snap, request("GET", "/x?debug")), 3);
  assert.is(firstMatch(snap, request("GET", "/x?a=1&debug=0")), 3);
  assert.is(firstMatch(snap, request("PUT", "/x")), 4);
  assert.is(firstMatch(snap, request("PUT", "/x", [["x-canary", "1"]])), -1);
});

test("a rule without match applies to every request; order decides", () => {
  const snap = { policies: [{ name: "a", rules: [{ match: { path: { prefix: "/a" } } }, {}] }] };
  assert.is(firstMatch(snap, request("GET", "/a/b")), 0);
  assert.is(firstMatch(snap, request("GET", "/zzz")), 1);
});

test("match.source: the caller's principal, service and namespace; read once per request, only when a rule needs it", () => {
  const setPeer = (principal: string, service: string, namespace: string) =>
    withBytes(wasm, `${principal}\n${service}\n${namespace}`, (p, n) => wasm.setPeer(p, n));
  const snapshot = {
    policies: [{ name: "p", rules: [
      { match: { path: { prefix: "/a" }, source: { principal: "cluster.local/ns/demo/sa/checkout" } }, fault: { percentage: 1 } },
      { match: { path: { prefix: "/a" }, source: { service: "checkout", namespace: "demo" } }, fault: { percentage: 1 } },
      { match: { path: { prefix: "/a" }, source: { namespace: "shop" } }, fault: { percentage: 1 } },
      { match: { path: { prefix: "/b" } }, fault: { percentage: 1 } },
    ] }],
  };
  const s = decode(encodeSnapshot(snapshot));
  assert.equal(s.rules[1].source, { service: "checkout", namespace: "demo", principal: "" });
  const req = request("GET", "/a/x");
  setPeer("cluster.local/ns/demo/sa/checkout", "checkout", "demo");
  assert.is(call(wasm.firstMatch, req).rc, 0);
  setPeer("", "checkout", "demo"); // no mTLS: peer metadata only
  assert.is(call(wasm.firstMatch, req).rc, 1);
  setPeer("", "cart", "shop");
  assert.is(call(wasm.firstMatch, req).rc, 2);
  setPeer("", "", "");
  const before = wasm.peerLoadCount();
  assert.is(call(wasm.firstMatch, req).rc, -1, "an unknown caller matches no source rule");
  assert.is(wasm.peerLoadCount() - before, 1, "three source rules evaluated, the peer read once");
  const n = wasm.peerLoadCount();
  assert.is(call(wasm.firstMatch, request("GET", "/b")).rc, 3);
  assert.is(wasm.peerLoadCount(), n, "no source rule in play: the peer is not read");
});

test("gRPC requests are recognised by content-type", () => {
  decode(encodeSnapshot({}));
  call(wasm.firstMatch, request("POST", "/pkg.Svc/Call", [["content-type", "application/grpc+proto"]]));
  assert.is(wasm.lastIsGrpc(), 1);
  call(wasm.firstMatch, request("POST", "/x", [["content-type", "application/json"]]));
  assert.is(wasm.lastIsGrpc(), 0);
});

test("malformed header pairs never trap the matcher", () => {
  decode(encodeSnapshot(richSnapshot));
  assert.is(call(wasm.firstMatch, new Uint8Array([9, 0, 0, 0, 1, 0, 0, 0])).rc, -2);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 128 }), (bytes) => {
      const rc = call(wasm.firstMatch, bytes).rc;
      return rc >= -2 && rc < 3;
    }),
    { numRuns: 2000 },
  );
});

// --- node metadata labels as google.protobuf.Struct (older Envoy) ----------

function structOf(entries: [string, Json][]): Uint8Array {
  const ld = (f: number, b: Buffer): Buffer => Buffer.concat([Buffer.from([(f << 3) | 2, b.length]), b]);
  const value = (v: Json): Buffer =>
    typeof v === "string" ? ld(3, Buffer.from(v)) : typeof v === "boolean" ? Buffer.from([0x20, v ? 1 : 0]) : Buffer.from([0x08, 0]);
  return Buffer.concat(entries.map(([k, v]) => ld(1, Buffer.concat([ld(1, Buffer.from(k)), ld(2, value(v))]))));
}

test("labels serialized as a Struct: string values are read, others skipped; garbage is refused", () => {
  const { rc, out } = call(wasm.structLabels, structOf([["app", "reviews"], ["version", "v1"], ["flag", true], ["n", null]]));
  assert.is(rc, 1);
  assert.equal(JSON.parse(out), { app: "reviews", version: "v1" });
  assert.is(call(wasm.structLabels, new Uint8Array([0x0a, 0x09, 0x0a])).rc, 0);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => { const r = call(wasm.structLabels, b).rc; return r === 0 || r === 1; }), { numRuns: 1000 });
});

// --- plugin configuration JSON ----------------------------------------------

function config(text: string): { ok: boolean; out: Json } {
  const { rc, out } = call(wasm.parseConfig, Buffer.from(text, "utf8"));
  return rc === 1 ? { ok: true, out: JSON.parse(out) } : { ok: false, out };
}

test("configuration JSON: string members are read, other values skipped", () => {
  const c = config(` { "control_plane_cluster": "outbound|9090||cp.ns.svc.cluster.local", "token": "t\\"k\\u00e9\\ud83d\\ude00",
    "nested": {"a": [1, 2.5e3, true, null, {"b": "c"}]}, "n": -1, "serviceName": "x\\/y" } `);
  assert.ok(c.ok, c.out);
  assert.equal(c.out, { control_plane_cluster: "outbound|9090||cp.ns.svc.cluster.local", token: "t\"ké😀", serviceName: "x/y" });
  assert.equal(config("{}").out, {});
});

test("configuration JSON: malformed input is an error", () => {
  for (const bad of ["", "[]", "\"x\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":\"b\",}", "{\"a\":\"b\"} x", "{\"a\":\"\\q\"}", "{\"a\":\"\u0001\"}", "{" + "[".repeat(100) + "]".repeat(100) + "}"]) {
    const c = config(bad);
    assert.not.ok(c.ok, bad);
    assert.ok(c.out.length > 0);
  }
});

test("fuzz: configuration JSON never traps and accepts exactly the JSON objects JSON.parse accepts", () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 64 }), fc.json({ maxDepth: 3 })), (text) => {
      const c = config(text);
      let expected: boolean;
      try {
        const v = JSON.parse(text);
        expected = v !== null && typeof v === "object" && !Array.isArray(v);
      } catch {
        expected = false;
      }
      assert.is(c.ok, expected, `${JSON.stringify(text)}: ${c.ok ? "accepted" : c.out}`);
      if (expected && c.ok) {
        const v = JSON.parse(text) as Record<string, unknown>;
        for (const [k, val] of Object.entries(v)) if (typeof val === "string") assert.is(c.out[k], val);
      }
      return true;
    }),
    { numRuns: 2000 },
  );
});

test.run();
