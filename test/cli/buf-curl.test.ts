// The API as a grpcurl user sees it: `buf curl` with server reflection only
// (no .proto files given) lists the services and methods and calls
// ApplyPolicy / GetPolicy; what it stores is what `hfi policy get` shows.
import { spawn } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startTestServer } from "../support/server.ts";
import { REPO, runHfi, type RunResult } from "./run.ts";

function bufCurl(args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("npx", ["--no-install", "buf", "curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

test("buf curl via reflection: list, ApplyPolicy, GetPolicy, validation error", async () => {
  const server = await startTestServer();
  const base = `http://${server.grpcAddress}`;
  try {
    const services = await bufCurl(["--list-services", base]);
    assert.is(services.code, 0, services.stderr);
    const list = services.stdout.trim().split("\n");
    for (const s of ["hfi.v1.PolicyService", "hfi.v1.ConfigDiscoveryService", "grpc.health.v1.Health"]) assert.ok(list.includes(s), s);

    const methods = await bufCurl(["--list-methods", base]);
    assert.is(methods.code, 0, methods.stderr);
    for (const m of ["ApplyPolicy", "GetPolicy", "ListPolicies", "DeletePolicy", "GetPolicyStatus", "WatchPolicies"]) {
      assert.ok(methods.stdout.includes(`hfi.v1.PolicyService/${m}\n`), m);
    }

    // snake_case field names, as in the policy files (proto3 JSON accepts both).
    const request = {
      policy: {
        metadata: { name: "curl-delay" },
        spec: {
          selector: { service: "frontend", namespace: "demo" },
          rules: [{ match: { path: { prefix: "/api" } }, fault: { percentage: 50, delay: { fixed_delay_ms: 300 } } }],
        },
      },
    };
    const apply = await bufCurl(["-d", JSON.stringify(request), `${base}/hfi.v1.PolicyService/ApplyPolicy`]);
    assert.is(apply.code, 0, apply.stderr);
    const applied = JSON.parse(apply.stdout);
    assert.is(applied.result, "APPLY_RESULT_CREATED");
    assert.is(applied.policy.metadata.name, "curl-delay");
    assert.ok(Number(applied.policy.metadata.version) > 0, "int64 version (a JSON string)");

    const get = await bufCurl(["-d", '{"name":"curl-delay"}', `${base}/hfi.v1.PolicyService/GetPolicy`]);
    assert.is(get.code, 0, get.stderr);
    const got = JSON.parse(get.stdout).policy;
    assert.equal(got.spec.rules[0].fault.delay, { fixedDelayMs: 300 });
    assert.equal(got.spec.rules[0].match.path, { prefix: "/api" });

    // The CLI sees the same policy.
    const cli = await runHfi(["policy", "get", "curl-delay", "-o", "json"], { env: { HFI_SERVER: server.grpcAddress } });
    assert.is(cli.code, 0, cli.stderr);
    assert.equal(JSON.parse(cli.stdout).spec, request.policy.spec);

    const bad = structuredClone(request);
    bad.policy.spec.rules[0]!.fault.percentage = 150;
    const rejected = await bufCurl(["-d", JSON.stringify(bad), `${base}/hfi.v1.PolicyService/ApplyPolicy`]);
    assert.ok(rejected.code !== 0, "non-zero exit on an error status");
    const err = JSON.parse(rejected.stdout || rejected.stderr.slice(rejected.stderr.indexOf("{")));
    assert.is(err.code, "invalid_argument");
    assert.match(err.message, /spec\.rules\[0\]\.fault\.percentage: must be between 0 and 100/);

    const missing = await bufCurl(["-d", '{"name":"nope"}', `${base}/hfi.v1.PolicyService/GetPolicy`]);
    assert.ok(missing.code !== 0);
    assert.match(missing.stdout + missing.stderr, /not_found/);
  } finally {
    await server.close();
  }
});

test.run();
