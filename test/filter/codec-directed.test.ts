// The filter's decoding and matching of the outbound and response-side
// fields, through the test entry with snapshots encoded from the real protos:
// each direction keeps only its policies; destinations compile against the
// workload's namespace and match the route's Istio cluster or :authority;
// response faults and rate limits decode to what the callbacks need, and bad
// values are NACKed naming the field.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { encodeSnapshot, loadTestEntry, outputText, pairs, withBytes, type TestEntryExports } from "./test-wasm.ts";

interface TestExports extends TestEntryExports {
  decodeDirected(p: number, n: number, outbound: number, nsPtr: number, nsLen: number): number;
  firstMatchTo(p: number, n: number, cp: number, cn: number): number;
}

const wasm = loadTestEntry<TestExports>();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function decode(snapshot: object, outbound: boolean, namespace = "demo"): any {
  const bytes = encodeSnapshot(snapshot);
  const ns = Buffer.from(namespace);
  const nsPtr = wasm.alloc(Math.max(ns.length, 1));
  new Uint8Array(wasm.memory.buffer, nsPtr, ns.length).set(ns);
  try {
    return withBytes(wasm, bytes, (p, n) => {
      const rc = wasm.decodeDirected(p, n, outbound ? 1 : 0, nsPtr, ns.length);
      const out = JSON.parse(outputText(wasm));
      assert.is(out.ok, rc === 1);
      return out;
    });
  } finally {
    wasm.free(nsPtr);
  }
}

/** Index of the rule a request picks, with `cluster` as the route's xds.cluster_name ("" = none). */
function pick(authority: string, cluster: string, path = "/"): number {
  const req = pairs([[":method", "GET"], [":path", path], [":authority", authority], [":scheme", "http"]]);
  return withBytes(wasm, req, (p, n) =>
    withBytes(wasm, Buffer.from(cluster), (cp, cn) => wasm.firstMatchTo(p, n, cp, cluster.length === 0 ? 0 : cn)),
  );
}

const rule = (match: object | undefined, fault: object) => ({ ...(match ? { match } : {}), fault });
const snapshot = {
  version: "v1",
  nonce: "n1",
  policies: [
    { name: "in-a", direction: "inbound", rules: [rule({ path: { prefix: "/in" } }, { percentage: 100, response: { status: 503, headers: { set: { "X-A": "1" }, add: { "x-b": "2" }, remove: ["Server"] }, body: "", upstreamStatus: { codes: [200, 201], min: 500, max: 599 } } })] },
    {
      name: "out-a",
      direction: "outbound",
      rules: [
        rule({ destination: { service: "productcatalog" } }, { percentage: 100, abort: { httpStatus: 503 } }),
        rule({ destination: { service: "cart", namespace: "shop", port: 8080 } }, { percentage: 100, abort: { httpStatus: 502 } }),
        rule({ destination: { host: "API.example.com" } }, { percentage: 100, responseRateLimit: { kbps: 64 } }),
        rule(undefined, { percentage: 100, delay: { fixedDelayMs: 1 } }),
      ],
    },
    { name: "legacy", rules: [rule(undefined, { percentage: 100, delay: { fixedDelayMs: 5 } })] }, // no direction: inbound
  ],
};

test("each direction keeps only its own policies (no direction = inbound)", () => {
  const inbound = decode(snapshot, false);
  assert.equal(inbound.rules.map((r: { policy: string }) => r.policy), ["in-a", "legacy"]);
  assert.is(inbound.hasDest, false, "an inbound filter never reads the cluster");
  const outbound = decode(snapshot, true);
  assert.equal(outbound.rules.map((r: { policy: string }) => r.policy), ["out-a", "out-a", "out-a", "out-a"]);
  assert.is(outbound.hasDest, true);
});

test("response faults decode to the values the callbacks write (names lowercased, body presence kept)", () => {
  const r = decode(snapshot, false).rules[0].response;
  assert.equal(r, {
    status: 503, statusText: "503", setNames: ["x-a"], setValues: ["1"], addNames: ["x-b"], addValues: ["2"], remove: ["server"],
    hasBody: true, body: "", bodyLength: "0", hasStatusMatch: true, codes: [200, 201], min: 500, max: 599,
  });
  const noBody = decode({ policies: [{ name: "p", rules: [rule(undefined, { percentage: 1, response: { status: 500 } })] }] }, false).rules[0].response;
  assert.is(noBody.hasBody, false, "absent body: the upstream's is kept");
  assert.is(noBody.hasStatusMatch, false);
  assert.is(decode(snapshot, true).rules[2].rateKbps, 64);
});

