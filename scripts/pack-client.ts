// npm run pack:client: the typed client (cli/client) as its own npm package,
// @hfi/client, that a project outside this repository installs from the
// tarball and uses from plain node (no tsx, no top-level await needed):
//   dist/index.mjs          ESM entry   (esbuild bundle of cli/client + proto/)
//   dist/index.cjs          CommonJS entry (the same bundle, cjs format)
//   types/esm/**.d.ts       declarations for `import` (nested type: module)
//   types/cjs/**.d.ts       the same declarations for `require` (type: commonjs)
// @grpc/grpc-js and protobufjs stay dependencies: the code imports
// protobufjs/minimal (the generated codecs); grpc-js only for the declarations
// (the generated service types refer to it; the client speaks gRPC over node:http2).
// Prints the tarball's absolute path as the last line.
//
//   node --import tsx scripts/pack-client.ts [--out DIR]   (default dist-client/)
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const ROOT = path.resolve(import.meta.dirname, "..");
const ENTRY = path.join(ROOT, "cli", "client", "index.ts");
export const PACKAGE_NAME = "@hfi/client";
const RUNTIME_DEPENDENCIES = ["@grpc/grpc-js", "protobufjs"];

function outDir(argv: string[]): string {
  const i = argv.indexOf("--out");
  if (i < 0) return path.join(ROOT, "dist-client");
  const dir = argv[i + 1];
  if (!dir) throw new Error("--out needs a directory");
  return path.resolve(dir);
}

const rootPackage = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  version: string;
  license: string;
  engines: Record<string, string>;
  dependencies: Record<string, string>;
};

async function bundle(stage: string): Promise<void> {
  for (const format of ["esm", "cjs"] as const) {
    await build({
      entryPoints: [ENTRY],
      outfile: path.join(stage, "dist", format === "esm" ? "index.mjs" : "index.cjs"),
      bundle: true,
      format,
      platform: "node",
      target: "node20",
      packages: "external",
      legalComments: "none",
      logLevel: "warning",
    });
  }
}

// tsc keeps the ".ts" of relative imports in declarations; a consumer's
// resolver wants ".js" (which it maps to the .d.ts beside it).
const TS_SPECIFIER = /((?:from|import\()\s*["'])(\.{1,2}\/[^"']+)\.ts(["'])/g;

function declarations(stage: string): string {
  const tmp = path.join(stage, ".dts");
  execFileSync(
    process.execPath,
    [
      path.join(ROOT, "node_modules", "typescript", "bin", "tsc"),
      ENTRY,
      ...["--declaration", "--emitDeclarationOnly", "--outDir", tmp, "--rootDir", ROOT],
      ...["--target", "ES2022", "--module", "NodeNext", "--moduleResolution", "NodeNext", "--strict"],
      ...["--skipLibCheck", "--allowImportingTsExtensions", "--rewriteRelativeImportExtensions", "--types", "node"],
    ],
    { stdio: "inherit" },
  );
  for (const [flavour, type] of [["esm", "module"], ["cjs", "commonjs"]] as const) {
    const dest = path.join(stage, "types", flavour);
    fs.cpSync(tmp, dest, { recursive: true });
    for (const f of fs.readdirSync(dest, { recursive: true, encoding: "utf8" })) {
      if (!f.endsWith(".d.ts")) continue;
      const file = path.join(dest, f);
      fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(TS_SPECIFIER, "$1$2.js$3"));
    }
    // How TypeScript reads a .d.ts (ESM or CJS) follows the nearest package.json.
    fs.writeFileSync(path.join(dest, "package.json"), JSON.stringify({ type }) + "\n");
  }
  fs.rmSync(tmp, { recursive: true });
  return path.relative(ROOT, ENTRY).replace(/\.ts$/, ".d.ts");
}

function manifest(typesEntry: string): object {
  const deps = Object.fromEntries(RUNTIME_DEPENDENCIES.map((d) => [d, rootPackage.dependencies[d]]));
  return {
    name: PACKAGE_NAME,
    version: rootPackage.version,
    description: "Typed client for the HFI control plane (hfi.v1.PolicyService over gRPC)",
    license: rootPackage.license,
    engines: rootPackage.engines,
    type: "commonjs",
    main: "./dist/index.cjs",
    types: `./types/cjs/${typesEntry}`,
    exports: {
      ".": {
        import: { types: `./types/esm/${typesEntry}`, default: "./dist/index.mjs" },
        require: { types: `./types/cjs/${typesEntry}`, default: "./dist/index.cjs" },
      },
      "./package.json": "./package.json",
    },
    files: ["dist", "types", "README.md"],
    dependencies: deps,
  };
}

const README = `# @hfi/client

Typed client for the HFI control plane. See docs/cli.md ("The TypeScript client") in the HFI repository.

\`\`\`js
const { createPolicyClient } = require("@hfi/client");   // or: import { createPolicyClient } from "@hfi/client";
const client = createPolicyClient({ server: "127.0.0.1:9090" });
client.listPolicies().then((r) => console.log(r.policies.length), console.error).finally(() => client.close());
\`\`\`
`;

export async function packClient(out: string): Promise<string> {
  const stage = path.join(out, "package");
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  await bundle(stage);
  const typesEntry = declarations(stage);
  fs.writeFileSync(path.join(stage, "package.json"), JSON.stringify(manifest(typesEntry), null, 2) + "\n");
  fs.writeFileSync(path.join(stage, "README.md"), README);
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--pack-destination", out], { cwd: stage, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }),
  ) as { filename: string }[];
  return path.join(out, packed[0]!.filename);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    console.log(await packClient(outDir(process.argv.slice(2))));
  } catch (err) {
    console.error(`pack:client: ${(err as Error).message}`);
    process.exit(1);
  }
}
