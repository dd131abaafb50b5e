// The docs as a newcomer uses them: every relative link (file and #anchor)
// resolves, and every shell block marked ```sh runnable runs as written, from
// the checkout, with a real control plane, sidecar and upstream it starts
// itself. Also the README's size and shape (≤ 300 lines, the sections a
// newcomer needs), and benchmark figures only in docs/benchmarks.md.
import fs from "node:fs";
import path from "node:path";
import { spawn } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { cleanEnv, REPO } from "../cli/run.ts";

const DOCS = [
  "README.md",
  ...fs.readdirSync(path.join(REPO, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`),
  "k8s/README.md",
  "filter/README.md",
  "cli/examples/README.md",
];
const read = (f: string) => fs.readFileSync(path.join(REPO, f), "utf8");

/** Text outside fenced code blocks. */
const prose = (md: string) => md.replace(/^```[\s\S]*?^```/gm, "");

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -N for repeats. */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of prose(md).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]!
      .replace(/<[^>]+>/g, "")
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

test("every relative link in the docs resolves, anchors included", () => {
  const broken: string[] = [];
  let checked = 0;
  for (const doc of DOCS) {
    const md = read(doc);
    for (const m of prose(md).matchAll(/\]\(([^)\s]+)\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target)) continue; // https:, mailto:
      checked++;
      const [file, anchor] = target.split("#") as [string, string | undefined];
      const resolved = file === "" ? doc : path.normalize(path.join(path.dirname(doc), file));
      const abs = path.join(REPO, resolved);
      if (!fs.existsSync(abs)) {
        broken.push(`${doc}: ${target} (no ${resolved})`);
        continue;
      }
      if (anchor !== undefined && !(resolved.endsWith(".md") && anchors(read(resolved)).has(anchor))) {
        broken.push(`${doc}: ${target} (no heading #${anchor} in ${resolved})`);
      }
    }
  }
  assert.ok(checked > 30, `${checked} links checked`);
  assert.equal(broken, []);
});

test("the link checker itself: a missing file and a missing anchor are caught", () => {
  const md = "# Quick start\n## `hfi sidecar`\n## Quick start\n";
  assert.equal([...anchors(md)], ["quick-start", "hfi-sidecar", "quick-start-1"]);
});

test("README: ≤ 300 lines, the newcomer's sections, no benchmark figures outside docs/benchmarks.md", () => {
  const readme = read("README.md");
  assert.ok(readme.split("\n").length <= 300, `README.md has ${readme.split("\n").length} lines`);
  for (const h of ["Quick start", "See a fault by hand", "Architecture", "Where is X", "Documentation"]) {
    assert.match(readme, new RegExp(`^## ${h}`, "m"), `README section "${h}"`);
  }
  assert.match(readme, /npm install && npm run demo/);
  assert.match(readme, /npm install && npm test/);
  for (const doc of DOCS.filter((d) => d !== "docs/benchmarks.md")) {
    assert.not.match(read(doc), /\bp(50|99) (of |= |≈ )?\d/, `${doc} quotes a benchmark figure`);
  }
});

function runBlock(block: string, timeoutMs: number) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    // Own process group: the block's background jobs are stopped with it.
    const child = spawn("bash", ["-c", `set -eo pipefail\n${block}`], { cwd: REPO, env: cleanEnv(), detached: true });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (out += d));
    const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), timeoutMs);
    child.on("exit", async (code) => {
      clearTimeout(timer);
      // The next block may start a server on the same ports: wait until this block's are gone
      // (a server still shutting down answered the next block's health check, then vanished).
      await stopGroup(child.pid!);
      resolve({ code, out });
    });
  });
}

/** SIGTERM to a process group, then waits up to 15 s for it to be gone (SIGKILL after that). */
async function stopGroup(pgid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(-pgid, "SIGTERM");
  const deadline = Date.now() + 15_000;
  while (alive()) {
    if (Date.now() > deadline) {
      process.kill(-pgid, "SIGKILL");
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("every ```sh runnable block runs as written", async () => {
  const blocks = DOCS.flatMap((doc) => [...read(doc).matchAll(/^```sh runnable\n([\s\S]*?)^```/gm)].map((m) => ({ doc, body: m[1]! })));
  assert.ok(blocks.length >= 1, "at least one runnable block");
  for (const { doc, body } of blocks) {
    const r = await runBlock(body, 120_000);
    assert.is(r.code, 0, `${doc}:\n${body}\n--- output:\n${r.out}`);
    if (doc === "README.md" && body.includes("curl")) assert.match(r.out, /^503$/m, "the fault shows: 503");
  }
});

test.run();
