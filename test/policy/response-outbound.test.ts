// Response faults and outbound policies in the policy core: the issue's
// shapes accepted as written (snake_case and lowerCamelCase), normalisation,
// every rejection with its exact "path: reason", and the snapshot entry the
// filter gets (direction, an empty replacement body kept).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parsePolicyDocuments, parsePolicyInput, faultText, faultDetails } from "../../policy/index.ts";
import { encodeSnapshotPolicy, snapshotPolicyOf } from "../../server/distribution/snapshot.ts";
import { methodDefinition } from "../../server/grpc/methods.ts";
import type { PolicyOut } from "../../proto/loader.ts";
import { describeText, renderPolicies } from "../../cli/policy/read.ts";
import { eventLine } from "../../cli/policy/watch.ts";
import YAML from "yaml";

const ISSUE_SHAPES = `metadata: {name: fe-to-catalog}
spec:
  selector: {service: frontend, namespace: demo}
  direction: outbound                 # default: inbound
  rules:
    - match: {destination: {service: productcatalog, namespace: demo}}
      fault: {percentage: 30, delay: {fixed_delay_ms: 500}}
---
metadata: {name: fe-response}
spec:
  selector: {service: frontend, namespace: demo}
  rules:
    - match: {path: {prefix: /checkout}}
      fault:
        percentage: 100
        response: {status: 503, headers: {set: {x-injected: "1"}}, body: "injected"}
`;

function ok(input: unknown): PolicyOut {
  const r = parsePolicyInput(input);
  if (!r.ok) assert.unreachable(`expected valid, got ${JSON.stringify(r.errors)}`);
  return (r as { policy: PolicyOut }).policy;
}

