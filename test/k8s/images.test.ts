// The container images, checked statically (no Docker engine here): the
// control-plane Dockerfile copies every file `hfi server` imports and only
// needs production dependencies; the filter image is Istio's single-layer
// plugin.wasm layout; names and uids agree with the manifests.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fs from "node:fs";
import path from "node:path";
import { builtinModules } from "node:module";
import { renderKustomization } from "../../scripts/k8s/render.ts";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");

/** Dockerfile instructions (continuation lines joined, comments dropped). */
function instructions(file: string): { op: string; args: string }[] {
  return read(file)
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(" ") };
    });
}

/** Every repo file reachable from `entry` through relative imports, and the bare packages imported. */
function importGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const f = queue.pop()!;
    if (files.has(f)) continue;
    files.add(f);
    const text = fs.readFileSync(path.join(ROOT, f), "utf8");
    const specs = [
      ...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']/gm),
      ...text.matchAll(/^\s*import\s+["']([^"']+)["']/gm),
      ...text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g),
    ].map((m) => m[1]);
    for (const s of specs) {
      if (s.startsWith(".")) {
        const target = path.normalize(path.join(path.dirname(f), s));
        if (/\.(ts|js|mjs|json)$/.test(target) && fs.existsSync(path.join(ROOT, target))) queue.push(target);
      } else if (!s.startsWith("node:") && !builtinModules.includes(s.split("/")[0])) {
        packages.add(s.startsWith("@") ? s.split("/").slice(0, 2).join("/") : s.split("/")[0]);
      }
    }
  }
  return { files, packages };
}

test("control-plane Dockerfile: node:20-slim, production deps, non-root, hfi server entry point", () => {
  const ins = instructions("Dockerfile");
  assert.is(ins[0].op, "FROM");
  assert.match(ins[0].args, /^node:20-slim\b/);
  assert.ok(ins.some((i) => i.op === "RUN" && /npm ci\b.*--omit=dev/.test(i.args)), "npm ci --omit=dev");
  const user = ins.filter((i) => i.op === "USER").pop();
  assert.ok(user, "USER set");
  assert.not.match(user!.args, /^(root|0)(:|$)/);
  assert.equal(JSON.parse(ins.find((i) => i.op === "ENTRYPOINT")!.args), ["node", "cli/bin/hfi.js", "server"]);
  const exposed = ins.filter((i) => i.op === "EXPOSE").flatMap((i) => i.args.split(/\s+/));
  assert.equal(exposed.sort(), ["8080", "9090"]);
});

test("control-plane Dockerfile copies every file hfi imports, and .dockerignore keeps them", () => {
  const copies = instructions("Dockerfile")
    .filter((i) => i.op === "COPY")
    .flatMap((i) => i.args.split(/\s+/).filter((a) => !a.startsWith("--")).slice(0, -1))
    .map((s) => s.replace(/\/$/, ""));
  const ignored = read(".dockerignore")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"))
    .map((l) => l.replace(/^\*\*\//, "").replace(/\/$/, ""));
  const { files } = importGraph("cli/bin/hfi.js");
  assert.ok(files.has("server/cli.ts") && files.has("proto/loader.ts"), "import graph reaches the server");
  for (const f of files) {
    const copied = copies.some((c) => f === c || f.startsWith(`${c}/`));
    assert.ok(copied, `${f} is imported by hfi but not copied into the image`);
    const dropped = ignored.find((g) => f === g || f.startsWith(`${g}/`));
    assert.not.ok(dropped, `${f} is excluded by .dockerignore (${dropped})`);
  }
  for (const needed of ["package.json", "package-lock.json"]) {
    assert.ok(copies.includes(needed), `${needed} copied`);
  }
});

test("everything hfi imports at run time is a production dependency (npm ci --omit=dev)", () => {
  const pkg = JSON.parse(read("package.json"));
  const { packages } = importGraph("cli/bin/hfi.js");
  assert.ok(packages.has("tsx"), "tsx runs the TypeScript sources");
  for (const p of packages) {
    assert.ok(pkg.dependencies?.[p], `${p} is imported at run time but is not in "dependencies"`);
  }
});

test("filter Dockerfile: scratch image with plugin.wasm from the filter build", () => {
  const ins = instructions("filter/Dockerfile");
  assert.equal(
    ins.map((i) => [i.op, i.args]),
    [
      ["FROM", "scratch"],
      ["COPY", "build/hfi-filter.wasm ./plugin.wasm"],
    ],
  );
});

test("images and uids agree with the manifests and the build script", () => {
  const objs = renderKustomization("k8s").map((r) => r.object);
  const d = objs.find((o) => o.kind === "Deployment" && o.metadata.name === "hfi-control-plane")!;
  const pod = d.spec.template.spec;
  const user = instructions("Dockerfile").filter((i) => i.op === "USER").pop()!.args.split(":")[0];
  assert.is(String(pod.securityContext.runAsUser), user, "runAsUser matches the image's USER");
  const build = read("scripts/k8s/docker-build.sh");
  const image: string = pod.containers[0].image;
  assert.ok(build.includes(`hfi-control-plane:\${tag}`) && image.startsWith("hfi/hfi-control-plane:"), image);
  const plugin = objs.find((o) => o.kind === "WasmPlugin")!;
  assert.match(plugin.spec.url, /\/hfi-filter[:@]/);
  assert.ok(build.includes(`hfi-filter:\${tag}`));
  // The tsx transpile cache needs a writable /tmp on the read-only root fs.
  assert.ok(pod.containers[0].securityContext.readOnlyRootFilesystem);
  const tmp = pod.containers[0].volumeMounts.find((m: any) => m.mountPath === "/tmp");
  assert.ok(tmp && pod.volumes.some((v: any) => v.name === tmp.name && v.emptyDir), "/tmp is an emptyDir");
});

test.run();
