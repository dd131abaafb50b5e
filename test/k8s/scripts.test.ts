// scripts/k8s/*.sh: shellcheck clean, and they stop with exit code 2 and a
// message naming what is missing when the environment is not ready (no
// kubectl, no reachable cluster, no Docker engine). The cluster paths
// themselves need a real k3s/kind + Istio and are for users to run.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const K8S_SCRIPTS = fs.readdirSync(path.join(ROOT, "scripts/k8s")).filter((f) => f.endsWith(".sh")).map((f) => `scripts/k8s/${f}`);
const OTHER_SCRIPTS = fs.readdirSync(path.join(ROOT, "scripts")).filter((f) => f.endsWith(".sh")).map((f) => `scripts/${f}`);
const E2E = K8S_SCRIPTS.filter((f) => /\/(e2e-[\w-]+|run-all|install)\.sh$/.test(f));

function run(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync("bash", args, { cwd: ROOT, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", ...env }, timeout: 60_000 });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function shellcheck(args: string[]) {
  const r = spawnSync("shellcheck", args, { cwd: ROOT, encoding: "utf8" });
  if (r.error) {
    assert.unreachable("shellcheck is not installed: install it (apt-get install shellcheck; scripts/ensure-tools.sh does in CI)");
  }
  return r;
}

test("the scripts exist: lib, install, run-all and one per user story", () => {
  for (const s of ["lib", "install", "run-all", "docker-build", "e2e-control-plane", "e2e-plugin-loaded", "e2e-identity", "e2e-selector", "e2e-percentage", "e2e-metrics", "e2e-streams", "e2e-stream-handlers", "e2e-bookinfo-identity"]) {
    assert.ok(K8S_SCRIPTS.includes(`scripts/k8s/${s}.sh`), `scripts/k8s/${s}.sh`);
  }
});

test("shellcheck: scripts/k8s/*.sh clean at every severity", () => {
  const r = shellcheck(K8S_SCRIPTS);
  assert.is(r.status, 0, r.stdout + r.stderr);
});

test("shellcheck: scripts/*.sh have no errors", () => {
  const r = shellcheck(["-S", "error", ...OTHER_SCRIPTS]);
  assert.is(r.status, 0, r.stdout + r.stderr);
});

test("without kubectl every cluster script exits 2 and names it", () => {
  for (const s of E2E) {
    const r = run([s], { KUBECTL: "/nonexistent/kubectl" });
    assert.is(r.code, 2, `${s}: ${r.out}`);
    assert.match(r.out, /missing on PATH: .*\/nonexistent\/kubectl/, s);
  }
});

test("with an unreachable cluster every cluster script exits 2 and says so", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-kube-"));
  try {
    const kubeconfig = path.join(dir, "config");
    // Port 1 on loopback: refused at once, nothing is ever contacted.
    fs.writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: none, user: {}}]
contexts: [{name: none, context: {cluster: none, user: none}}]
current-context: none
`,
    );
    const kubectl = spawnSync("kubectl", ["version", "--client"], { encoding: "utf8" });
    // Without kubectl the previous test covers the missing-tool path; this
    // one checks the cluster probe with a stub that always fails to connect.
    const env: Record<string, string> = { KUBECONFIG: kubeconfig };
    if (kubectl.error) {
      const stub = path.join(dir, "kubectl");
      fs.writeFileSync(stub, "#!/bin/sh\necho 'The connection to the server 127.0.0.1:1 was refused' >&2\nexit 1\n", { mode: 0o755 });
      env.KUBECTL = stub;
    }
    for (const s of E2E) {
      const r = run([s], env);
      assert.is(r.code, 2, `${s}: ${r.out}`);
      assert.match(r.out, /no Kubernetes cluster reachable/, s);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("docker builds exit 2 when no Docker engine is reachable", () => {
  for (const target of ["server", "filter"]) {
    const r = run(["scripts/k8s/docker-build.sh", target], { DOCKER_HOST: "unix:///nonexistent/docker.sock" });
    assert.is(r.code, 2, r.out);
    assert.match(r.out, /no Docker engine reachable \(DOCKER_HOST=unix:\/\/\/nonexistent\/docker.sock\)/);
  }
});

test("usage errors exit 2; run-all --help exits 0", () => {
  assert.is(run(["scripts/k8s/docker-build.sh", "everything"]).code, 2);
  const only = run(["scripts/k8s/run-all.sh", "--only", "nope"]);
  assert.is(only.code, 2);
  assert.match(only.out, /unknown check: nope/);
  const help = run(["scripts/k8s/run-all.sh", "--help"]);
  assert.is(help.code, 0);
  assert.match(help.out, /--stop-on-failure/);
  assert.is(run(["scripts/k8s/install.sh", "--bogus"]).code, 2);
});

test("lib.sh helpers: timeouts name what they waited for; no colours off a terminal", () => {
  const r = run(["-c", 'exec 2>&1; source scripts/k8s/lib.sh; wait_until 1 "the thing" false; echo "rc=$?"; require_cmds sh no-such-tool-xyz; echo "rc=$?"; ok done']);
  assert.match(r.out, /FAIL timed out after 1s waiting for: the thing\nrc=1/);
  assert.match(r.out, /NOT READY missing on PATH: no-such-tool-xyz\nrc=1/);
  assert.match(r.out, /PASS done/);
  assert.not.match(r.out, /\x1b\[/, "no escape codes when stdout is not a TTY");
  const t = run(["-c", 'source scripts/k8s/lib.sh; t="$(random_token)"; echo "${#t} $t"']);
  assert.match(t.out, /^64 [0-9a-f]{64}$/m);
});

test.run();
