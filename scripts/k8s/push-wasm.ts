// Pushes the filter's Wasm image (scripts/k8s/wasm-image.ts: the "compat"
// variant Istio's WasmPlugin fetcher reads) to an OCI registry over the
// distribution API: blob HEAD (skip what the registry has), monolithic blob
// upload, manifest PUT under the tag. No Docker engine needed. Anonymous
// registries only (the in-cluster dev registry, a local registry); for a
// registry that needs a login, push the layout publish-filter.ts writes with
// `skopeo copy oci:filter/build/oci:TAG docker://REGISTRY/hfi-filter:TAG`.
//
//   node --import tsx scripts/k8s/push-wasm.ts FILE.wasm [http(s)://]HOST[:PORT]/REPOSITORY:TAG
// prints the image digest as the last line.
import fs from "node:fs";
import { buildWasmImage, type Blob, type WasmImage } from "./wasm-image.ts";

export interface ImageRef {
  /** Registry base URL, e.g. http://127.0.0.1:5000 (https:// when the reference names no scheme). */
  registry: string;
  /** HOST[:PORT] as it appears in an oci:// URL. */
  host: string;
  repository: string;
  tag: string;
}

export function parseRef(ref: string): ImageRef {
  const m = /^(?:(https?):\/\/)?([a-z0-9.-]+(?::\d+)?)\/([a-z0-9._/-]+):([\w][\w.-]{0,127})$/.exec(ref);
  if (!m) throw new Error(`image reference must be [http(s)://]HOST[:PORT]/REPOSITORY:TAG, got "${ref}"`);
  const [, scheme = "https", host, repository, tag] = m as unknown as [string, string | undefined, string, string, string];
  return { registry: `${scheme}://${host}`, host, repository, tag };
}

/** oci://HOST[:PORT]/REPOSITORY:TAG, the WasmPlugin url of `ref`. */
export const ociUrl = (ref: ImageRef) => `oci://${ref.host}/${ref.repository}:${ref.tag}`;

async function pushBlob(ref: ImageRef, b: Blob): Promise<boolean> {
  const base = `${ref.registry}/v2/${ref.repository}/blobs`;
  const head = await fetch(`${base}/${b.digest}`, { method: "HEAD" });
  if (head.ok) return false;
  const start = await fetch(`${base}/uploads/`, { method: "POST" });
  const location = start.headers.get("location");
  if (start.status !== 202 || !location) throw new Error(`starting blob upload: HTTP ${start.status} ${await start.text()}`);
  const url = new URL(location, ref.registry);
  url.searchParams.set("digest", b.digest);
  const put = await fetch(url, {
    method: "PUT",
    headers: { "content-type": "application/octet-stream", "content-length": String(b.size) },
    body: new Uint8Array(b.bytes),
  });
  if (put.status !== 201) throw new Error(`uploading blob ${b.digest}: HTTP ${put.status} ${await put.text()}`);
  return true;
}

/** Pushes `image` under `ref`'s tag; returns how many blobs were uploaded. */
export async function pushImage(image: WasmImage, ref: ImageRef): Promise<number> {
  let uploaded = 0;
  for (const b of [image.config, image.layer]) if (await pushBlob(ref, b)) uploaded++;
  const res = await fetch(`${ref.registry}/v2/${ref.repository}/manifests/${ref.tag}`, {
    method: "PUT",
    headers: { "content-type": image.manifest.mediaType },
    body: new Uint8Array(image.manifest.bytes),
  });
  if (res.status !== 201) throw new Error(`pushing manifest: HTTP ${res.status} ${await res.text()}`);
  const stored = res.headers.get("docker-content-digest");
  if (stored && stored !== image.digest) throw new Error(`registry stored the manifest as ${stored}, expected ${image.digest}`);
  return uploaded;
}

/** Builds the image of `wasm`, pushes it, returns its digest (pin it: sha256 / oci://…@DIGEST). */
export async function pushWasm(wasm: Buffer, ref: ImageRef): Promise<string> {
  const image = buildWasmImage(wasm);
  await pushImage(image, ref);
  return image.digest;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, refText] = process.argv.slice(2);
  if (!file || !refText) {
    console.error("usage: push-wasm.ts FILE.wasm [http(s)://]HOST[:PORT]/REPOSITORY:TAG");
    process.exit(2);
  }
  try {
    const digest = await pushWasm(fs.readFileSync(file), parseRef(refText));
    console.log(`pushed ${refText}`);
    console.log(digest);
  } catch (err) {
    console.error(`push-wasm: ${(err as Error).message}`);
    process.exit(1);
  }
}
