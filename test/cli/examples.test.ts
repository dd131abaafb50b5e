// Every file in cli/examples/ through `hfi policy apply` against a real
// server: the valid ones are stored as described in cli/examples/README.md,
// the whole folder applies in one call, and invalid/percentage-over-100.yaml
// (kept apart so the folder holds only valid policies) fails with exactly the
// documented message.
import fs from "node:fs";
import path from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createPolicyClient } from "../../cli/client/index.ts";
import { startTestServer } from "../support/server.ts";
import { REPO, runHfi } from "./run.ts";

const EXAMPLES = path.join(REPO, "cli/examples");

/** Policy names each example file creates, in document order. */
const EXPECTED: Record<string, string[]> = {
  "abort.yaml": ["payments-abort"],
  "api-abort.yaml": ["api-abort"],
  "caller.yaml": ["catalog-callers"],
  "delay.yaml": ["frontend-slow"],
  "delay-distributions.yaml": ["fe-latency"],
  "frontend-delay.yaml": ["frontend-delay"],
  "grpc.yaml": ["checkout-grpc"],
  "header-control.yaml": ["fe-on-demand"],
  "header-match.yaml": ["checkout-test-users"],
  "late-stage.yaml": ["inventory-late-timeout"],
  "outbound-delay.yaml": ["fe-to-catalog"],
  "percentage.yaml": ["reviews-flaky"],
  "response-rewrite.yaml": ["fe-response"],
  "service-targeted.yaml": ["demo-frontend-delay", "global-abort", "staging-delay", "health-check-delay"],
  "time-limited.yaml": ["search-delay-5m"],
};

test("the examples directory holds exactly the documented files", () => {
  const files = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith(".yaml")).sort();
  assert.equal(files, Object.keys(EXPECTED).sort());
  assert.equal(fs.readdirSync(path.join(EXAMPLES, "invalid")), ["percentage-over-100.yaml"]);
  const readme = fs.readFileSync(path.join(EXAMPLES, "README.md"), "utf8");
  for (const f of files) assert.ok(readme.includes(`\`${f}\``), `README.md describes ${f}`);
});

