// A real OCI registry for tests: Debian's docker-registry on a free loopback
// port with its storage in `dir` (scripts/ensure-tools.sh installs it).
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { freePort } from "./ports.ts";
import { waitFor } from "./server.ts";

export async function startRegistry(dir: string): Promise<{ address: string; proc: ChildProcess }> {
  const port = await freePort();
  fs.mkdirSync(dir, { recursive: true });
  const config = path.join(dir, "registry.yml");
  fs.writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, "data")}\nhttp:\n  addr: 127.0.0.1:${port}\n`,
  );
  const proc = spawn("docker-registry", ["serve", config], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr += String(d)));
  const address = `127.0.0.1:${port}`;
  await waitFor(async () => proc.exitCode === null && (await fetch(`http://${address}/v2/`).then((r) => r.ok, () => false)), `docker-registry on ${address}: ${stderr}`);
  return { address, proc };
}