test("destinations compile against the workload's namespace", () => {
  const [a, b, c] = decode(snapshot, true, "demo").rules.map((r: { dest: unknown }) => r.dest);
  assert.equal(a, { serviceNs: "productcatalog.demo", shortName: "productcatalog", host: "", port: 0 });
  assert.equal(b, { serviceNs: "cart.shop", shortName: "", host: "", port: 8080 }, "another namespace: no short name");
  assert.equal(c, { serviceNs: "", shortName: "", host: "api.example.com", port: 0 });
});

test("matching: the Istio cluster first, else :authority; every DNS form of a service; ports", () => {
  decode(snapshot, true, "demo");
  // Cluster names as Istio builds them (the authority is what the app wrote).
  assert.is(pick("productcatalog:8080", "outbound|8080||productcatalog.demo.svc.cluster.local"), 0);
  assert.is(pick("10.0.0.7:8080", "outbound|8080|v2|productcatalog.demo.svc.cluster.local"), 0, "subset, IP authority");
  assert.is(pick("x", "outbound|9090||productcatalog.demo.svc.corp.example"), 0, "another cluster domain");
  assert.is(pick("x", "outbound|8080||cart.shop.svc.cluster.local"), 1);
  assert.is(pick("x", "outbound|8081||cart.shop.svc.cluster.local"), 3, "wrong port: falls to the catch-all");
  assert.is(pick("cart:8080", "outbound|8080||cart.demo.svc.cluster.local"), 3, "cart in demo is not cart.shop");
  // No Istio cluster (PassthroughCluster, plain Envoy): the authority.
  for (const a of ["productcatalog", "productcatalog.demo", "productcatalog.demo.svc", "PRODUCTCATALOG.demo.svc.cluster.local:80"]) {
    assert.is(pick(a, "PassthroughCluster"), 0, a);
  }
  assert.is(pick("cart.shop:8080", ""), 1);
  assert.is(pick("cart.shop", ""), 3, "authority without port: 80");
  assert.is(pick("api.example.com", "PassthroughCluster"), 2);
  assert.is(pick("api.example.com.evil", ""), 3);
  assert.is(pick("productcatalogx.demo", ""), 3);
  assert.is(pick("productcatalog.demox", ""), 3);
  assert.is(pick("[::1]:8080", ""), 3, "an IPv6 authority parses (and matches nothing here)");
});

test("bad values are NACKed naming the field", () => {
  const bad = (fault: object, match?: object) =>
    decode({ policies: [{ name: "p", direction: "outbound", rules: [rule(match, fault)] }] }, true).error;
  assert.is(bad({ percentage: 1, response: { status: 99 } }), "policies[0].rules[0].fault.response.status: must be between 200 and 599");
  assert.is(bad({ percentage: 1, response: { headers: { remove: [""] } } }), "policies[0].rules[0].fault.response.headers.remove[0]: must not be empty");
  assert.is(bad({ percentage: 1, response: { headers: { set: { "": "x" } } } }), "policies[0].rules[0].fault.response.headers.set: header name must not be empty");
  assert.is(bad({ percentage: 1, response: { status: 500, upstreamStatus: { min: 600, max: 500 } } }), "policies[0].rules[0].fault.response.upstream_status.min: must not exceed max");
  assert.is(bad({ percentage: 1, responseRateLimit: { kbps: 0 } }), "policies[0].rules[0].fault.response_rate_limit.kbps: must be greater than 0");
  assert.is(bad({ percentage: 1, delayMs: 1 }, { destination: { port: 80 } }), "policies[0].rules[0].match.destination: needs service or host");
  assert.is(bad({ percentage: 1, delayMs: 1 }, { destination: { host: "a", port: 70000 } }), "policies[0].rules[0].match.destination.port: must be between 1 and 65535");
});

test.run();