function errorsOf(input: unknown): string[] {
  const r = parsePolicyInput(input);
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.reason}`);
}

const withFault = (fault: object, extra: object = {}) => ({
  metadata: { name: "p" },
  spec: { selector: { service: "svc", namespace: "ns" }, rules: [{ fault }], ...extra },
});
const outbound = (match: object) => ({
  metadata: { name: "p" },
  spec: { selector: { service: "svc", namespace: "ns" }, direction: "outbound", rules: [{ match, fault: { percentage: 10, delay_ms: 5 } }] },
});

test("the issue's outbound and response shapes are accepted as written", () => {
  const docs = parsePolicyDocuments(ISSUE_SHAPES);
  assert.is(docs.length, 2);
  const [a, b] = docs.map((d) => {
    if (!d.ok) assert.unreachable(JSON.stringify(d.errors));
    return (d as unknown as { policy: PolicyOut }).policy;
  });
  assert.is(a!.spec!.direction, "outbound");
  assert.equal(a!.spec!.rules[0]!.match!.destination, { service: "productcatalog", namespace: "demo", host: "", port: 0 });
  const r = b!.spec!.rules[0]!.fault!.response!;
  assert.is(r.status, 503);
  assert.equal(r.headers!.set, { "x-injected": "1" });
  assert.is(r.body, "injected");
  assert.is(faultText(b!.spec!.rules[0]!.fault), "100% response status 503+headers+body");
  assert.equal(faultDetails(b!.spec!.rules[0]!.fault), ["response status: 503", "response header set: x-injected: 1", 'response body: "injected"']);
});

test("lowerCamelCase and snake_case are the same; names and direction are normalised", () => {
  const camel = ok(
    withFault(
      { percentage: 5, response: { headers: { set: { "X-A": "1" }, add: { "X-B": "2" }, remove: ["Server"] }, upstreamStatus: { codes: [200], min: 500, max: 599 } } },
      { direction: "Inbound" },
    ),
  );
  const snake = ok(
    withFault(
      { percentage: 5, response: { headers: { set: { "X-A": "1" }, add: { "X-B": "2" }, remove: ["Server"] }, upstream_status: { codes: [200], min: 500, max: 599 } } },
      { direction: "inbound" },
    ),
  );
  assert.equal(camel, snake);
  const r = camel.spec!.rules[0]!.fault!.response!;
  assert.equal(r.headers, { set: { "x-a": "1" }, add: { "x-b": "2" }, remove: ["server"] });
  assert.equal(r.upstreamStatus, { codes: [200], min: 500, max: 599 });
  assert.is(r.body, undefined, "no body given: the upstream's is kept");
  assert.is(camel.spec!.direction, "inbound");
  const d = ok(outbound({ destination: { host: "API.Example.com", port: 443 } })).spec!.rules[0]!.match!.destination!;
  assert.equal(d, { service: "", namespace: "", host: "api.example.com", port: 443 });
  const rl = ok(withFault({ percentage: 100, response_rate_limit: { kbps: 64 } })).spec!.rules[0]!.fault!;
  assert.equal(rl.responseRateLimit, { kbps: 64 });
  assert.is(faultText(rl), "100% response 64KiB/s");
  // A delay and a response rewrite together: the request waits, then reaches the upstream.
  ok(withFault({ percentage: 100, delay_ms: 50, response: { status: 500 } }));
});

const BAD: [object, string[]][] = [
  [withFault({ percentage: 1, delay_ms: 1 }, { direction: "sideways" }), ['spec.direction: must be "inbound" or "outbound" (got "sideways")']],
  [withFault({ percentage: 1, response: {} }), ["spec.rules[0].fault.response: must set status, headers or body (what to change in the response)"]],
  [withFault({ percentage: 1, response: { status: 99 } }), ["spec.rules[0].fault.response.status: must be between 200 and 599 (0 keeps the upstream's)"]],
  [
    withFault({ percentage: 1, abort: { http_status: 503 }, response: { status: 500 } }),
    ["spec.rules[0].fault.response: cannot be combined with abort (an aborted request never reaches the upstream)"],
  ],
  [
    withFault({ percentage: 1, response: { headers: { set: { "content-length": "3", "bad name": "x" }, add: { "x-ok": "a\nb" } } } }),
    [
      'spec.rules[0].fault.response.headers.set["content-length"]: is set by the proxy and cannot be overridden',
      'spec.rules[0].fault.response.headers.set["bad name"]: must be a valid HTTP header name (RFC 9110 token, no \':\' pseudo-headers)',
      'spec.rules[0].fault.response.headers.add["x-ok"]: must not contain CR, LF or NUL',
    ],
  ],
  [
    withFault({ percentage: 1, response: { headers: { set: { "X-A": "1", "x-a": "2" } } } }),
    ['spec.rules[0].fault.response.headers.set["x-a"]: is given twice (header names are case-insensitive)'],
  ],
  [
    withFault({ percentage: 1, response: { headers: { remove: ["", "transfer-encoding"] } } }),
    ["spec.rules[0].fault.response.headers.remove[0]: must not be empty", "spec.rules[0].fault.response.headers.remove[1]: is set by the proxy and cannot be removed"],
  ],
  [withFault({ percentage: 1, response: { body: "x".repeat(16385) } }), ["spec.rules[0].fault.response.body: must be at most 16384 bytes (got 16385)"]],
  [
    withFault({ percentage: 1, response: { status: 500, upstream_status: { codes: [42], min: 600, max: 700 } } }),
    ["spec.rules[0].fault.response.upstream_status.codes[0]: must be between 100 and 599", "spec.rules[0].fault.response.upstream_status.min: must be between 100 and 599 (with max)"],
  ],
  [withFault({ percentage: 1, response: { status: 500, upstream_status: { min: 500, max: 400 } } }), ["spec.rules[0].fault.response.upstream_status.min: must not exceed max"]],
  [withFault({ percentage: 1, response: { status: 500, upstream_status: {} } }), ["spec.rules[0].fault.response.upstream_status: must set codes or min and max"]],
  [withFault({ percentage: 1, response: { status: 503.5 } }), ["spec.rules[0].fault.response.status: must be an integer"]],
  [
    { metadata: { name: "p" }, spec: { rules: [{ match: { destination: { service: "a" } }, fault: { percentage: 1, delay_ms: 1 } }] } },
    ["spec.rules[0].match.destination: is only for outbound policies (set spec.direction: outbound)"],
  ],
  [
    outbound({ destination: { service: "a" }, source: { service: "b" } }),
    ["spec.rules[0].match.source: is only for inbound policies (on outbound calls the caller is the selected workload; match the callee with destination)"],
  ],
  [outbound({ destination: {} }), ["spec.rules[0].match.destination: must set service (and namespace) or host"]],
  [outbound({ destination: { service: "a", host: "b.com" } }), ["spec.rules[0].match.destination: must set service (and namespace) or host, not both"]],
  [outbound({ destination: { host: "b.com:80" } }), ["spec.rules[0].match.destination.host: must be a DNS name (a-z, 0-9, '-' and '.', at most 253 characters, no port: use port)"]],
  [outbound({ destination: { host: "b.com", namespace: "x" } }), ["spec.rules[0].match.destination.namespace: needs service (a host is matched as given)"]],
  [
    outbound({ destination: { service: "a.b", namespace: "-x", port: 70000 } }),
    [
      "spec.rules[0].match.destination.service: must be a Kubernetes service name (RFC 1123 label: a-z, 0-9, '-', at most 63 characters)",
      "spec.rules[0].match.destination.namespace: must be an RFC 1123 label (a-z, 0-9, '-', at most 63 characters)",
      "spec.rules[0].match.destination.port: must be between 1 and 65535 (0 = any)",
    ],
  ],
  [withFault({ percentage: 1, response_rate_limit: { kbps: 0 } }), ["spec.rules[0].fault.response_rate_limit.kbps: must be between 1 and 1048576 (KiB/s)"]],
  [
    withFault({ percentage: 1, abort: { http_status: 503 }, responseRateLimit: { kbps: 10 } }),
    ["spec.rules[0].fault.response_rate_limit: cannot be combined with abort (an aborted request never reaches the upstream)"],
  ],
];

test(`${BAD.length} bad response/outbound inputs are rejected with exact messages`, () => {
  for (const [input, want] of BAD) assert.equal(errorsOf(input), want, JSON.stringify(input).slice(0, 300));
});

const snapshotDecode = (b: Buffer) => methodDefinition("hfi.v1.ConfigDiscoveryService", "StreamConfig").responseDeserialize(b);

test("the snapshot entry carries the direction, and an empty replacement body survives", () => {
  const p = ok(withFault({ percentage: 100, response: { body: "" } }, { direction: "outbound" }));
  const sp = snapshotPolicyOf(p);
  assert.is(sp.direction, "outbound");
  const back = snapshotDecode(encodeSnapshotPolicy(sp)) as { policies: { direction: string; rules: { fault: { response: { body?: string } } }[] }[] };
  assert.is(back.policies[0]!.direction, "outbound");
  assert.is(back.policies[0]!.rules[0]!.fault.response.body, "", "body: \"\" replaces the body with nothing");
  const inbound = snapshotPolicyOf(ok(withFault({ percentage: 1, delay_ms: 1 })));
  assert.is(inbound.direction, "inbound");
});

test("list, describe and -o yaml show the direction, the destination and the response rewrite", async () => {
  const docs = parsePolicyDocuments(ISSUE_SHAPES).map((d) => (d as unknown as { policy: PolicyOut }).policy);
  const table = await renderPolicies(docs, "table", false);
  assert.match(table, /^NAME\s+TARGET\s+DIR\s+RULES/m);
  assert.match(table, /^fe-to-catalog\s+frontend\.demo\s+out\s+1\s+30% delay 500ms/m);
  assert.match(table, /^fe-response\s+frontend\.demo\s+in\s+1\s+100% response status 50/m);
  const put = (policy: PolicyOut) => eventLine({ policy, revision: 3, type: "TYPE_PUT" } as never, false, 0);
  assert.match(put(docs[0]!), /PUT {5}fe-to-catalog {2}v\d+ {2}frontend\.demo \(outbound\) {2}30% delay 500ms$/);
  assert.match(put(docs[1]!), /fe-response {2}v\d+ {2}frontend\.demo {2}100% response/);
  const out = describeText(docs[0]!, undefined, false);
  assert.match(out, /^Direction:\s+outbound \(calls the workload makes\)$/m);
  assert.match(out, /match: destination service productcatalog\.demo$/m);
  const resp = describeText(docs[1]!, undefined, false);
  assert.match(resp, /^Direction:\s+inbound/m);
  assert.match(resp, /^ {6}response header set: x-injected: 1$/m);
  assert.match(resp, /^ {6}response body: "injected"$/m);
  // -o yaml is snake_case and applies back to the same policies.
  const y = await renderPolicies(docs, "yaml", false);
  assert.match(y, /direction: outbound/);
  assert.match(y, /response:\n\s+status: 503\n\s+headers:\n\s+set:\n\s+x-injected: "1"\n\s+body: injected/);
  const back = YAML.parseAllDocuments(y).map((d) => ok(d.toJSON()));
  assert.equal(back.map((p) => p.spec), docs.map((p) => p.spec));
});

test.run();
