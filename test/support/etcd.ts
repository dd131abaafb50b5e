// A real etcd for tests: its own free loopback ports and temp data dir, so
// test files can run side by side. Kill and restart keep the data dir and
// ports, like a crashed member coming back.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "./ports.ts";

export class TestEtcd {
  private proc: ChildProcess | undefined;
  private log = "";
  private constructor(
    readonly dataDir: string,
    readonly clientPort: number,
    readonly peerPort: number,
  ) {}

  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  static async start(): Promise<TestEtcd> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hfi-etcd-"));
    const etcd = new TestEtcd(dataDir, await freePort(), await freePort());
    await etcd.launch();
    return etcd;
  }

  private async launch(): Promise<void> {
    const peer = `http://127.0.0.1:${this.peerPort}`;
    this.log = "";
    this.proc = spawn(
      "etcd",
      [
        "--name", "test",
        "--data-dir", this.dataDir,
        "--listen-client-urls", this.endpoint,
        "--advertise-client-urls", this.endpoint,
        "--listen-peer-urls", peer,
        "--initial-advertise-peer-urls", peer,
        "--initial-cluster", `test=${peer}`,
        "--log-level", "error",
        "--logger", "zap",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.proc.stdout!.on("data", (d) => (this.log += d));
    this.proc.stderr!.on("data", (d) => (this.log += d));
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) throw new Error(`etcd exited: ${this.log}`);
      try {
        const res = await fetch(`${this.endpoint}/health`);
        if (res.ok) return;
      } catch {
        /* not up yet */
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`etcd did not become healthy in 15 s: ${this.log}`);
  }

  /** SIGKILL, as a crash would. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    p.kill("SIGKILL");
    await exited;
  }

  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** etcdctl against this member, e.g. ctl("put", key, value). */
  ctl(...args: string[]): string {
    return execFileSync("etcdctl", [`--endpoints=${this.endpoint}`, ...args], {
      env: { ...process.env, ETCDCTL_API: "3" },
      encoding: "utf8",
    });
  }

  async stop(): Promise<void> {
    await this.kill();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }
}
