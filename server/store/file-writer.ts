// Atomic file replace (temp file, write, fsync, rename, fsync dir) done on a
// worker thread in one round trip. The same steps with fs/promises cost the
// event loop eight turns per write, and during a 10k-stream fan-out each turn
// waits behind ACK reads: ApplyPolicy on the embedded store took p50 36 /
// p99 86 ms there, p50 12 / p99 41 with the replace as one synchronous step,
// p50 15-18 / p99 49-74 with this thread (docs/benchmarks.md). Synchronous fs
// on the main thread would stall every config stream on a slow disk.
import { Worker } from "node:worker_threads";

/** The worker's code (CommonJS, run with eval: no module file to locate under tsx or in dist/). */
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
parentPort.on("message", ({ id, tmp, file, dir, text, mode }) => {
  try {
    const fd = fs.openSync(tmp, "w", mode);
    try {
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    const dd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(dd);
    } finally {
      fs.closeSync(dd);
    }
    parentPort.postMessage({ id });
  } catch (e) {
    try { fs.rmSync(tmp, { force: true }); } catch {}
    parentPort.postMessage({ id, error: String(e && e.message || e) });
  }
});
`;

interface Pending {
  resolve(): void;
  reject(err: Error): void;
}

/** Replaces files atomically and durably off the event loop. One worker thread, started on first use. */
export class AtomicFileWriter {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /** Writes `text` to `tmp` (created with `mode`), fsyncs it, renames it over `file` and fsyncs `dir`. */
  replace(opts: { tmp: string; file: string; dir: string; text: string; mode: number }): Promise<void> {
    const id = this.nextId++;
    const done = new Promise<void>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    const w = this.start();
    // Referenced while a write is pending (the process must not exit mid-write), idle otherwise.
    w.ref();
    w.postMessage({ id, ...opts });
    return done;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    // No inherited node flags: e.g. --input-type=module would make the CommonJS source fail.
    const w = new Worker(WORKER_SOURCE, { eval: true, name: "hfi-store-writer", execArgv: [] });
    w.on("message", (m: { id: number; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      if (m.error === undefined) p.resolve();
      else p.reject(new Error(m.error));
    });
    // A worker that dies fails what it held; the next write starts a new one.
    const fail = (err: Error) => {
      if (this.worker !== w) return;
      this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on("error", fail);
    w.on("exit", (code) => fail(new Error(`file writer thread exited (code ${code})`)));
    this.worker = w;
    return w;
  }

  /** Stops the thread (after the caller has awaited its writes). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }
}
