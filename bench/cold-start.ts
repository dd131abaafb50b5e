// Cold start of the CLI: `hfi policy list` against a running control plane
// (its own process, embedded store, 3 policies) versus a bare `node -e 0`, the
// two interleaved run by run so machine load hits both alike. Each run is a
// new process: what a user or a script pays per call. Prints p50/p99/max and
// the p50 ratio (target <= 2x), with the load average.
//   npm run bench:cold-start [-- RUNS]      (default 40)
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "cli/bin/hfi.js");
const runs = Number(process.argv[2] ?? 40);

if (!fs.existsSync(path.join(ROOT, "dist/.build-stamp"))) {
  console.error("dist/ is missing: run npm run build:js first");
  process.exit(2);
}

function time(args: string[], env: NodeJS.ProcessEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-cold-"));
const server = spawn(process.execPath, [BIN, "server", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--data-dir", dataDir, "--log-level", "info"], {
  stdio: ["ignore", "pipe", "inherit"],
});
try {
  const grpcAddr = await new Promise<string>((resolve, reject) => {
    let buf = "";
    server.stdout!.on("data", (d: Buffer) => {
      buf += d;
      const m = /"grpc(?:Addr|Address)?"\s*:\s*"([^"]+)"/.exec(buf);
      if (m) resolve(m[1]!);
    });
    server.on("exit", (c) => reject(new Error(`server exited ${c}`)));
  });
  const env = { ...process.env, HFI_SERVER: grpcAddr };
  for (const f of ["abort.yaml", "delay.yaml", "percentage.yaml"]) time([BIN, "policy", "apply", "-f", path.join(ROOT, "cli/examples", f)], env);
  // One warm-up each (page cache), not counted.
  time(["-e", "0"], env);
  time([BIN, "policy", "list"], env);
  const bare: number[] = [];
  const list: number[] = [];
  for (let i = 0; i < runs; i++) {
    bare.push(time(["-e", "0"], env));
    list.push(time([BIN, "policy", "list"], env));
  }
  const row = (name: string, xs: number[]) =>
    `${name.padEnd(22)} p50 ${pct(xs, 50).toFixed(0).padStart(4)} ms  p99 ${pct(xs, 99).toFixed(0).padStart(4)} ms  max ${Math.max(...xs).toFixed(0).padStart(4)} ms`;
  console.log(`cold start, ${runs} interleaved runs each, node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")} (${os.cpus().length} cores)`);
  console.log(row("node -e 0", bare));
  console.log(row("hfi policy list", list));
  console.log(`ratio (p50) ${(pct(list, 50) / pct(bare, 50)).toFixed(2)}x  (target <= 2x)`);
} finally {
  server.kill("SIGTERM");
  fs.rmSync(dataDir, { recursive: true, force: true });
}
