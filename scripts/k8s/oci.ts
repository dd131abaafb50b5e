// OCI images without a Docker daemon, shared by the filter's Wasm image
// (wasm-image.ts) and the control-plane image (server-image.ts): blobs named
// by their sha256, gzip layers (uncompressed digest = diff_id), the image
// config and manifest, and the OCI image layout directory (oci-layout,
// index.json, blobs/sha256/…) that skopeo, crane and registries read.
// Everything is deterministic: the same layers give the same digest.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Transform } from "node:stream";
import zlib from "node:zlib";

export const OCI_INDEX_MEDIA_TYPE = "application/vnd.oci.image.index.v1+json";
export const OCI_MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json";
export const OCI_CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip";

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  /** The bytes, or the file holding them (a layer too large to keep in memory). */
  data: Buffer | { file: string };
}

/** A gzip layer and the digest of its uncompressed tar (the config's diff_id). */
export interface Layer {
  blob: Blob;
  diffId: string;
  /** Bytes of the uncompressed tar. */
  tarSize: number;
}

export interface Image {
  config: Blob;
  layers: Blob[];
  manifest: Blob;
  /** sha256:… of the manifest: the image digest (REPO@DIGEST, the WasmPlugin's sha256). */
  digest: string;
}

export const sha256 = (b: Buffer) => `sha256:${crypto.createHash("sha256").update(b).digest("hex")}`;

export const bytesBlob = (mediaType: string, bytes: Buffer): Blob => ({ mediaType, digest: sha256(bytes), size: bytes.length, data: bytes });

export const blobBytes = (b: Blob): Buffer => (Buffer.isBuffer(b.data) ? b.data : fs.readFileSync(b.data.file));

/** Gzips an in-memory tar. Node's gzip header carries no mtime or file name: same input, same bytes. */
export function gzipLayer(tar: Buffer, level = 9): Layer {
  return { blob: bytesBlob(OCI_LAYER_MEDIA_TYPE, zlib.gzipSync(tar, { level })), diffId: sha256(tar), tarSize: tar.length };
}

/** Gzips the tar file `tarFile` into `outFile`, streaming (hashing both sides on the way). */
export async function gzipLayerFile(tarFile: string, outFile: string, level = 6): Promise<Layer> {
  const counter = (hash: crypto.Hash, total: { n: number }) =>
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        total.n += chunk.length;
        done(null, chunk);
      },
    });
  const tarHash = crypto.createHash("sha256");
  const gzHash = crypto.createHash("sha256");
  const tarBytes = { n: 0 };
  const gzBytes = { n: 0 };
  await pipeline(fs.createReadStream(tarFile), counter(tarHash, tarBytes), zlib.createGzip({ level }), counter(gzHash, gzBytes), fs.createWriteStream(outFile));
  return {
    blob: { mediaType: OCI_LAYER_MEDIA_TYPE, digest: `sha256:${gzHash.digest("hex")}`, size: gzBytes.n, data: { file: outFile } },
    diffId: `sha256:${tarHash.digest("hex")}`,
    tarSize: tarBytes.n,
  };
}

export interface ImageSpec {
  layers: Layer[];
  /** The config's "config" object (Entrypoint, User, Env, …); {} for a plain artifact. */
  runtime: Record<string, unknown>;
  /** Manifest annotations (none when undefined). */
  annotations?: Record<string, string>;
}

/** The config and manifest of `spec` (linux/amd64; the key order is part of the digests pinned in k8s/). */
export function assembleImage(spec: ImageSpec): Image {
  const config = bytesBlob(
    OCI_CONFIG_MEDIA_TYPE,
    Buffer.from(
      JSON.stringify({
        architecture: "amd64",
        os: "linux",
        config: spec.runtime,
        rootfs: { type: "layers", diff_ids: spec.layers.map((l) => l.diffId) },
      }),
    ),
  );
  const layers = spec.layers.map((l) => l.blob);
  const descriptor = (b: Blob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });
  const manifest = bytesBlob(
    OCI_MANIFEST_MEDIA_TYPE,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST_MEDIA_TYPE,
        config: descriptor(config),
        layers: layers.map(descriptor),
        annotations: spec.annotations,
      }),
    ),
  );
  return { config, layers, manifest, digest: manifest.digest };
}

/** Writes `image` as an OCI image layout in `dir` (index.json names it `tag`). */
export function writeLayout(dir: string, image: Image, tag: string): void {
  const blobs = path.join(dir, "blobs", "sha256");
  fs.mkdirSync(blobs, { recursive: true });
  for (const b of [image.config, ...image.layers, image.manifest]) {
    const target = path.join(blobs, b.digest.slice(7));
    if (Buffer.isBuffer(b.data)) fs.writeFileSync(target, b.data);
    else if (path.resolve(b.data.file) !== path.resolve(target)) fs.copyFileSync(b.data.file, target);
  }
  fs.writeFileSync(path.join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const index = {
    schemaVersion: 2,
    mediaType: OCI_INDEX_MEDIA_TYPE,
    manifests: [
      {
        mediaType: image.manifest.mediaType,
        digest: image.digest,
        size: image.manifest.size,
        annotations: { "org.opencontainers.image.ref.name": tag },
      },
    ],
  };
  fs.writeFileSync(path.join(dir, "index.json"), JSON.stringify(index));
}
