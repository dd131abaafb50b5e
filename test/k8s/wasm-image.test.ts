// The filter's OCI image: the layout scripts/k8s/wasm-image.ts writes is read
// by skopeo (a real OCI tool), every digest is the sha256 of its blob, the
// layer is a tar.gz holding plugin.wasm byte for byte (GNU tar reads it),
// the build is reproducible, k8s/base/wasmplugin.yaml pins the digest of the
// image of the current filter/build/hfi-filter.wasm, and
// `npm run k8s:publish-filter` pushes to a real registry (Debian's
// docker-registry on a loopback port) and rewrites a WasmPlugin's url and
// sha256, which is what skopeo then pulls back from that registry.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { buildWasmImage, PLUGIN_FILE, WASM_VARIANT_ANNOTATION } from "../../scripts/k8s/wasm-image.ts";
import { writeLayout, sha256, OCI_LAYER_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE } from "../../scripts/k8s/oci.ts";
import { rewriteWasmPlugin } from "../../scripts/k8s/publish-filter.ts";
import { freePort } from "../support/ports.ts";
import { startRegistry } from "../support/registry.ts";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const MODULE = path.join(ROOT, "filter/build/hfi-filter.wasm");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-wasm-image-"));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const wasm = () => {
  assert.ok(fs.existsSync(MODULE), `${MODULE} missing: run npm run build:filter`);
  return fs.readFileSync(MODULE);
};
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, "utf8"));

test("the layout is valid: skopeo reads it, every digest is its blob's sha256, the layer holds plugin.wasm", async () => {
  const dir = path.join(tmp, "layout");
  const image = buildWasmImage(wasm());
  writeLayout(dir, image, "0.1.0");
  assert.equal(readJson(path.join(dir, "oci-layout")), { imageLayoutVersion: "1.0.0" });
  const index = readJson(path.join(dir, "index.json"));
  assert.is(index.manifests.length, 1);
  assert.is(index.manifests[0].digest, image.digest);
  assert.is(index.manifests[0].annotations["org.opencontainers.image.ref.name"], "0.1.0");
  const blobs = path.join(dir, "blobs/sha256");
  for (const name of fs.readdirSync(blobs)) assert.is(sha256(fs.readFileSync(path.join(blobs, name))), `sha256:${name}`);
  const manifest = readJson(path.join(blobs, image.digest.slice(7)));
  assert.is(manifest.mediaType, OCI_MANIFEST_MEDIA_TYPE);
  assert.is(manifest.annotations[WASM_VARIANT_ANNOTATION], "compat");
  assert.is(manifest.layers.length, 1, "compat variant: exactly one layer");
  assert.is(manifest.layers[0].mediaType, OCI_LAYER_MEDIA_TYPE);
  assert.is(index.manifests[0].size, fs.statSync(path.join(blobs, image.digest.slice(7))).size);

  const inspected = JSON.parse((await run("skopeo", ["inspect", `oci:${dir}:0.1.0`])).stdout);
  assert.is(inspected.Digest, image.digest);
  assert.equal(inspected.Layers, [manifest.layers[0].digest]);

  const out = path.join(tmp, "extracted");
  fs.mkdirSync(out);
  await run("tar", ["-xzf", path.join(blobs, manifest.layers[0].digest.slice(7)), "-C", out]);
  assert.equal(fs.readdirSync(out), [PLUGIN_FILE]);
  assert.ok(fs.readFileSync(path.join(out, PLUGIN_FILE)).equals(wasm()), "plugin.wasm is the module");
  assert.is(image.moduleDigest, sha256(wasm()));
  const config = readJson(path.join(blobs, manifest.config.digest.slice(7)));
  const tar = await run("sh", ["-c", `gzip -dc '${path.join(blobs, manifest.layers[0].digest.slice(7))}' | sha256sum`]);
  assert.equal(config.rootfs.diff_ids, [`sha256:${tar.stdout.split(" ")[0]}`], "diff_id is the uncompressed layer's digest");
});

test("reproducible: the same module gives the same image digest; another module another one", () => {
  assert.is(buildWasmImage(wasm()).digest, buildWasmImage(Buffer.from(wasm())).digest);
  const other = Buffer.concat([wasm(), Buffer.from([0x00, 0x01, 0x78, 0x00])]); // an extra custom section
  assert.is.not(buildWasmImage(other).digest, buildWasmImage(wasm()).digest);
  assert.throws(() => buildWasmImage(Buffer.from("#!/bin/sh\n")), /not a WebAssembly module/);
});

test("k8s/base/wasmplugin.yaml pins the image of the current filter build", () => {
  const plugin = parse(fs.readFileSync(path.join(ROOT, "k8s/base/wasmplugin.yaml"), "utf8"));
  assert.match(plugin.spec.url, /^oci:\/\/[^@]+:[\w.-]+$/);
  assert.match(plugin.spec.sha256, /^[a-f0-9]{64}$/, "the CRD wants 64 hex digits, no sha256: prefix");
  const expected = buildWasmImage(wasm()).digest.slice(7);
  assert.is(
    plugin.spec.sha256,
    expected,
    "the filter changed: run `npm run k8s:publish-filter -- docker.io/hfi/hfi-filter --no-push` (or push it) to pin its digest",
  );
  // The outbound plugin (match CLIENT) runs the same image: publish-filter pins both.
  const outbound = parse(fs.readFileSync(path.join(ROOT, "k8s/base/wasmplugin-outbound.yaml"), "utf8"));
  assert.equal([outbound.spec.url, outbound.spec.sha256], [plugin.spec.url, plugin.spec.sha256]);
});

