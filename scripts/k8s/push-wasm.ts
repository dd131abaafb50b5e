// Pushes the filter's Wasm image (scripts/k8s/wasm-image.ts: the "compat"
// variant Istio's WasmPlugin fetcher reads) to an anonymous OCI registry
// (registry.ts); for a registry that needs a login, push the layout
// publish-filter.ts writes with
// `skopeo copy oci:filter/build/oci:TAG docker://REGISTRY/hfi-filter:TAG`.
//
//   node --import tsx scripts/k8s/push-wasm.ts FILE.wasm [http(s)://]HOST[:PORT]/REPOSITORY:TAG
// prints the image digest as the last line.
import fs from "node:fs";
import { buildWasmImage } from "./wasm-image.ts";
import { parseRef, pushImage, type ImageRef } from "./registry.ts";

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
