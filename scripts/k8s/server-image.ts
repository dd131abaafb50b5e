// npm run image:server: the control-plane image without a Docker daemon,
// written as an OCI image layout (oci.ts) and pushed with the same registry
// client as the filter (registry.ts). Two gzip layers, so a new HFI version
// re-uploads only the small one:
//   runtime  /usr/local/bin/node (Node LTS, stripped), the C libraries it
//            links and their Debian records (node-runtime.ts), /etc/passwd
//            and /etc/group with user hfi (uid/gid 1000, runAsUser in k8s/),
//            /etc/nsswitch.conf, /tmp (1777; an emptyDir in k8s/)
//   app      /app: package.json, cli/bin/hfi.js, dist/ (npm run build:js) and
//            the production node_modules (`npm ci --omit=dev`)
// No CA bundle: etcd is reached over plain HTTP in-mesh (mTLS by the sidecar)
// and Node carries its own root certificates. The Dockerfile builds the same
// layout on Alpine (test/k8s/images.test.ts keeps the two in step).
//
// Reproducible: every entry has mtime 0, uid/gid 0, modes 0755/0644 (tmp
// 1777), names sorted (GNU tar); the gzip streams carry no timestamp.
//
//   npm run image:server -- [--out DIR] [--tag TAG] [--no-build] [--push [http(s)://]HOST[:PORT]/REPOSITORY[:TAG]]
// --out     layout directory (default dist-image/; replaced)
// --tag     index.json's ref name (default: the package version)
// --no-build  use dist/ as it is (default: run npm run build:js first)
// --push    also push to an anonymous registry (TAG defaults to --tag); for
//           one that needs a login: skopeo copy oci:DIR:TAG docker://…
// Prints the layer and image sizes (target: 150 MB uncompressed) on stderr
// and the image digest as the last line on stdout.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { assembleImage, gzipLayerFile, writeLayout, type Image, type Layer } from "./oci.ts";
import { installNodeRuntime, nodeTarball, NODE_PACKAGE, NODE_VERSION } from "./node-runtime.ts";
import { parseRef, pushImage, withDefaultTag } from "./registry.ts";
import { MALLOC_ENV } from "./runtime-env.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
export const DEFAULT_OUT = path.join(ROOT, "dist-image");
/** The tarball is ~57 MB: fetched once per checkout (or per CI run), kept with the other build caches. */
export const CACHE_DIR = path.join(ROOT, "node_modules/.cache/hfi-image");
export const SIZE_TARGET_BYTES = 150_000_000;

export const USER = { name: "hfi", uid: 1000, gid: 1000 };
export const APP_DIR = "/app";
/** What /app holds, as the Dockerfile's runtime stage copies it. */
export const APP_FILES = ["package.json", "node_modules", "dist", "cli/bin/hfi.js"];
/** The image config's runtime part (the Dockerfile's ENV, WORKDIR, USER, EXPOSE, ENTRYPOINT). */
export const RUNTIME_CONFIG = {
  User: `${USER.uid}:${USER.gid}`,
  Env: [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "NODE_ENV=production",
    ...Object.entries(MALLOC_ENV).map(([k, v]) => `${k}=${v}`),
  ],
  Entrypoint: ["node", "cli/bin/hfi.js", "server"],
  WorkingDir: APP_DIR,
  ExposedPorts: { "8080/tcp": {}, "9090/tcp": {} },
};

export interface ServerImageOptions {
  out: string;
  tag: string;
  build: boolean;
  push?: string;
}

export interface ServerImage {
  image: Image;
  layers: { name: string; layer: Layer }[];
  /** Sum of the uncompressed layer tars. */
  size: number;
  /** Sum of the gzip layers (what a pull downloads). */
  compressedSize: number;
  debianPackages: string[];
}

const MB = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

function writeFile(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/** The files of the runtime layer other than Node and its libraries. */
function writeSystemFiles(rootfs: string): void {
  const { name, uid, gid } = USER;
  writeFile(path.join(rootfs, "etc/passwd"), `root:x:0:0:root:/root:/sbin/nologin\n${name}:x:${uid}:${gid}:${name}:/nonexistent:/sbin/nologin\n`);
  writeFile(path.join(rootfs, "etc/group"), `root:x:0:\n${name}:x:${gid}:\n`);
  // /etc/hosts before DNS, as in Debian (the kubelet mounts hosts and resolv.conf).
  writeFile(path.join(rootfs, "etc/nsswitch.conf"), "passwd: files\ngroup: files\nhosts: files dns\n");
  fs.mkdirSync(path.join(rootfs, "tmp"), { recursive: true });
}

/** /app: the compiled JS and the production dependencies, installed from the lockfile. */
function writeApp(rootfs: string, log: (line: string) => void): void {
  const app = path.join(rootfs, APP_DIR);
  fs.mkdirSync(path.join(app, "cli/bin"), { recursive: true });
  fs.copyFileSync(path.join(ROOT, "package.json"), path.join(app, "package.json"));
  fs.copyFileSync(path.join(ROOT, "package-lock.json"), path.join(app, "package-lock.json"));
  log("installing the production dependencies (npm ci --omit=dev)");
  // --ignore-scripts: the only install script among them (protobufjs) checks dependents' version ranges.
  execFileSync("npm", ["ci", "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: app,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, NODE_ENV: "production" },
  });
  fs.rmSync(path.join(app, "package-lock.json"));
  fs.cpSync(path.join(ROOT, "dist"), path.join(app, "dist"), { recursive: true, verbatimSymlinks: true });
  // A link to the filter build (for `hfi sidecar` in a checkout); the control plane has no filter.
  fs.rmSync(path.join(app, "dist/filter/build"), { force: true });
  fs.copyFileSync(path.join(ROOT, "cli/bin/hfi.js"), path.join(app, "cli/bin/hfi.js"));
  // The stamp holds the build time; hfi.js only checks that it exists and is no older than the
  // sources (none here), so the image's is empty: rebuilding the same commit gives the same digest.
  fs.writeFileSync(path.join(app, "dist/.build-stamp"), "");
}

/** Root-owned, world-readable, writable by no one else; /tmp is sticky and world-writable. */
function normaliseModes(dir: string, rel = ""): void {
  for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const p = path.join(dir, rel, e.name);
    if (e.isSymbolicLink()) continue;
    if (e.isDirectory()) {
      fs.chmodSync(p, path.join(rel, e.name) === "tmp" ? 0o1777 : 0o755);
      normaliseModes(dir, path.join(rel, e.name));
    } else {
      fs.chmodSync(p, fs.statSync(p).mode & 0o111 ? 0o755 : 0o644);
    }
  }
}

