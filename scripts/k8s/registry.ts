// Pushes an OCI image (oci.ts) to a registry over the distribution API: blob
// HEAD (skip what the registry has), monolithic blob upload, manifest PUT
// under the tag. No Docker engine needed. Anonymous registries only (the
// in-cluster dev registry, a local registry); for a registry that needs a
// login, push the layout with `skopeo copy oci:DIR:TAG docker://REGISTRY/…:TAG`.
import { blobBytes, type Blob, type Image } from "./oci.ts";

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

/** `ref` with TAG defaulting to `tag` when it names none. */
export function withDefaultTag(ref: string, tag: string): string {
  const repoPart = ref.replace(/^https?:\/\//, "").replace(/^[^/]*/, ""); // after HOST[:PORT]
  return repoPart.includes(":") ? ref : `${ref}:${tag}`;
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
    body: new Uint8Array(blobBytes(b)),
  });
  if (put.status !== 201) throw new Error(`uploading blob ${b.digest}: HTTP ${put.status} ${await put.text()}`);
  return true;
}

/** Pushes `image` under `ref`'s tag; returns how many blobs were uploaded. */
export async function pushImage(image: Image, ref: ImageRef): Promise<number> {
  let uploaded = 0;
  for (const b of [image.config, ...image.layers]) if (await pushBlob(ref, b)) uploaded++;
  const res = await fetch(`${ref.registry}/v2/${ref.repository}/manifests/${ref.tag}`, {
    method: "PUT",
    headers: { "content-type": image.manifest.mediaType },
    body: new Uint8Array(blobBytes(image.manifest)),
  });
  if (res.status !== 201) throw new Error(`pushing manifest: HTTP ${res.status} ${await res.text()}`);
  const stored = res.headers.get("docker-content-digest");
  if (stored && stored !== image.digest) throw new Error(`registry stored the manifest as ${stored}, expected ${image.digest}`);
  return uploaded;
}
