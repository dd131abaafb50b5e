// `hfi server` as its own process (the real serverCommand()) for tests that
// need a real process: start-up refusals, workers, files changing under it.
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "./server.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIXTURE = path.join(ROOT, "test/server/fixtures/server-process.ts");

export interface ServerProcess {
  proc: ChildProcess;
  grpcAddress: string;
  httpAddress: string;
  output: () => string;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

function start(args: string[], env: Record<string, string>): { proc: ChildProcess; output: () => string; stderr: () => string; exited: Promise<number | null> } {
  const base = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith("HFI_")) delete base[k];
  const proc = spawn(process.execPath, ["--import", "tsx", FIXTURE, ...args], { cwd: ROOT, env: { ...base, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => ((err += d), (out += d)));
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  return { proc, output: () => out, stderr: () => err, exited };
}

/** Starts a server and waits for its "hfi server listening" line. */
export async function spawnServer(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  const { proc, output, exited } = start(args, env);
  const listening = await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`server exited: ${output()}`);
      for (const line of output().split("\n")) {
        if (line.includes('"hfi server listening"')) return JSON.parse(line) as { grpcAddress: string; httpAddress: string };
      }
      return undefined;
    },
    "server process listening",
    30_000,
  );
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill("SIGTERM");
    const t = setTimeout(() => proc.kill("SIGKILL"), 8000);
    await exited;
    clearTimeout(t);
  };
  return { proc, grpcAddress: listening.grpcAddress, httpAddress: listening.httpAddress, output, exited, stop };
}

/** Runs a server that is expected to exit on its own (a refused start); SIGKILL after `timeoutMs`. */
export async function runServerToExit(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<{ code: number | null; stderr: string; output: string }> {
  const { proc, output, stderr, exited } = start(args, env);
  const t = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const code = await exited;
  clearTimeout(t);
  return { code, stderr: stderr(), output: output() };
}