test("every valid example applies (created), then applies again unchanged; shapes stored as documented", async () => {
  const server = await startTestServer();
  const client = createPolicyClient({ server: server.grpcAddress });
  try {
    const env = { HFI_SERVER: server.grpcAddress };
    for (const [file, names] of Object.entries(EXPECTED)) {
      const f = `cli/examples/${file}`;
      const r = await runHfi(["policy", "apply", "-f", f], { env });
      assert.is(r.code, 0, `${file}: ${r.stderr}`);
      assert.is(r.stdout, names.map((n) => `policy "${n}" created\n`).join(""), file);
      const again = await runHfi(["policy", "apply", "-f", f], { env });
      assert.is(again.stdout, names.map((n) => `policy "${n}" unchanged\n`).join(""), file);
    }

    const frontend = await client.getPolicy("frontend-delay");
    assert.equal(frontend.spec!.selector, { service: "frontend", namespace: "demo", labels: {} });
    assert.is(frontend.spec!.rules[0]!.fault!.percentage, 50);
    assert.is(frontend.spec!.rules[0]!.fault!.delay!.fixedDelayMs, 500, "delay_ms normalised");

    const out = await client.getPolicy("fe-to-catalog");
    assert.is(out.spec!.direction, "outbound");
    assert.equal(out.spec!.rules[0]!.match!.destination, { service: "productcatalog", namespace: "demo", host: "", port: 0 });
    const resp = await client.getPolicy("fe-response");
    assert.equal(resp.spec!.rules[0]!.fault!.response!.headers!.set, { "x-injected": "1" });
    assert.is(resp.spec!.rules[0]!.fault!.response!.body, "injected");
    assert.equal(resp.spec!.rules[1]!.fault!.response!.upstreamStatus, { codes: [], min: 500, max: 599 });
    assert.equal(resp.spec!.rules[1]!.fault!.response!.headers!.remove, ["server"]);
    assert.equal(resp.spec!.rules[2]!.fault!.responseRateLimit, { kbps: 64 });

    const api = await client.getPolicy("api-abort");
    const [r0, r1] = api.spec!.rules;
    assert.is(r0!.match!.method!.exact, "POST");
    assert.is(r0!.match!.path!.prefix, "/api/orders");
    assert.is(r0!.match!.headers[0]!.name, "x-user-group");
    assert.is(r0!.match!.headers[0]!.exact, "beta");
    assert.is(r0!.fault!.startDelayMs, 1000);
    assert.is(r0!.fault!.durationSeconds, 600);
    assert.is(r0!.fault!.delay!.fixedDelayMs, 300);
    assert.is(r1!.match!.path!.regex, "^/api/v[0-9]+/");
    assert.is(r1!.fault!.abort!.httpStatus, 503);
    assert.is(r1!.fault!.abort!.body, "injected");
    assert.is(api.metadata!.expiresAtUnixMs, 0, "rule 2 has no duration: the policy does not expire");

    const latency = await client.getPolicy("fe-latency");
    assert.equal(latency.spec!.rules[0]!.fault!.delay!.uniform, { minMs: 100, maxMs: 200 });
    assert.equal(latency.spec!.rules[1]!.fault!.delay!.lognormal, { p50Ms: 50, p99Ms: 400 }, "lowerCamelCase spelling");

    const grpcPolicy = await client.getPolicy("checkout-grpc");
    assert.equal(grpcPolicy.spec!.rules[0]!.match!.grpc, { service: "demo.Catalog", method: "*" });
    assert.is(grpcPolicy.spec!.rules[0]!.fault!.abort!.grpcStatus, 14);
    assert.equal(grpcPolicy.spec!.rules[1]!.match!.grpc, { service: "*", method: "Ping" });

    const onDemand = await client.getPolicy("fe-on-demand");
    assert.equal(onDemand.spec!.rules[0]!.fault!.headerControl, { maxDelayMs: 2000, allowAbort: true });
    assert.is(onDemand.spec!.rules[0]!.fault!.percentage, 0, "no percentage needed: the request chooses");

    const callers = await client.getPolicy("catalog-callers");
    assert.equal(callers.spec!.rules[0]!.match!.source, { service: "checkout", namespace: "", principal: "" });
    assert.is(callers.spec!.rules[1]!.match!.source!.principal, "cluster.local/ns/demo/sa/checkout", "spiffe:// dropped");

    // describe shows the new shapes (the real CLI process).
    const describe = async (name: string) => {
      const r = await runHfi(["policy", "describe", name], { env });
      assert.is(r.code, 0, r.stderr);
      return r.stdout;
    };
    const lat = await describe("fe-latency");
    assert.match(lat, /\[0\] match: path prefix "\/slow"\n\s+fault: 100% delay 100-200ms\n/);
    assert.match(lat, /fault: 100% delay lognormal p50 50ms p99 400ms/);
    const od = await describe("fe-on-demand");
    assert.match(od, /fault: header-controlled \(delay <= 2000ms, abort\)\n\s+header control: x-hfi-delay-ms up to 2000, x-hfi-abort-status, x-hfi-percentage/);
    assert.match(await describe("catalog-callers"), /match: grpc demo\.Catalog\/\*, from checkout\.\*\n\s+fault: 10% abort 200 \(grpc 14\)/);
    assert.match(await describe("catalog-callers"), /match: from principal cluster\.local\/ns\/demo\/sa\/checkout/);
    // get -o yaml writes the shapes back as written, and they apply unchanged.
    const yaml = await runHfi(["policy", "get", "catalog-callers", "-o", "yaml"], { env });
    assert.match(yaml.stdout, /grpc:\n\s+service: demo\.Catalog\n\s+method: "\*"\n\s+source:\n\s+service: checkout/);

    const late = await client.getPolicy("inventory-late-timeout");
    assert.is(late.spec!.rules[0]!.fault!.startDelayMs, 2000);
    const limited = await client.getPolicy("search-delay-5m");
    assert.is(limited.metadata!.expiresAtUnixMs, limited.metadata!.updatedAtUnixMs + 300_000);

    const open = await client.getPolicy("health-check-delay");
    const sel = open.spec!.selector;
    assert.ok(!sel?.service && !sel?.namespace && Object.keys(sel?.labels ?? {}).length === 0, "no selector: every proxy");
    const global = await client.getPolicy("global-abort");
    assert.is(global.spec!.rules[0]!.fault!.percentage, 10);
  } finally {
    client.close();
    await server.close();
  }
});

test("`hfi policy apply -f cli/examples/` applies every example in one call", async () => {
  const server = await startTestServer();
  try {
    const r = await runHfi(["policy", "apply", "-f", "cli/examples/"], { env: { HFI_SERVER: server.grpcAddress } });
    assert.is(r.code, 0, r.stderr);
    const created = Object.values(EXPECTED).flat().sort();
    assert.equal([...r.stdout.matchAll(/policy "([^"]+)" created/g)].map((m) => m[1]).sort(), created);
  } finally {
    await server.close();
  }
});

test("invalid/percentage-over-100.yaml fails with exactly the message documented in cli/examples/README.md", async () => {
  const readme = fs.readFileSync(path.join(EXAMPLES, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## `invalid/percentage-over-100.yaml`"));
  const expected = /```text\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(expected, "README.md has the expected error block");
  // No server at all: local validation rejects it before any call.
  const r = await runHfi(["policy", "apply", "-f", "cli/examples/invalid/percentage-over-100.yaml"], { env: { HFI_SERVER: "127.0.0.1:1" } });
  assert.is(r.code, 1);
  assert.is(r.stdout, "");
  assert.is(r.stderr, expected);
});

test.run();
