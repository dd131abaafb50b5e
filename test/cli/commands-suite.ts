// Every `hfi policy` command end to end, as a child process against a real
// server. Shared by the embedded-store and etcd test files.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import YAML from "yaml";
import { TestSubscriber, waitFor, type TestServer } from "../support/server.ts";
import { createPolicyClient, type PolicyClient } from "../../cli/client/index.ts";
import { LineReader, runHfi, spawnHfi, stopChild, type RunOptions } from "./run.ts";

interface Ctx {
  server?: TestServer;
  client?: PolicyClient;
  tmp: string;
}

const DELAY = `metadata:
  name: web-delay
spec:
  selector: {service: web, namespace: shop}
  rules:
    - fault: {percentage: 50, delay: {fixed_delay_ms: 500}}
`;

const MULTI = `metadata: {name: multi-a}
spec: {rules: [{fault: {percentage: 10, abort: {http_status: 503}}}]}
---
metadata: {name: multi-b}
spec: {selector: {namespace: staging}, rules: [{fault: {percentage: 100, delay_ms: 200}}]}
---
metadata: {name: multi-c}
spec:
  selector: {service: cart}
  rules:
    - match: {path: {prefix: /api}, headers: [{name: x-test, present: true}]}
      fault: {percentage: 25, abort: {http_status: 500, body: boom}}
`;

