// The subscriber processes of one measurement, driven over IPC
// (bench/lib/subscriber-proc.ts does the streams).
import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sampleTree } from "./proc-stats.ts";
import type { SubscriberConfig } from "./subscriber-proc.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));

export interface FleetOptions {
  address: string;
  streams: number;
  processes: number;
  streamsPerConnection: number;
  services: number;
  connectConcurrency: number;
  token?: string;
}

type Msg = { type: string; [k: string]: unknown };

export interface SubscriberStats {
  reconnects: number;
  streamEnds: number;
  sessionErrors: number;
  badResponses: number;
  lastError: string;
  ready: number;
  open: number;
  /** Snapshots received and their bytes on the wire (5-byte prefix included). */
  snapshots: number;
  bytes: number;
}

export class Fleet {
  private readonly children: ChildProcess[] = [];
  private readonly inbox: Msg[][] = [];
  private readonly waiters: (() => void)[] = [];
  readonly sizes: number[];

  constructor(readonly opts: FleetOptions) {
    const per = Math.ceil(opts.streams / opts.processes);
    this.sizes = [];
    for (let p = 0, left = opts.streams; p < opts.processes && left > 0; p++, left -= per) this.sizes.push(Math.min(per, left));
    this.sizes.forEach((count, proc) => {
      const cfg: SubscriberConfig = {
        address: opts.address,
        count,
        proc,
        streamsPerConnection: opts.streamsPerConnection,
        services: opts.services,
        connectConcurrency: opts.connectConcurrency,
        ...(opts.token ? { token: opts.token } : {}),
      };
      const child = fork(path.join(HERE, "subscriber-proc.ts"), [JSON.stringify(cfg)], {
        execArgv: ["--import", "tsx", "--max-old-space-size=4096"],
        stdio: ["ignore", "inherit", "inherit", "ipc"],
      });
      const box: Msg[] = [];
      child.on("message", (m: Msg) => {
        box.push(m);
        for (const w of this.waiters.splice(0)) w();
      });
      child.on("exit", () => {
        for (const w of this.waiters.splice(0)) w();
      });
      this.children.push(child);
      this.inbox.push(box);
    });
  }

  get pids(): number[] {
    return this.children.map((c) => c.pid!);
  }

  /** CPU (ms) used so far by every subscriber process. */
  cpuMs(): number {
    return this.pids.reduce((sum, pid) => sum + sampleTree(pid).cpuMs, 0);
  }

  /** Takes, from each child, the first message matching `pred`; rejects after `timeoutMs`. */
  private async collect(pred: (m: Msg) => boolean, what: string, timeoutMs: number): Promise<Msg[]> {
    const deadline = Date.now() + timeoutMs;
    const got: (Msg | undefined)[] = this.children.map(() => undefined);
    for (;;) {
      this.children.forEach((c, i) => {
        if (got[i]) return;
        const box = this.inbox[i]!;
        const k = box.findIndex(pred);
        if (k >= 0) got[i] = box.splice(k, 1)[0];
      });
      if (got.every(Boolean)) return got as Msg[];
      const dead = this.children.find((c) => c.exitCode !== null || c.signalCode !== null);
      if (dead) throw new Error(`subscriber process ${dead.pid} exited (${dead.exitCode ?? dead.signalCode}) waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Every stream has ACKed its first snapshot; returns the slowest process's time (ms). */
  async ready(timeoutMs: number): Promise<number> {
    const ms = await this.collect((m) => m.type === "ready", `${this.opts.streams} streams subscribed and ACKed`, timeoutMs);
    return Math.max(...ms.map((m) => m.ms as number));
  }

  /**
   * Every stream has ACKed a snapshot holding `name` at `version` or later.
   * Returns the last ACK's send time (wall clock ms) and, if asked, the raw
   * SnapshotPolicy bytes one subscriber received.
   */
  async acked(name: string, version: number, timeoutMs: number, sample = false): Promise<{ lastAckSentMs: number; sample?: Buffer }> {
    this.children.forEach((c, i) => c.send({ type: "await", name, version, sample: sample && i === 0 }));
    const ms = await this.collect((m) => m.type === "acked" && m.name === name && m.version === version, `every stream's ACK of ${name}@${version}`, timeoutMs);
    const raw = ms.find((m) => typeof m.sample === "string")?.sample as string | undefined;
    return { lastAckSentMs: Math.max(...ms.map((m) => m.lastAckSentMs as number)), ...(raw ? { sample: Buffer.from(raw, "base64") } : {}) };
  }

  async stats(): Promise<SubscriberStats> {
    for (const c of this.children) if (c.connected) c.send({ type: "stats" });
    const ms = await this.collect((m) => m.type === "stats", "subscriber stats", 30_000);
    const sum = (k: keyof SubscriberStats) => ms.reduce((s, m) => s + (m[k] as number), 0);
    return {
      reconnects: sum("reconnects"),
      streamEnds: sum("streamEnds"),
      sessionErrors: sum("sessionErrors"),
      badResponses: sum("badResponses"),
      ready: sum("ready"),
      open: sum("open"),
      snapshots: sum("snapshots"),
      bytes: sum("bytes"),
      lastError: ms.map((m) => m.lastError as string).find(Boolean) ?? "",
    };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const t = setTimeout(() => c.kill("SIGKILL"), 10_000);
            c.once("exit", () => {
              clearTimeout(t);
              resolve();
            });
            if (c.connected) c.send({ type: "exit" });
            else c.kill("SIGTERM");
          }),
      ),
    );
  }
}
