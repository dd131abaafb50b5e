// The yardstick of the propagation benchmark: a minimal StreamConfig server
// on raw node:http2 (node:cluster workers sharing one port) that writes one
// pre-framed ConfigSnapshot, the same bytes to every stream, and counts the
// ACKs of its version. No store, no selection, no per-stream nonce, no
// status, no backpressure handling: what Node itself costs to push a change
// to N streams and read the ACKs back. The write loop yields every
// SLICE streams so the worker keeps reading ACKs while it writes.
// Started with fork() by bench/propagation.ts; configuration in argv[2] (JSON).
// IPC with the parent:
//   → {type:"listening"}
//   ← {type:"push", version, policy (base64 SnapshotPolicy)}
//       → {type:"converged", version, lastAckUnixMs, streams} once every stream open at the push ACKed it
//   ← {type:"count"} → {type:"count", streams}
//   ← {type:"lag"} → {type:"lag", maxMs}: the workers' max event-loop delay since the last ask
// A GET /probe is answered 200 at once: the floor of any request the same
// event loop serves while it fans out (the benchmark times it during fan-outs).
import cluster, { type Worker } from "node:cluster";
import http2 from "node:http2";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { FrameReader, STREAM_CONFIG_PATH, decodeAck, encodeSnapshot, frame, withPolicyVersion } from "./grpc-wire.ts";

export interface BaselineConfig {
  port: number;
  workers: number;
}

const SLICE = 64;
const cfg = JSON.parse(process.argv[2] ?? process.env.HFI_BASELINE_CONFIG ?? "{}") as BaselineConfig;

type Query = "count" | "lag";
type ToWorker = { type: "push"; version: string; frame: string } | { type: "count"; id: number } | { type: "lag"; id: number };
type FromWorker =
  | { type: "converged"; version: string; lastAckUnixMs: number; streams: number }
  | { type: Query; id: number; value: number };

if (cluster.isPrimary) primary();
else worker();

function primary(): void {
  // Workers read their configuration from the environment (cluster.fork keeps argv but not our JSON position).
  const workers: Worker[] = [];
  let listening = 0;
  for (let i = 0; i < cfg.workers; i++) {
    const w = cluster.fork({ HFI_BASELINE_CONFIG: JSON.stringify(cfg) });
    w.on("listening", () => {
      if (++listening === cfg.workers) process.send!({ type: "listening" });
    });
    workers.push(w);
  }
  let change: { version: string; reports: number; last: number; streams: number } | undefined;
  // One query at a time: counts sum over workers, lags take the max.
  let query: { type: Query; id: number; reports: number; value: number } | undefined;
  for (const w of workers) {
    w.on("message", (m: FromWorker) => {
      if (m.type === "converged" && change && m.version === change.version) {
        change.last = Math.max(change.last, m.lastAckUnixMs);
        change.streams += m.streams;
        if (++change.reports === workers.length) {
          process.send!({ type: "converged", version: change.version, lastAckUnixMs: change.last, streams: change.streams });
          change = undefined;
        }
      } else if (m.type !== "converged" && query && m.id === query.id) {
        query.value = query.type === "count" ? query.value + m.value : Math.max(query.value, m.value);
        if (++query.reports === workers.length) {
          process.send!(query.type === "count" ? { type: "count", streams: query.value } : { type: "lag", maxMs: query.value });
          query = undefined;
        }
      }
    });
  }
  let queryId = 0;
  process.on("message", (m: { type: string; version?: number; policy?: string }) => {
    if (m.type === "push") {
      const version = `raw-${String(m.version).padStart(12, "0")}`;
      const policy = withPolicyVersion(Buffer.from(m.policy!, "base64"), m.version!);
      // A nonce as long as HFI's (8 hex, "-", base-36 counter): the same bytes on the wire.
      const bytes = frame(encodeSnapshot(version, `00000000-${m.version!.toString(36)}`, [policy], Date.now()));
      change = { version, reports: 0, last: 0, streams: 0 };
      const msg: ToWorker = { type: "push", version, frame: bytes.toString("base64") };
      for (const w of workers) w.send(msg);
    } else if (m.type === "count" || m.type === "lag") {
      query = { type: m.type, id: ++queryId, reports: 0, value: 0 };
      for (const w of workers) w.send({ type: m.type, id: query.id } satisfies ToWorker);
    }
  });
  process.on("disconnect", () => {
    for (const w of workers) w.process.kill("SIGKILL");
    process.exit(0);
  });
}

function worker(): void {
  interface Peer {
    stream: http2.ServerHttp2Stream;
    subscribed: boolean;
    ackedVersion: string;
  }
  const peers = new Set<Peer>();
  let current: { version: string; frame: Buffer } | undefined;
  /** The change being counted: peers that must ACK it. */
  let counting: { version: string; waiting: Set<Peer>; last: number; streams: number } | undefined;

  const report = () => {
    if (!counting || counting.waiting.size > 0) return;
    process.send!({ type: "converged", version: counting.version, lastAckUnixMs: counting.last, streams: counting.streams } satisfies FromWorker);
    counting = undefined;
  };

  // 1 ms resolution, as HFI's own histogram.
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();

  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    if (headers[":path"] === "/probe") {
      stream.respond({ ":status": 200 });
      stream.end();
      return;
    }
    if (headers[":path"] !== STREAM_CONFIG_PATH) {
      stream.respond({ ":status": 404 });
      stream.end();
      return;
    }
    stream.respond({ ":status": 200, "content-type": "application/grpc" });
    const peer: Peer = { stream, subscribed: false, ackedVersion: "" };
    const reader = new FrameReader();
    stream.on("data", (chunk: Buffer) => {
      reader.push(chunk, (m) => {
        if (!peer.subscribed) {
          peer.subscribed = true;
          peers.add(peer);
          if (current) stream.write(current.frame);
          return;
        }
        const ack = decodeAck(m);
        if (!ack) return;
        peer.ackedVersion = ack.version;
        if (counting && ack.version === counting.version && counting.waiting.delete(peer)) {
          counting.last = Date.now();
          report();
        }
      });
    });
    const gone = () => {
      peers.delete(peer);
      if (counting?.waiting.delete(peer)) report();
    };
    stream.on("close", gone);
    stream.on("error", gone);
  });
  server.on("sessionError", () => {});
  server.listen(cfg.port, "127.0.0.1");

  process.on("message", async (m: ToWorker) => {
    if (m.type === "count") {
      process.send!({ type: "count", id: m.id, value: peers.size } satisfies FromWorker);
      return;
    }
    if (m.type === "lag") {
      process.send!({ type: "lag", id: m.id, value: delay.max / 1e6 } satisfies FromWorker);
      delay.reset();
      return;
    }
    current = { version: m.version, frame: Buffer.from(m.frame, "base64") };
    const targets = [...peers];
    counting = { version: m.version, waiting: new Set(targets), last: 0, streams: targets.length };
    const bytes = current.frame;
    for (let i = 0; i < targets.length; i++) {
      if (i > 0 && i % SLICE === 0) await new Promise((r) => setImmediate(r));
      const p = targets[i]!;
      if (!p.stream.destroyed) p.stream.write(bytes);
    }
    report();
  });
}
