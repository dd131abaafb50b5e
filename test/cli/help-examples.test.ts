// Every example that `hfi … --help` prints is written the way the README says
// to run hfi (`npx hfi …`, from the checkout) and works: the policy and
// completion examples run for real, through npx, in the order a user would
// try them, against a real control plane; the server and sidecar examples
// (they bind fixed ports and run until stopped) use only flags their command
// declares.
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startTestServer } from "../support/server.ts";
import { cleanEnv, REPO, runHfi, stopChild } from "./run.ts";

interface Help {
  path: string;
  text: string;
  examples: string[];
  subcommands: string[];
}

async function help(cmdPath: string): Promise<Help> {
  const r = await runHfi([...cmdPath.split(" ").filter(Boolean), "--help"]);
  assert.is(r.code, 0, `${cmdPath} --help: ${r.stderr}`);
  const section = /\nExamples?:\n((?: {2}.*\n?)+)/.exec(r.stdout)?.[1] ?? "";
  // A line ending in "\" continues on the next one.
  const examples = section
    .replace(/\\\n\s*/g, "")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const commands = /\nCommands:\n((?: {2}.*\n?)+)/.exec(r.stdout)?.[1] ?? "";
  const subcommands = [...commands.matchAll(/^ {2}(\w[\w-]*)/gm)].map((m) => m[1]!).filter((c) => c !== "help");
  return { path: cmdPath, text: r.stdout, examples, subcommands };
}

async function allHelp(): Promise<Map<string, Help>> {
  const out = new Map<string, Help>();
  const queue = [""];
  while (queue.length) {
    const p = queue.shift()!;
    const h = await help(p);
    out.set(p, h);
    for (const s of h.subcommands) queue.push(`${p} ${s}`.trim());
  }
  return out;
}

/** Runs one example line in bash from the checkout, as a user would paste it. */
function sh(line: string, env: Record<string, string>, keepRunningMs?: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string; stillRunning: boolean }>((resolve) => {
    const child = spawn("bash", ["-c", `set -o pipefail; ${line}`], { cwd: REPO, env: cleanEnv(env), detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    let stillRunning = false;
    const timer =
      keepRunningMs === undefined
        ? undefined
        : setTimeout(() => {
            stillRunning = true;
            process.kill(-child.pid!, "SIGTERM");
          }, keepRunningMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, stillRunning });
    });
  });
}

let tree: Map<string, Help>;

test("help examples invoke hfi as `npx hfi` and cover every command", async () => {
  tree = await allHelp();
  for (const cmd of ["", "policy", "policy apply", "policy watch", "server", "sidecar", "completion", "pause", "resume"]) {
    assert.ok(tree.has(cmd), `help for "${cmd}"`);
  }
  let count = 0;
  for (const h of tree.values()) {
    for (const ex of h.examples) {
      if (ex.startsWith("#") || !/\bhfi\b/.test(ex)) continue;
      count++;
      const bare = ex.replace(/npx hfi\b/g, "");
      assert.not.match(bare, /\bhfi\b/, `"${h.path} --help" example runs hfi without npx: ${ex}`);
    }
  }
  assert.ok(count >= 20, `${count} examples`);
});

test("every `hfi policy` and `hfi completion` help example runs (real npx, real server)", async () => {
  const server = await startTestServer();
  const env = { HFI_SERVER: server.grpcAddress };
  const order = ["policy", "policy apply", "policy get", "policy list", "policy describe", "policy status", "pause", "resume", "policy watch", "policy delete", "completion"];
  const covered = [...tree.keys()].filter((k) => k.startsWith("policy") || ["completion", "pause", "resume"].includes(k));
  assert.equal([...covered].sort(), [...order].sort(), "the run order names every policy subcommand");
  const written = path.join(REPO, "frontend-slow.yaml");
  try {
    for (const cmd of order) {
      for (const ex of tree.get(cmd)!.examples) {
        const long = cmd === "policy watch";
        const r = await sh(ex, env, long ? 3000 : undefined);
        if (long) {
          assert.ok(r.stillRunning, `${ex}: watch keeps running (exited ${r.code}: ${r.stderr})`);
          assert.is(r.stderr, "", ex);
        } else {
          assert.is(r.code, 0, `${ex}\n${r.stdout}${r.stderr}`);
        }
        if (ex.startsWith("source <(")) assert.is(r.stderr, "", ex);
      }
    }
    assert.match(fs.readFileSync(written, "utf8"), /name: frontend-slow/, "get -o yaml > file wrote the policy");
    const left = await runHfi(["policy", "list", "-o", "json"], { env });
    assert.equal(JSON.parse(left.stdout), { policies: [] }, "the delete examples removed everything");
  } finally {
    fs.rmSync(written, { force: true });
    await server.close();
  }
});

test("server and sidecar examples use only flags their command declares", () => {
  for (const cmd of ["server", "sidecar"]) {
    const h = tree.get(cmd)!;
    const hfiLines = h.examples.filter((e) => e.startsWith("npx hfi"));
    assert.ok(hfiLines.length > 0, `${cmd} has examples`);
    for (const ex of hfiLines) {
      for (const flag of ex.match(/\s--[\w-]+/g) ?? []) {
        assert.ok(h.text.includes(`${flag.trim()} `), `${cmd} example flag ${flag.trim()} is declared`);
      }
    }
  }
});

test("`hfi --version` prints the package version; `hfi completion` completes commands and flags", async () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8"));
  const v = await runHfi(["--version"]);
  assert.is(v.code, 0);
  assert.is(v.stdout, `${pkg.version}\n`);
  const complete = async (words: string[]) => {
    const script = `source <(node cli/bin/hfi.js completion bash); COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(" ")}); COMP_CWORD=${words.length - 1}; _hfi_complete; echo "\${COMPREPLY[*]}"`;
    const r = await sh(script, {});
    assert.is(r.code, 0, r.stderr);
    return r.stdout.trim().split(/\s+/).filter(Boolean);
  };
  assert.equal(await complete(["hfi", ""]), ["server", "sidecar", "policy", "pause", "resume", "completion", "--version", "-V", "--help"]);
  assert.equal(await complete(["hfi", "policy", "de"]), ["describe", "delete"]);
  assert.equal(await complete(["hfi", "policy", "apply", "--dry"]), ["--dry-run"]);
  assert.equal(await complete(["hfi", "completion", ""]), ["bash", "zsh", "--help"]);
  const zsh = await runHfi(["completion", "zsh"]);
  assert.match(zsh.stdout, /bashcompinit/);
  assert.match(zsh.stdout, /complete -o default -F _hfi_complete hfi hfi-cli/);
  const bad = await runHfi(["completion", "fish"]);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /fish/);
});

test.run();