export function commandSuite(label: string, start: () => Promise<TestServer>, cleanup: () => Promise<void> = async () => {}) {
  const t = suite<Ctx>(`hfi policy (${label})`, { tmp: "" });

  let hfi: (args: string[], opts?: RunOptions) => ReturnType<typeof runHfi>;

  t.before(async (ctx) => {
    ctx.server = await start();
    ctx.client = createPolicyClient({ server: ctx.server.grpcAddress });
    ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-cli-"));
    const address = ctx.server.grpcAddress;
    hfi = (args, opts = {}) => runHfi(["policy", ...args], { ...opts, env: { HFI_SERVER: address, ...opts.env } });
  });

  t.after(async (ctx) => {
    ctx.client?.close();
    await ctx.server?.close();
    fs.rmSync(ctx.tmp, { recursive: true, force: true });
    await cleanup();
  });

  // Each test starts from an empty store.
  t.before.each(async (ctx) => {
    const { policies } = await ctx.client!.listPolicies();
    for (const p of policies) await ctx.client!.deletePolicy(p.metadata!.name);
  });

  const write = (ctx: Ctx, name: string, text: string): string => {
    const f = path.join(ctx.tmp, name);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, text);
    return f;
  };

  const names = async (ctx: Ctx) => (await ctx.client!.listPolicies()).policies.map((p) => p.metadata!.name);

  t("apply -f FILE: created, then unchanged, then configured", async (ctx) => {
    const f = write(ctx, "delay.yaml", DELAY);
    let r = await hfi(["apply", "-f", f]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'policy "web-delay" created\n');
    r = await hfi(["apply", "-f", f]);
    assert.is(r.stdout, 'policy "web-delay" unchanged\n');
    write(ctx, "delay.yaml", DELAY.replace("percentage: 50", "percentage: 75"));
    r = await hfi(["apply", "-f", f]);
    assert.is(r.stdout, 'policy "web-delay" configured\n');
    const p = await ctx.client!.getPolicy("web-delay");
    assert.is(p.spec!.rules[0]!.fault!.percentage, 75);
  });

  t("apply -f - reads JSON from stdin", async (ctx) => {
    const json = JSON.stringify({
      metadata: { name: "stdin-abort" },
      spec: { rules: [{ fault: { percentage: 100, abort: { httpStatus: 418 } } }] },
    });
    const r = await hfi(["apply", "-f", "-"], { input: json });
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'policy "stdin-abort" created\n');
    assert.is((await ctx.client!.getPolicy("stdin-abort")).spec!.rules[0]!.fault!.abort!.httpStatus, 418);
  });

  t("apply: multi-document file, in order", async (ctx) => {
    const r = await hfi(["apply", "-f", write(ctx, "multi.yaml", MULTI)]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, ['policy "multi-a" created', 'policy "multi-b" created', 'policy "multi-c" created', ""].join("\n"));
    // delay_ms shorthand is stored normalised.
    const b = await ctx.client!.getPolicy("multi-b");
    assert.is(b.spec!.rules[0]!.fault!.delay!.fixedDelayMs, 200);
  });

  t("apply: a directory's *.yaml, *.yml and *.json files sorted by name; repeatable -f", async (ctx) => {
    const dir = path.join(ctx.tmp, "dir");
    fs.rmSync(dir, { recursive: true, force: true });
    write(ctx, "dir/b.yml", "metadata: {name: dir-b}\nspec: {rules: [{fault: {percentage: 1, delay_ms: 1}}]}\n");
    write(ctx, "dir/a.json", '{"metadata":{"name":"dir-a"},"spec":{"rules":[{"fault":{"percentage":1,"delay_ms":1}}]}}');
    write(ctx, "dir/c.yaml", "metadata: {name: dir-c}\nspec: {rules: [{fault: {percentage: 1, delay_ms: 1}}]}\n");
    write(ctx, "dir/notes.txt", "not a policy");
    const extra = write(ctx, "extra.yaml", "metadata: {name: extra}\nspec: {rules: [{fault: {percentage: 1, delay_ms: 1}}]}\n");
    const r = await hfi(["apply", "-f", dir, "-f", extra]);
    assert.is(r.code, 0, r.stderr);
    assert.equal(
      r.stdout.trim().split("\n"),
      ['policy "dir-a" created', 'policy "dir-b" created', 'policy "dir-c" created', 'policy "extra" created'],
    );
  });

  t("apply: an invalid document anywhere → exit 1, FILE[doc N]: path: reason, nothing applied", async (ctx) => {
    const bad = MULTI.replace("percentage: 25", "percentage: 250").replace("name: multi-b", "name: Multi_B");
    const f = write(ctx, "bad.yaml", bad);
    const r = await hfi(["apply", "-f", f]);
    assert.is(r.code, 1);
    assert.ok(r.stderr.includes(`${f}[doc 3]: spec.rules[0].fault.percentage: must be between 0 and 100`), r.stderr);
    assert.ok(new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\[doc 2\\]: metadata\\.name: `).test(r.stderr), r.stderr);
    assert.ok(r.stderr.includes("nothing was applied"), r.stderr);
    assert.is(r.stdout, "");
    assert.equal(await names(ctx), []);
  });

  t("apply: YAML syntax error and missing file → exit 1", async (ctx) => {
    let r = await hfi(["apply", "-f", write(ctx, "syntax.yaml", "metadata: {name: x\n")]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /syntax\.yaml\[doc 1\]: document: invalid YAML/);
    r = await hfi(["apply", "-f", path.join(ctx.tmp, "missing.yaml")]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /missing\.yaml: no such file or directory/);
  });

  t("apply --dry-run: validates on the server, shows changes, stores nothing", async (ctx) => {
    const f = write(ctx, "dry.yaml", DELAY);
    let r = await hfi(["apply", "-f", f, "--dry-run"]);
    assert.is(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith('policy "web-delay" created (dry run)\n'), r.stdout);
    assert.ok(r.stdout.includes("+ spec.rules[0].fault.percentage: 50"), r.stdout);
    assert.equal(await names(ctx), []);

    await hfi(["apply", "-f", f]);
    const before = await ctx.client!.getPolicy("web-delay");
    write(ctx, "dry.yaml", DELAY.replace("percentage: 50", "percentage: 100"));
    r = await hfi(["apply", "-f", f, "--dry-run"]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'policy "web-delay" configured (dry run)\n  ~ spec.rules[0].fault.percentage: 50 → 100\n');
    const after = await ctx.client!.getPolicy("web-delay");
    assert.is(after.metadata!.version, before.metadata!.version);
    assert.is(after.spec!.rules[0]!.fault!.percentage, 50);

    r = await hfi(["apply", "-f", write(ctx, "same.yaml", DELAY), "--dry-run"]);
    assert.is(r.stdout, 'policy "web-delay" unchanged (dry run)\n');
  });

  t("apply --duration-seconds / --start-delay-ms override every rule's fault", async (ctx) => {
    const f = write(ctx, "multi.yaml", MULTI);
    const r = await hfi(["apply", "-f", f, "--duration-seconds", "120", "--start-delay-ms", "250"]);
    assert.is(r.code, 0, r.stderr);
    for (const name of ["multi-a", "multi-b", "multi-c"]) {
      const p = await ctx.client!.getPolicy(name);
      for (const rule of p.spec!.rules) {
        assert.is(rule.fault!.durationSeconds, 120);
        assert.is(rule.fault!.startDelayMs, 250);
      }
      assert.ok(p.metadata!.expiresAtUnixMs > 0, "time-limited policy has an expiry");
    }
    // An override that breaks a limit is reported like any field error.
    const bad = await hfi(["apply", "-f", f, "--duration-seconds", "99999999"]);
    assert.is(bad.code, 1);
    assert.ok(bad.stderr.includes("[doc 1]: spec.rules[0].fault.duration_seconds: "), bad.stderr);
    const usage = await hfi(["apply", "-f", f, "--start-delay-ms", "soon"]);
    assert.is(usage.code, 2);
  });

  t("get/list: table, json, yaml; json and yaml round-trip through apply -f -", async (ctx) => {
    await hfi(["apply", "-f", write(ctx, "multi.yaml", MULTI)]);
    await hfi(["apply", "-f", write(ctx, "delay.yaml", DELAY)]);

    const table = await hfi(["list"]);
    assert.is(table.code, 0, table.stderr);
    const lines = table.stdout.trimEnd().split("\n");
    assert.match(lines[0]!, /^NAME\s+TARGET\s+DIR\s+RULES\s+FAULTS\s+EXPIRES\s+AGE$/);
    assert.is(lines.length, 5);
    for (const l of lines) assert.ok(l.length <= 80, `line longer than 80 columns: ${l}`);
    assert.match(lines[4]!, /^web-delay\s+web\.shop\s+in\s+1\s+50% delay 500ms\s+never\s+\d+s$/);
    assert.not.match(table.stdout, /\x1b\[/, "no colour when stdout is not a TTY");

    const one = await hfi(["get", "web-delay", "-o", "yaml"]);
    assert.is(one.code, 0, one.stderr);
    const doc = YAML.parse(one.stdout);
    assert.equal(doc.spec, {
      selector: { service: "web", namespace: "shop" },
      rules: [{ fault: { percentage: 50, delay: { fixed_delay_ms: 500 } } }],
    });
    assert.ok(doc.metadata.version > 0);
    let back = await hfi(["apply", "-f", "-"], { input: one.stdout });
    assert.is(back.stdout, 'policy "web-delay" unchanged\n', back.stderr);

    const json = await hfi(["get", "multi-c", "-o", "json"]);
    assert.is(JSON.parse(json.stdout).spec.rules[0].match.headers[0].present, true);
    back = await hfi(["apply", "-f", "-"], { input: json.stdout });
    assert.is(back.stdout, 'policy "multi-c" unchanged\n', back.stderr);

    for (const fmt of ["json", "yaml"]) {
      const all = await hfi(["list", "-o", fmt]);
      assert.is(all.code, 0, all.stderr);
      back = await hfi(["apply", "-f", "-"], { input: all.stdout });
      assert.is(back.code, 0, back.stderr);
      assert.equal(back.stdout.trim().split("\n"), ["multi-a", "multi-b", "multi-c", "web-delay"].map((n) => `policy "${n}" unchanged`));
    }

    const get = await hfi(["get"]);
    assert.is(get.stdout.split("\n")[0], lines[0], "get without a name lists");
    assert.is(get.stdout.trimEnd().split("\n").length, 5);
  });

  t("get: not found → exit 1; usage errors → exit 2; --help everywhere → 0 with an example", async () => {
    let r = await hfi(["get", "nope"]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /policy "nope" not found/);
    r = await hfi(["describe", "nope"]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /not found/);
    for (const args of [["frobnicate"], ["get", "--bogus"], ["list", "-o", "xml"], ["apply"], ["describe"], ["delete"]]) {
      r = await hfi(args);
      assert.is(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.ok(r.stderr.length > 0);
    }
    r = await runHfi(["frobnicate"]);
    assert.is(r.code, 2);
    for (const cmd of ["apply", "get", "list", "describe", "delete", "status", "watch"]) {
      r = await hfi([cmd, "--help"]);
      assert.is(r.code, 0, `${cmd} --help`);
      assert.match(r.stdout, /Examples:\n  npx hfi policy /);
      assert.match(r.stdout, /--server <host:port,\.\.\.>/, "global options shown");
      assert.match(r.stdout, /--control-plane-addr <url,\.\.\.>/, "the old CLI's flag shown");
    }
  });

  t("server unreachable → exit 1 naming the address and what to check", async () => {
    const r = await runHfi(["policy", "list", "--server", "127.0.0.1:1"]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /cannot reach the HFI server at 127\.0\.0\.1:1 .*is `hfi server` running\? check --server\/HFI_SERVER/);
    const env = await runHfi(["policy", "list"], { env: { HFI_SERVER: "127.0.0.1:1" } });
    assert.is(env.code, 1);
    assert.match(env.stderr, /127\.0\.0\.1:1/);
  });

  t("delete NAME…, missing name → 1, --all refuses without --yes off a TTY, --all --yes", async (ctx) => {
    await hfi(["apply", "-f", write(ctx, "multi.yaml", MULTI)]);
    let r = await hfi(["delete", "multi-a"]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'policy "multi-a" deleted\n');
    r = await hfi(["delete", "multi-a"]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /policy "multi-a" not found/);
    r = await hfi(["delete", "--all"]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /refusing to delete all 2 policies without --yes/);
    assert.equal(await names(ctx), ["multi-b", "multi-c"]);
    r = await hfi(["delete", "--all", "--yes"]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'policy "multi-b" deleted\npolicy "multi-c" deleted\n');
    assert.equal(await names(ctx), []);
    r = await hfi(["delete", "--all", "--yes"]);
    assert.is(r.stdout, "No policies to delete.\n");
  });

  t("--expected-version: compare-and-swap on apply and delete; conflict → exit 1, misuse → exit 2", async (ctx) => {
    const f = write(ctx, "cas.yaml", DELAY);
    await hfi(["apply", "-f", f]);
    const v1 = (await ctx.client!.getPolicy("web-delay")).metadata!.version;
    write(ctx, "cas.yaml", DELAY.replace("percentage: 50", "percentage: 60"));
    let r = await hfi(["apply", "-f", f, "--expected-version", String(v1)]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'policy "web-delay" configured\n');
    const v2 = (await ctx.client!.getPolicy("web-delay")).metadata!.version;

    write(ctx, "cas.yaml", DELAY.replace("percentage: 50", "percentage: 70"));
    for (const extra of [[], ["--dry-run"]]) {
      r = await hfi(["apply", "-f", f, "--expected-version", String(v1), ...extra]);
      assert.is(r.code, 1, r.stdout);
      assert.is(r.stderr, `error: policy "web-delay" changed since version ${v1} (now ${v2}): re-read and retry\n`);
      assert.is(r.stdout, "");
    }
    assert.is((await ctx.client!.getPolicy("web-delay")).spec!.rules[0]!.fault!.percentage, 60, "nothing applied");
    r = await hfi(["apply", "-f", write(ctx, "new.yaml", DELAY.replace("web-delay", "cas-new")), "--expected-version", "3"]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /policy "cas-new" changed since version 3 \(now it does not exist\): re-read and retry/);

    r = await hfi(["apply", "-f", write(ctx, "multi.yaml", MULTI), "--expected-version", String(v2)]);
    assert.is(r.code, 2);
    assert.match(r.stderr, /--expected-version needs exactly one policy document, found 3/);
    for (const bad of ["0", "abc", "-1"]) {
      r = await hfi(["apply", "-f", f, "--expected-version", bad]);
      assert.is(r.code, 2, `--expected-version ${bad}: ${r.stderr}`);
    }
    assert.equal(await names(ctx), ["web-delay"]);

    r = await hfi(["delete", "web-delay", "--expected-version", String(v1)]);
    assert.is(r.code, 1);
    assert.is(r.stderr, `error: policy "web-delay" changed since version ${v1} (now ${v2}): re-read and retry\n`);
    for (const args of [["web-delay", "other"], ["--all", "--yes"]]) {
      r = await hfi(["delete", ...args, "--expected-version", String(v2)]);
      assert.is(r.code, 2, args.join(" "));
      assert.match(r.stderr, /--expected-version needs exactly one policy name/);
    }
    assert.equal(await names(ctx), ["web-delay"]);
    r = await hfi(["delete", "web-delay", "--expected-version", String(v2)]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'policy "web-delay" deleted\n');
    assert.equal(await names(ctx), []);
  });

  t("watch prints one line per event; -o json one object per line", async (ctx) => {
    await hfi(["apply", "-f", write(ctx, "delay.yaml", DELAY)]);
    const child = spawnHfi(["policy", "watch", "-o", "json"], { env: { HFI_SERVER: ctx.server!.grpcAddress } });
    const lines = new LineReader(child);
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    try {
      // The existing policy first: the stream is live from here on.
      const initial = JSON.parse(await lines.next());
      assert.is(initial.type, "PUT");
      assert.is(initial.policy.metadata.name, "web-delay");
      await ctx.client!.applyPolicy({ metadata: { name: "watched" }, spec: { rules: [{ fault: { percentage: 5, delayMs: 10 } }] } });
      const put = JSON.parse(await lines.next());
      assert.is(put.type, "PUT");
      assert.is(put.policy.metadata.name, "watched");
      assert.equal(put.policy.spec.rules[0].fault, { percentage: 5, delay: { fixed_delay_ms: 10 } });
      await ctx.client!.deletePolicy("watched");
      const del = JSON.parse(await lines.next());
      assert.is(del.type, "DELETE");
      assert.is(del.policy.metadata.name, "watched");
    } finally {
      const code = await stopChild(child);
      assert.is(code, 0, `watch exits 0 on SIGTERM: ${stderr}`);
    }

    const text = spawnHfi(["policy", "watch"], { env: { HFI_SERVER: ctx.server!.grpcAddress } });
    const tl = new LineReader(text);
    try {
      assert.match(await tl.next(), /^\d\d:\d\d:\d\d\.\d{3}  PUT     web-delay  v\d+  web\.shop  50% delay 500ms$/);
      await ctx.client!.deletePolicy("web-delay");
      assert.match(await tl.next(), /^\d\d:\d\d:\d\d\.\d{3}  DELETE  web-delay/);
    } finally {
      await stopChild(text, "SIGINT");
    }
  });

  t("describe and status: selector, rules, expiry, convergence with ACK and NACK", async (ctx) => {
    const addr = ctx.server!.grpcAddress;
    const good = new TestSubscriber(addr, { service: "web", namespace: "shop", pod: "web-1", proxyId: "web-1.shop~0" });
    const bad = new TestSubscriber(
      addr,
      { service: "web", namespace: "shop", pod: "web-2", proxyId: "web-2.shop~0" },
      { nack: (s) => (s.policies.length ? "regex engine exploded" : undefined) },
    );
    const other = new TestSubscriber(addr, { service: "db", namespace: "shop", pod: "db-1", proxyId: "db-1.shop~0" });
    try {
      const f = write(ctx, "describe.yaml", DELAY.replace("    - fault:", "    - match: {method: {exact: GET}, path: {regex: '^/api/v[0-9]+/'}}\n      fault:").replace("delay: {fixed_delay_ms: 500}", "delay: {fixed_delay_ms: 500}, duration_seconds: 600"));
      const ap = await hfi(["apply", "-f", f]);
      assert.is(ap.code, 0, ap.stderr);
      await waitFor(async () => {
        const st = (await ctx.client!.getPolicyStatus("web-delay")).policies[0];
        return st && st.acked.length === 1 && st.nacked.length === 1;
      }, "one ACK and one NACK");

      const d = await hfi(["describe", "web-delay"]);
      assert.is(d.code, 0, d.stderr);
      assert.match(d.stdout, /^Name:\s+web-delay$/m);
      assert.match(d.stdout, /^Selector:\s+service=web namespace=shop$/m);
      assert.match(d.stdout, /\[0\] match: method="GET", path ~ \/\^\/api\/v\[0-9\]\+\/\//);
      assert.match(d.stdout, /fault: 50% delay 500ms for 600s/);
      assert.match(d.stdout, /^Expires:\s+in (9m\d+s|10m0s) \(/m);
      assert.match(d.stdout, /^Convergence:\s+1 of 2 targeted proxies ACKed, 1 NACKed$/m);
      assert.match(d.stdout, /ACKed\s+web-1\.shop~0 \(web\.shop\)/);
      assert.match(d.stdout, /NACKed\s+web-2\.shop~0 \(web\.shop\): regex engine exploded/);

      const dj = JSON.parse((await hfi(["describe", "web-delay", "-o", "json"])).stdout);
      assert.is(dj.policy.metadata.name, "web-delay");
      assert.is(dj.status.targeted_proxies, 2);
      assert.is(dj.status.nacked[0].error, "regex engine exploded");

      const s = await hfi(["status"]);
      assert.is(s.code, 0, s.stderr);
      assert.match(s.stdout, /^POLICY\s+VER\s+TARGET\s+DIR\s+FAULTS\s+ACKED\s+NACKED\s+PENDING\s+EXPIRES$/m);
      assert.match(s.stdout, /^web-delay\s+\d+\s+web\.shop\s+in\s+delay\s+1\/2\s+1\s+0\s+in /m);
      assert.match(s.stdout, /^web-1\.shop~0\s+web\.shop\s+in\s+ACK\s/m);
      assert.match(s.stdout, /^web-2\.shop~0\s+web\.shop\s+in\s+NACK\s/m);
      assert.match(s.stdout, /^db-1\.shop~0\s+db\.shop\s+in\s+ACK\s/m);
      assert.match(s.stdout, /NACK web-2\.shop~0: regex engine exploded/);
      for (const l of s.stdout.split("\n")) assert.ok(l.length <= 80, `longer than 80 columns: ${l}`);

      const sy = YAML.parse((await hfi(["status", "web-delay", "-o", "yaml"])).stdout);
      assert.is(sy.policies[0].name, "web-delay");
      assert.is(sy.policies[0].acked[0].identity.proxy_id, "web-1.shop~0");
    } finally {
      good.close();
      bad.close();
      other.close();
    }
  });

  return t;
}