test("rewriting a WasmPlugin keeps its comments and other fields; bad input is refused", () => {
  const text = "# keep me\napiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nspec:\n  url: oci://a/b:1 # old\n  phase: AUTHN\n";
  const out = rewriteWasmPlugin(text, "oci://127.0.0.1:5000/hfi-filter:2", `sha256:${"ab".repeat(32)}`);
  assert.match(out, /^# keep me/);
  assert.equal(parse(out).spec, { url: "oci://127.0.0.1:5000/hfi-filter:2", sha256: "ab".repeat(32), phase: "AUTHN" });
  assert.match(out, /url: .*\n  sha256: /, "sha256 sits beside url");
  assert.throws(() => rewriteWasmPlugin(text, "oci://x/y:1", "sha256:xyz"), /digest must be sha256:<64 hex>/);
  assert.throws(() => rewriteWasmPlugin("kind: Deployment\n", "oci://x/y:1", `sha256:${"a".repeat(64)}`), /not a WasmPlugin/);
});

test("npm run k8s:publish-filter pushes to a real registry and pins url + sha256; skopeo pulls that image back", async () => {
  const { address, proc } = await startRegistry(path.join(tmp, "registry"));
  try {
    const manifest = path.join(tmp, "wasmplugin.yaml");
    fs.copyFileSync(path.join(ROOT, "k8s/base/wasmplugin.yaml"), manifest);
    const { stdout } = await run(
      "npm",
      ["run", "--silent", "k8s:publish-filter", "--", `http://${address}/hfi/hfi-filter:e2e`, "--no-build", "--manifest", manifest],
      { cwd: ROOT },
    );
    const digest = stdout.trim().split("\n").at(-1)!;
    assert.is(digest, buildWasmImage(wasm()).digest);
    const plugin = parse(fs.readFileSync(manifest, "utf8"));
    assert.is(plugin.spec.url, `oci://${address}/hfi/hfi-filter:e2e`);
    assert.is(plugin.spec.sha256, digest.slice(7));

    const remote = `docker://${address}/hfi/hfi-filter:e2e`;
    const inspected = JSON.parse((await run("skopeo", ["inspect", "--tls-verify=false", remote])).stdout);
    assert.is(inspected.Digest, digest, "the registry serves the pinned digest");
    const pulled = path.join(tmp, "pulled");
    await run("skopeo", ["copy", "--quiet", "--src-tls-verify=false", remote, `dir:${pulled}`]);
    const m = readJson(path.join(pulled, "manifest.json"));
    assert.is(m.annotations[WASM_VARIANT_ANNOTATION], "compat");
    const out = path.join(tmp, "pulled-x");
    fs.mkdirSync(out);
    await run("tar", ["-xzf", path.join(pulled, m.layers[0].digest.slice(7)), "-C", out]);
    assert.ok(fs.readFileSync(path.join(out, PLUGIN_FILE)).equals(wasm()), "the pulled image holds the module");

    // The registry already has both blobs: a second tag uploads none.
    const again = await run("npm", ["run", "--silent", "k8s:publish-filter", "--", `http://${address}/hfi/hfi-filter:e2e2`, "--no-build", "--manifest", manifest], {
      cwd: ROOT,
    });
    assert.match(again.stderr, /\(0 new blobs\)/);
  } finally {
    proc.kill("SIGKILL");
  }
});

test("publish-filter: a missing image and a registry that is down are clear errors", async () => {
  const fail = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    try {
      await run(process.execPath, ["--import", "tsx", "scripts/k8s/publish-filter.ts", ...args], { cwd: ROOT, env: { ...process.env, HFI_FILTER_IMAGE: "", ...env } });
    } catch (err) {
      return err as { code: number; stderr: string };
    }
    throw new Error("expected a failure");
  };
  const none = await fail(["--no-build", "--no-push", "--manifest", path.join(tmp, "none.yaml")]);
  assert.is(none.code, 1);
  assert.match(none.stderr, /no image: give \[http\(s\):\/\/\]HOST\[:PORT\]\/REPOSITORY\[:TAG\] or set HFI_FILTER_IMAGE/);
  const manifest = path.join(tmp, "untouched.yaml");
  fs.copyFileSync(path.join(ROOT, "k8s/base/wasmplugin.yaml"), manifest);
  const down = await fail([`http://127.0.0.1:${await freePort()}/hfi-filter:x`, "--no-build", "--manifest", manifest]);
  assert.is(down.code, 1);
  assert.match(down.stderr, /publish-filter: fetch failed/);
  assert.is(fs.readFileSync(manifest, "utf8"), fs.readFileSync(path.join(ROOT, "k8s/base/wasmplugin.yaml"), "utf8"), "nothing rewritten when the push fails");
});

test.run();
