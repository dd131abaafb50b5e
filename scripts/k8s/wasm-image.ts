// The filter as the OCI image Istio's WasmPlugin pulls, built without a
// Docker daemon: the "compat" variant of the Wasm image spec (one
// application/vnd.oci.image.layer.v1.tar+gzip layer holding plugin.wasm,
// manifest annotation module.wasm.image/variant=compat), the one of the three
// formats istio-agent's image fetcher accepts that every registry and every
// OCI tool (skopeo, crane, docker) also handles. (The "oci" variant with a
// raw application/vnd.module.wasm.content.layer.v1+wasm layer needs exactly
// two layers in Istio's fetcher; a one-layer artifact is refused there.)
//
// Byte-for-byte reproducible (tar entry with mtime 0, uid/gid 0; gzip without
// a timestamp), so the same module always has the same image digest, which
// is what the WasmPlugin's `sha256` pins: for oci:// URLs istio-agent
// compares that field with the image (manifest) digest, not with the
// module's own hash.
//
//   node --import tsx scripts/k8s/wasm-image.ts FILE.wasm OUT_DIR [--tag TAG]
// writes an OCI image layout (oci-layout, index.json, blobs/sha256/…) and
// prints the image digest as the last line.
import fs from "node:fs";
import { assembleImage, gzipLayer, sha256, writeLayout, type Image } from "./oci.ts";

export const WASM_VARIANT_ANNOTATION = "module.wasm.image/variant";
export const PLUGIN_FILE = "plugin.wasm";

export interface WasmImage extends Image {
  /** sha256:… of plugin.wasm itself. */
  moduleDigest: string;
}

export function assertWasm(wasm: Buffer): void {
  if (wasm.length < 8 || wasm.readUInt32BE(0) !== 0x0061736d) throw new Error("not a WebAssembly module (bad magic)");
}

/** A ustar archive with one regular file (header, data padded to 512, two zero blocks). */
export function tarOneFile(name: string, data: Buffer): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) => header.write(value, offset, length, "ascii");
  const octal = (offset: number, length: number, n: number) => field(offset, length, n.toString(8).padStart(length - 1, "0") + "\0");
  field(0, 100, name);
  octal(100, 8, 0o644); // mode
  octal(108, 8, 0); // uid
  octal(116, 8, 0); // gid
  octal(124, 12, data.length);
  octal(136, 12, 0); // mtime: reproducible
  header.fill(" ", 148, 156); // checksum is computed over spaces here
  field(156, 1, "0"); // regular file
  field(257, 6, "ustar\0");
  field(263, 2, "00");
  let sum = 0;
  for (const byte of header) sum += byte;
  field(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, padding, Buffer.alloc(1024)]);
}

export function buildWasmImage(wasm: Buffer): WasmImage {
  assertWasm(wasm);
  // The config is what `docker build` of filter/Dockerfile (FROM scratch +
  // plugin.wasm) records on an amd64 host, so either artifact can be used.
  const image = assembleImage({
    layers: [gzipLayer(tarOneFile(PLUGIN_FILE, wasm))],
    runtime: {},
    annotations: { [WASM_VARIANT_ANNOTATION]: "compat" },
  });
  return { ...image, moduleDigest: sha256(wasm) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const t = args.indexOf("--tag");
  const tag = t >= 0 ? args.splice(t, 2)[1] : "latest";
  const [file, out] = args;
  if (!file || !out || !tag) {
    console.error("usage: wasm-image.ts FILE.wasm OUT_DIR [--tag TAG]");
    process.exit(2);
  }
  try {
    const image = buildWasmImage(fs.readFileSync(file));
    writeLayout(out, image, tag);
    console.log(`module ${image.moduleDigest}`);
    console.log(image.digest);
  } catch (err) {
    console.error(`wasm-image: ${(err as Error).message}`);
    process.exit(1);
  }
}
