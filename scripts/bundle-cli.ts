// Bundles the `hfi` front end (cli/main.ts, the policy commands, the client,
// the proto loader, the policy core and their npm dependencies) into dist/cli/main.js, so a
// short `hfi policy …` call loads a handful of files instead of a few hundred.
// JSON (package.json, for --version) is inlined. Imports of the server and the filter host stay external and load the
// per-file tsc output next to it (dist/server, dist/filter/host): those keep
// their source layout, so paths resolved from import.meta.url hold.
// Lazily imported modules (yaml, the subcommands) become chunks in
// dist/cli/ beside main.js. Run by scripts/build.sh after tsc.
import path from "node:path";
import { build, type Plugin } from "esbuild";

const ROOT = path.resolve(import.meta.dirname, "..");
const BUNDLED = [path.join(ROOT, "cli") + path.sep, path.join(ROOT, "proto") + path.sep, path.join(ROOT, "policy") + path.sep];
const OUT_DIR = path.join(ROOT, "dist", "cli");

const componentsExternal: Plugin = {
  name: "components-external",
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (args.importer.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const target = path.resolve(args.resolveDir, args.path);
      if (target.endsWith(".json") || BUNDLED.some((dir) => target.startsWith(dir))) return undefined;
      // The bundle sits where cli/main.ts sits, so a path relative to cli/ is right.
      const rel = path.relative(path.join(ROOT, "cli"), target).replace(/\.ts$/, ".js");
      return { path: rel.startsWith(".") ? rel : `./${rel}`, external: true };
    });
  },
};

const result = await build({
  entryPoints: [path.join(ROOT, "cli", "main.ts")],
  outdir: OUT_DIR,
  bundle: true,
  splitting: true,
  // Chunks sit beside main.js: the external paths below are relative to cli/.
  chunkNames: "[name]-[hash]",
  format: "esm",
  platform: "node",
  target: "node20",
  minify: true,
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
  plugins: [componentsExternal],
  // CommonJS dependencies call require() for Node built-ins.
  banner: { js: 'import { createRequire as __hfiRequire } from "node:module"; const require = __hfiRequire(import.meta.url);' },
});
const outputs = Object.keys(result.metafile.outputs).filter((f) => f.endsWith(".js"));
console.log(`bundle: dist/cli/main.js + ${outputs.length - 1} chunks`);
