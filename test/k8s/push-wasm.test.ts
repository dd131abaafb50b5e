// scripts/k8s/push-wasm.ts against a minimal in-process registry on loopback
// (test/k8s/wasm-image.test.ts pushes to a real one)
// that implements the OCI distribution calls it uses (blob HEAD, monolithic
// upload, manifest PUT) and checks digests like a real registry does.
import { test } from "uvu";
import * as assert from "uvu/assert";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
import { pushWasm } from "../../scripts/k8s/push-wasm.ts";
import { parseRef, ociUrl } from "../../scripts/k8s/registry.ts";
import { OCI_CONFIG_MEDIA_TYPE, OCI_LAYER_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE } from "../../scripts/k8s/oci.ts";
import { tarOneFile } from "../../scripts/k8s/wasm-image.ts";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
const sha = (b: Buffer) => `sha256:${crypto.createHash("sha256").update(b).digest("hex")}`;

interface Registry {
  url: string;
  blobs: Map<string, Buffer>;
  manifests: Map<string, { type: string; body: Buffer }>;
  uploads: number;
  close(): Promise<void>;
}

async function fakeRegistry(): Promise<Registry> {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { type: string; body: Buffer }>();
  const state = { uploads: 0 };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? "/", "http://x");
    let m: RegExpExecArray | null;
    if (req.method === "HEAD" && (m = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url.pathname))) {
      res.writeHead(blobs.has(m[2]) ? 200 : 404).end();
    } else if (req.method === "POST" && (m = /^\/v2\/(.+)\/blobs\/uploads\/$/.exec(url.pathname))) {
      res.writeHead(202, { location: `/v2/${m[1]}/blobs/uploads/${crypto.randomUUID()}?state=x` }).end();
    } else if (req.method === "PUT" && /^\/v2\/.+\/blobs\/uploads\/[\w-]+$/.test(url.pathname)) {
      const digest = url.searchParams.get("digest") ?? "";
      if (url.searchParams.get("state") !== "x" || digest !== sha(body)) return res.writeHead(400).end("DIGEST_INVALID");
      state.uploads++;
      blobs.set(digest, body);
      res.writeHead(201).end();
    } else if (req.method === "PUT" && (m = /^\/v2\/(.+)\/manifests\/([\w.-]+)$/.exec(url.pathname))) {
      const manifest = JSON.parse(body.toString());
      for (const d of [manifest.config, ...manifest.layers]) {
        if (!blobs.has(d.digest)) return res.writeHead(400).end(`BLOB_UNKNOWN ${d.digest}`);
      }
      manifests.set(`${m[1]}:${m[2]}`, { type: req.headers["content-type"] ?? "", body });
      res.writeHead(201).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    blobs,
    manifests,
    get uploads() {
      return state.uploads;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// A valid (empty) WebAssembly module: magic + version 1.
const WASM = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

test("pushes a Wasm artifact image Istio can fetch", async () => {
  const reg = await fakeRegistry();
  try {
    const digest = await pushWasm(WASM, parseRef(`${reg.url}/hfi-filter:dev`));
    const stored = reg.manifests.get("hfi-filter:dev");
    assert.ok(stored, "manifest stored under the tag");
    assert.is(stored!.type, OCI_MANIFEST_MEDIA_TYPE);
    assert.is(digest, sha(stored!.body));
    const manifest = JSON.parse(stored!.body.toString());
    assert.is(manifest.schemaVersion, 2);
    assert.is(manifest.config.mediaType, OCI_CONFIG_MEDIA_TYPE);
    assert.is(manifest.layers.length, 1);
    assert.is(manifest.layers[0].mediaType, OCI_LAYER_MEDIA_TYPE);
    const layer = reg.blobs.get(manifest.layers[0].digest)!;
    assert.is(manifest.layers[0].size, layer.length);
    assert.ok(zlib.gunzipSync(layer).equals(tarOneFile("plugin.wasm", WASM)), "layer: plugin.wasm in a tar.gz");
    assert.is(reg.uploads, 2);
    // Pushing again reuses the blobs the registry already has.
    await pushWasm(WASM, parseRef(`${reg.url}/hfi-filter:dev2`));
    assert.is(reg.uploads, 2);
    assert.ok(reg.manifests.has("hfi-filter:dev2"));
  } finally {
    await reg.close();
  }
});

test("pushes the compiled filter (npm test builds filter/build/hfi-filter.wasm first)", async () => {
  const file = path.join(ROOT, "filter/build/hfi-filter.wasm");
  assert.ok(fs.existsSync(file), `${file} missing: run npm run build:filter`);
  const wasm = fs.readFileSync(file);
  const reg = await fakeRegistry();
  try {
    await pushWasm(wasm, parseRef(`${reg.url}/hfi-filter:dev`));
    const manifest = JSON.parse(reg.manifests.get("hfi-filter:dev")!.body.toString());
    const tar = zlib.gunzipSync(reg.blobs.get(manifest.layers[0].digest)!);
    const stored = tar.subarray(512, 512 + wasm.length);
    assert.ok(stored.equals(wasm), "the layer's one file is the module");
    assert.ok(await WebAssembly.validate(new Uint8Array(stored)), "a valid module");
  } finally {
    await reg.close();
  }
});

test("rejects files that are not Wasm modules and malformed references", async () => {
  const reg = await fakeRegistry();
  try {
    try {
      await pushWasm(Buffer.from("#!/bin/sh\n"), parseRef(`${reg.url}/hfi-filter:dev`));
      assert.unreachable("should reject");
    } catch (err) {
      assert.match((err as Error).message, /not a WebAssembly module/);
    }
    assert.is(reg.manifests.size, 0);
  } finally {
    await reg.close();
  }
  for (const bad of ["ftp://127.0.0.1:5000/hfi-filter:dev", "http://127.0.0.1:5000/hfi-filter", "http://h/Repo:dev", "hfi-filter:dev"]) {
    assert.throws(() => parseRef(bad), /image reference must be/);
  }
  const ref = parseRef("http://127.0.0.1:5000/a/hfi-filter:v1.2");
  assert.equal(ref, { registry: "http://127.0.0.1:5000", host: "127.0.0.1:5000", repository: "a/hfi-filter", tag: "v1.2" });
  assert.is(ociUrl(ref), "oci://127.0.0.1:5000/a/hfi-filter:v1.2");
  assert.equal(parseRef("ghcr.io/acme/hfi-filter:1"), { registry: "https://ghcr.io", host: "ghcr.io", repository: "acme/hfi-filter", tag: "1" });
});

test.run();