/** A reproducible tar of `dir`'s contents (GNU tar: the reproducible-builds.org options). */
function tarDirectory(dir: string, file: string): void {
  normaliseModes(dir);
  const entries = fs.readdirSync(dir).sort();
  execFileSync("tar", [
    "--create", `--file=${file}`, `--directory=${dir}`,
    "--sort=name", "--format=posix", "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
    "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "--hard-dereference",
    "--", ...entries,
  ]);
}

export async function buildServerImage(opts: ServerImageOptions, log: (line: string) => void = console.error): Promise<ServerImage> {
  if (opts.build) execFileSync("bash", [path.join(ROOT, "scripts/build.sh")], { stdio: ["ignore", "ignore", "inherit"] });
  if (!fs.existsSync(path.join(ROOT, "dist/.build-stamp"))) throw new Error("dist/ is not built: run npm run build:js (or drop --no-build)");
  const tarball = nodeTarball(CACHE_DIR, log);
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version as string;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-server-image-"));
  try {
    const runtimeFs = path.join(work, "runtime");
    writeSystemFiles(runtimeFs);
    const runtime = installNodeRuntime(runtimeFs, tarball);
    const appFs = path.join(work, "app");
    writeApp(appFs, log);

    fs.rmSync(opts.out, { recursive: true, force: true });
    const blobs = path.join(opts.out, "blobs/sha256");
    fs.mkdirSync(blobs, { recursive: true });
    const layers: { name: string; layer: Layer }[] = [];
    for (const [name, dir] of [["runtime", runtimeFs], ["app", appFs]] as const) {
      const tar = path.join(work, `${name}.tar`);
      tarDirectory(dir, tar);
      const gz = path.join(opts.out, `${name}.tar.gz.partial`);
      const layer = await gzipLayerFile(tar, gz);
      const named = path.join(blobs, layer.blob.digest.slice(7));
      fs.renameSync(gz, named);
      layer.blob.data = { file: named };
      fs.rmSync(tar);
      layers.push({ name, layer });
    }
    const image = assembleImage({
      layers: layers.map((l) => l.layer),
      runtime: {
        ...RUNTIME_CONFIG,
        Labels: {
          "org.opencontainers.image.title": "hfi-control-plane",
          "org.opencontainers.image.version": version,
          "org.opencontainers.image.licenses": "Apache-2.0",
          "hfi.runtime.node": `${NODE_PACKAGE}@${NODE_VERSION}`,
          "hfi.runtime.debian-packages": runtime.debianPackages.join(","),
        },
      },
    });
    writeLayout(opts.out, image, opts.tag);
    const size = layers.reduce((n, l) => n + l.layer.tarSize, 0);
    const compressedSize = layers.reduce((n, l) => n + l.layer.blob.size, 0);
    for (const { name, layer } of layers) log(`layer ${name}: ${MB(layer.tarSize)} (${MB(layer.blob.size)} gzip) ${layer.blob.digest}`);
    const verdict = size <= SIZE_TARGET_BYTES ? `within the ${MB(SIZE_TARGET_BYTES)} target` : `OVER the ${MB(SIZE_TARGET_BYTES)} target`;
    log(`image oci:${opts.out}:${opts.tag}: ${MB(size)} uncompressed, ${verdict}; ${MB(compressedSize)} compressed`);
    log(`node ${NODE_VERSION}; ${runtime.debianPackages.join(" ")}`);
    if (opts.push) {
      const ref = parseRef(withDefaultTag(opts.push, opts.tag));
      const uploaded = await pushImage(image, ref);
      log(`pushed ${ref.registry}/${ref.repository}:${ref.tag} (${uploaded} new blobs)`);
    }
    return { image, layers, size, compressedSize, debianPackages: runtime.debianPackages };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

function parseArgs(argv: string[]): ServerImageOptions {
  const version = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version as string;
  const opts: ServerImageOptions = { out: DEFAULT_OUT, tag: version, build: true };
  const value = (i: number, flag: string) => {
    const v = argv[i];
    if (!v || v.startsWith("-")) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--no-build") opts.build = false;
    else if (a === "--out") opts.out = path.resolve(value(++i, a));
    else if (a === "--tag") opts.tag = value(++i, a);
    else if (a === "--push") opts.push = value(++i, a);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!/^[\w][\w.-]{0,127}$/.test(opts.tag)) throw new Error(`--tag: not a valid tag: "${opts.tag}"`);
  return opts;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    console.log((await buildServerImage(parseArgs(process.argv.slice(2)))).image.digest);
  } catch (err) {
    console.error(`image:server: ${(err as Error).message}`);
    process.exit(1);
  }
}
