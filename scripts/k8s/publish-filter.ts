// npm run k8s:publish-filter -- IMAGE: the one command that builds the
// filter, writes its OCI image layout (filter/build/oci/), pushes it to the
// registry IMAGE names and rewrites the WasmPlugin's url and sha256 to match.
//
//   IMAGE   [http(s)://]HOST[:PORT]/REPOSITORY[:TAG]   (or $HFI_FILTER_IMAGE;
//           TAG defaults to the package version; no scheme = https)
//   --manifest FILE   the WasmPlugin to rewrite (default k8s/base/wasmplugin.yaml)
//   --no-build        use filter/build/hfi-filter.wasm as it is
//   --no-push         only build the layout and rewrite (pin the digest of a
//                     push done elsewhere, e.g. with skopeo to a registry
//                     that needs a login)
// Prints the image digest as the last line.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { isMap, isScalar, parseDocument } from "yaml";
import { parseRef, pushImage, ociUrl, withDefaultTag, type ImageRef } from "./registry.ts";
import { writeLayout } from "./oci.ts";
import { buildWasmImage } from "./wasm-image.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
export const MODULE = path.join(ROOT, "filter/build/hfi-filter.wasm");
export const LAYOUT = path.join(ROOT, "filter/build/oci");
/** The WasmPlugins of k8s/base: both run the same image. */
export const DEFAULT_MANIFESTS = [path.join(ROOT, "k8s/base/wasmplugin.yaml"), path.join(ROOT, "k8s/base/wasmplugin-outbound.yaml")];

/** Sets spec.url and spec.sha256 (hex, as the CRD wants) of the WasmPlugin in `text`; comments stay. */
export function rewriteWasmPlugin(text: string, url: string, digest: string): string {
  const hex = /^sha256:([a-f0-9]{64})$/.exec(digest)?.[1];
  if (!hex) throw new Error(`digest must be sha256:<64 hex>, got "${digest}"`);
  const doc = parseDocument(text);
  if (doc.get("kind") !== "WasmPlugin") throw new Error(`not a WasmPlugin (kind: ${String(doc.get("kind"))})`);
  const spec = doc.get("spec");
  if (!isMap(spec)) throw new Error("WasmPlugin has no spec");
  spec.set("url", url);
  if (!spec.has("sha256")) {
    // Beside the url it verifies, not at the end of the spec.
    const at = spec.items.findIndex((p) => isScalar(p.key) && p.key.value === "url");
    spec.items.splice(at + 1, 0, doc.createPair("sha256", hex));
  }
  spec.set("sha256", hex);
  return doc.toString();
}

export interface PublishOptions {
  image: string;
  /** WasmPlugin manifests to pin (default: the inbound and the outbound plugin of k8s/base). */
  manifests: string[];
  build: boolean;
  push: boolean;
}

export async function publishFilter(opts: PublishOptions, log: (line: string) => void = console.error): Promise<string> {
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version as string;
  const ref: ImageRef = parseRef(withDefaultTag(opts.image, version));
  if (opts.build) execFileSync("bash", [path.join(ROOT, "scripts/build-filter.sh")], { stdio: ["ignore", "inherit", "inherit"] });
  if (!fs.existsSync(MODULE)) throw new Error(`${path.relative(ROOT, MODULE)} missing: run npm run build:filter`);
  const image = buildWasmImage(fs.readFileSync(MODULE));
  fs.rmSync(LAYOUT, { recursive: true, force: true });
  writeLayout(LAYOUT, image, ref.tag);
  log(`layout ${path.relative(ROOT, LAYOUT)} (module ${image.moduleDigest})`);
  if (opts.push) {
    const uploaded = await pushImage(image, ref);
    log(`pushed ${ref.registry}/${ref.repository}:${ref.tag} (${uploaded} new blobs)`);
  }
  const url = ociUrl(ref);
  for (const manifest of opts.manifests) {
    fs.writeFileSync(manifest, rewriteWasmPlugin(fs.readFileSync(manifest, "utf8"), url, image.digest));
    log(`${path.relative(ROOT, manifest)}: url ${url}, sha256 ${image.digest.slice(7)}`);
  }
  return image.digest;
}

function parseArgs(argv: string[]): PublishOptions {
  const opts: PublishOptions = { image: process.env.HFI_FILTER_IMAGE ?? "", manifests: DEFAULT_MANIFESTS, build: true, push: true };
  let given = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--no-build") opts.build = false;
    else if (a === "--no-push") opts.push = false;
    else if (a === "--manifest") {
      // Repeatable; any --manifest replaces the default pair.
      opts.manifests = [...(given ? opts.manifests : []), path.resolve(argv[++i] ?? "")];
      given = true;
    }
    else if (a.startsWith("-")) throw new Error(`unknown option ${a}`);
    else opts.image = a;
  }
  if (!opts.image) throw new Error("no image: give [http(s)://]HOST[:PORT]/REPOSITORY[:TAG] or set HFI_FILTER_IMAGE");
  return opts;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    console.log(await publishFilter(parseArgs(process.argv.slice(2))));
  } catch (err) {
    console.error(`publish-filter: ${(err as Error).message}`);
    process.exit(1);
  }
}
