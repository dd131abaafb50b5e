// Pushes a Wasm module to an OCI registry as a Wasm artifact image (the "oci"
// variant of the Wasm image spec that Istio's WasmPlugin fetcher reads: one
// layer of media type application/vnd.module.wasm.content.layer.v1+wasm
// holding the raw module). Used by scripts/k8s/install.sh to publish the
// filter to the dev registry without a Docker engine having to reach it.
// Anonymous registries only (the in-cluster dev registry); use
// `docker push` of filter/Dockerfile's image for authenticated registries.
//
//   node --import tsx scripts/k8s/push-wasm.ts FILE.wasm http://HOST:PORT/REPO:TAG
import crypto from "node:crypto";
import fs from "node:fs";

export const WASM_LAYER_MEDIA_TYPE = "application/vnd.module.wasm.content.layer.v1+wasm";
export const WASM_CONFIG_MEDIA_TYPE = "application/vnd.module.wasm.config.v1+json";
export const OCI_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json";

export interface ImageRef {
  /** Registry base URL, e.g. http://127.0.0.1:5000 */
  registry: string;
  repository: string;
  tag: string;
}

export function parseRef(ref: string): ImageRef {
  const m = /^(https?:\/\/[^/]+)\/([a-z0-9._/-]+):([\w][\w.-]{0,127})$/.exec(ref);
  if (!m) throw new Error(`image reference must be http(s)://HOST[:PORT]/REPOSITORY:TAG, got "${ref}"`);
  return { registry: m[1], repository: m[2], tag: m[3] };
}

const digestOf = (b: Buffer) => `sha256:${crypto.createHash("sha256").update(b).digest("hex")}`;

async function pushBlob(ref: ImageRef, blob: Buffer): Promise<string> {
  const digest = digestOf(blob);
  const base = `${ref.registry}/v2/${ref.repository}/blobs`;
  const head = await fetch(`${base}/${digest}`, { method: "HEAD" });
  if (head.ok) return digest;
  const start = await fetch(`${base}/uploads/`, { method: "POST" });
  const location = start.headers.get("location");
  if (start.status !== 202 || !location) throw new Error(`starting blob upload: HTTP ${start.status} ${await start.text()}`);
  const url = new URL(location, ref.registry);
  url.searchParams.set("digest", digest);
  const put = await fetch(url, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream", "content-length": String(blob.length) },
    body: new Uint8Array(blob),
  });
  if (put.status !== 201) throw new Error(`uploading blob ${digest}: HTTP ${put.status} ${await put.text()}`);
  return digest;
}

/** Pushes `wasm` and returns the manifest digest (pin it: oci://...@DIGEST). */
export async function pushWasm(wasm: Buffer, ref: ImageRef): Promise<string> {
  if (wasm.length < 8 || wasm.readUInt32BE(0) !== 0x0061736d) throw new Error("not a WebAssembly module (bad magic)");
  const config = Buffer.from("{}");
  const configDigest = await pushBlob(ref, config);
  const layerDigest = await pushBlob(ref, wasm);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST_MEDIA_TYPE,
      config: { mediaType: WASM_CONFIG_MEDIA_TYPE, digest: configDigest, size: config.length },
      layers: [{ mediaType: WASM_LAYER_MEDIA_TYPE, digest: layerDigest, size: wasm.length, annotations: { "org.opencontainers.image.title": "plugin.wasm" } }],
    }),
  );
  const res = await fetch(`${ref.registry}/v2/${ref.repository}/manifests/${ref.tag}`, {
    method: "PUT",
    headers: { "content-type": OCI_MANIFEST_MEDIA_TYPE },
    body: new Uint8Array(manifest),
  });
  if (res.status !== 201) throw new Error(`pushing manifest: HTTP ${res.status} ${await res.text()}`);
  return digestOf(manifest);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, refText] = process.argv.slice(2);
  if (!file || !refText) {
    console.error("usage: push-wasm.ts FILE.wasm http://HOST:PORT/REPOSITORY:TAG");
    process.exit(2);
  }
  try {
    const digest = await pushWasm(fs.readFileSync(file), parseRef(refText));
    console.log(`pushed ${refText} (${digest})`);
  } catch (err) {
    console.error(`push-wasm: ${(err as Error).message}`);
    process.exit(1);
  }
}
