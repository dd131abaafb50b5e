// A subscriber process of the propagation benchmark: `count` StreamConfig
// streams as sidecars open them (by default one HTTP/2 connection each),
// on node:http2 with hand-framed gRPC (bench/lib/grpc-wire.ts). Every stream
// subscribes with its identity, decodes each ConfigSnapshot (version, nonce,
// policy versions) and ACKs it at once; a stream that ends or loses its
// connection reconnects after a short backoff, as a filter does.
// Started with fork() by bench/propagation.ts; configuration in argv[2] (JSON).
// IPC to the parent:
//   → {type:"ready", ms}   every stream has ACKed its first snapshot
//   ← {type:"await", name, version}  → {type:"acked", name, version, lastAckSentMs, sample?}
//     once every stream has ACKed a snapshot holding `name` at `version` or later
//   ← {type:"stats"}  → {type:"stats", ...}
//   ← {type:"exit"}   closes everything and exits
import http2 from "node:http2";
import net from "node:net";
import { FrameReader, STREAM_CONFIG_PATH, decodeSnapshot, encodeAck, encodeSubscribe, frame } from "./grpc-wire.ts";

export interface SubscriberConfig {
  /** host:port of the server. */
  address: string;
  count: number;
  /** Index of this process (proxy ids are sub-<proc>-<i>). */
  proc: number;
  /** Streams share HTTP/2 connections in groups of this size (1 = one connection per stream). */
  streamsPerConnection: number;
  /** Distinct services the streams spread over (identity groups on the server). */
  services: number;
  /** Connections being opened at once. */
  connectConcurrency: number;
  /** Subscribe.token, when the server requires a stream token. */
  token?: string;
}

const cfg = JSON.parse(process.argv[2]!) as SubscriberConfig;
// On loopback each subscriber process connects from its own source address
// (127.0.0.2, .3, …): 30k connections from 127.0.0.1 would take all of its
// ~28k ephemeral ports, and every other process on the box binding port 0
// would fail with EADDRINUSE.
const [serverHost, serverPort] = [cfg.address.slice(0, cfg.address.lastIndexOf(":")), Number(cfg.address.slice(cfg.address.lastIndexOf(":") + 1))];
const localAddress = cfg.address.startsWith("127.") ? `127.0.${1 + Math.floor(cfg.proc / 250)}.${2 + (cfg.proc % 250)}` : undefined;
const now = () => performance.timeOrigin + performance.now();

interface Sub {
  index: number;
  conn: Conn;
  stream?: http2.ClientHttp2Stream;
  /** Policy name → version of the last snapshot this stream ACKed. */
  acked: Map<string, number>;
  /** When this stream sent its last ACK (ms, wall clock). */
  ackedAtMs: number;
  readyOnce: boolean;
}

interface Conn {
  session?: http2.ClientHttp2Session;
  subs: Sub[];
  reconnectTimer?: NodeJS.Timeout;
}

interface Await {
  name: string;
  version: number;
  count: number;
  lastAckSentMs: number;
  sample: boolean;
}

const stats = { reconnects: 0, streamEnds: 0, sessionErrors: 0, badResponses: 0, lastError: "", snapshots: 0, bytes: 0 };
let exiting = false;
let ready = 0;
const started = now();
const awaits = new Map<string, Await>();
/** Raw SnapshotPolicy bytes by name, from stream 0 (the baseline pushes the same bytes). */
const sampleRaw = new Map<string, Buffer>();

const subs: Sub[] = [];
const conns: Conn[] = [];
for (let i = 0; i < cfg.count; i++) {
  const c = i % cfg.streamsPerConnection === 0 ? { subs: [] as Sub[] } : conns[conns.length - 1]!;
  if (c.subs.length === 0) conns.push(c);
  const s: Sub = { index: i, conn: c, acked: new Map(), ackedAtMs: 0, readyOnce: false };
  c.subs.push(s);
  subs.push(s);
}

function backoff(): number {
  return 200 + Math.random() * 800;
}

function onSnapshot(s: Sub, message: Buffer): void {
  const snap = decodeSnapshot(message, s.index === 0);
  stats.snapshots++;
  stats.bytes += message.length + 5;
  s.stream?.write(frame(encodeAck(snap.version, snap.nonce)));
  const t = now();
  if (snap.raw) for (const [name, raw] of snap.raw) sampleRaw.set(name, raw);
  for (const a of awaits.values()) {
    const before = s.acked.get(a.name) ?? -1;
    const after = snap.policies.get(a.name) ?? -1;
    if (before < a.version && after >= a.version) {
      a.count++;
      a.lastAckSentMs = t;
    }
  }
  s.acked = snap.policies;
  s.ackedAtMs = t;
  for (const a of awaits.values()) if (a.count === cfg.count) finish(a);
  if (!s.readyOnce) {
    s.readyOnce = true;
    if (++ready === cfg.count) process.send!({ type: "ready", ms: now() - started });
  }
}

function finish(a: Await): void {
  awaits.delete(a.name);
  const raw = a.sample ? sampleRaw.get(a.name) : undefined;
  process.send!({ type: "acked", name: a.name, version: a.version, lastAckSentMs: a.lastAckSentMs, ...(raw ? { sample: raw.toString("base64") } : {}) });
}

function openStream(s: Sub): void {
  const session = s.conn.session;
  if (!session || session.closed || session.destroyed || exiting) return;
  let st: http2.ClientHttp2Stream;
  try {
    st = session.request(
      { ":method": "POST", ":path": STREAM_CONFIG_PATH, "content-type": "application/grpc", te: "trailers" },
      { endStream: false },
    );
  } catch (err) {
    stats.lastError = (err as Error).message;
    return scheduleReconnect(s.conn);
  }
  s.stream = st;
  const reader = new FrameReader();
  st.on("response", (h) => {
    const type = String(h["content-type"] ?? "");
    if (h[":status"] !== 200 || !type.startsWith("application/grpc")) {
      stats.badResponses++;
      stats.lastError = `HTTP ${h[":status"]} ${type}`;
    }
  });
  st.on("data", (chunk: Buffer) => {
    try {
      reader.push(chunk, (m) => onSnapshot(s, m));
    } catch (err) {
      stats.lastError = (err as Error).message;
      st.close(http2.constants.NGHTTP2_PROTOCOL_ERROR);
    }
  });
  st.on("trailers", (h) => {
    if (h["grpc-status"] !== undefined && h["grpc-status"] !== "0") stats.lastError = `grpc-status ${h["grpc-status"]}: ${h["grpc-message"] ?? ""}`;
  });
  st.on("error", (err) => (stats.lastError = err.message));
  st.on("close", () => {
    if (s.stream !== st || exiting) return;
    s.stream = undefined;
    stats.streamEnds++;
    // The stream ended on a live connection: open a new one after a pause (a filter's retry).
    setTimeout(() => {
      stats.reconnects++;
      openStream(s);
    }, backoff());
  });
  const identity = { service: `svc-${s.index % cfg.services}`, namespace: "bench", proxyId: `sub-${cfg.proc}-${s.index}` };
  st.write(frame(encodeSubscribe(identity, cfg.token)));
}

function scheduleReconnect(c: Conn): void {
  if (exiting || c.reconnectTimer) return;
  c.session?.destroy();
  c.session = undefined;
  c.reconnectTimer = setTimeout(() => {
    c.reconnectTimer = undefined;
    stats.reconnects++;
    connect(c);
  }, backoff());
}

// Connections open through a small window so the server's accept queue is not flooded.
let opening = 0;
const toOpen: Conn[] = [];
function connect(c: Conn): void {
  toOpen.push(c);
  pump();
}
function pump(): void {
  while (opening < cfg.connectConcurrency && toOpen.length) {
    const c = toOpen.shift()!;
    if (exiting) return;
    opening++;
    let counted = true;
    const done = () => {
      if (counted) {
        counted = false;
        opening--;
        pump();
      }
    };
    const session = http2.connect(
      `http://${cfg.address}`,
      localAddress ? { createConnection: () => net.connect({ host: serverHost, port: serverPort, localAddress }) } : {},
    );
    c.session = session;
    session.on("connect", () => {
      done();
      for (const s of c.subs) openStream(s);
    });
    session.on("error", (err) => {
      stats.sessionErrors++;
      stats.lastError = err.message;
    });
    session.on("close", () => {
      done();
      if (c.session === session) {
        for (const s of c.subs) s.stream = undefined;
        scheduleReconnect(c);
      }
    });
  }
}

process.on("message", (m: { type: string; name?: string; version?: number; sample?: boolean }) => {
  if (m.type === "await") {
    const a: Await = { name: m.name!, version: m.version!, count: 0, lastAckSentMs: 0, sample: !!m.sample };
    for (const s of subs) {
      if ((s.acked.get(a.name) ?? -1) < a.version) continue;
      a.count++;
      a.lastAckSentMs = Math.max(a.lastAckSentMs, s.ackedAtMs);
    }
    awaits.set(a.name, a);
    if (a.count === cfg.count) finish(a);
  } else if (m.type === "stats") {
    process.send!({ type: "stats", ...stats, ready, open: subs.filter((s) => s.stream).length });
  } else if (m.type === "exit") {
    exiting = true;
    for (const c of conns) {
      clearTimeout(c.reconnectTimer);
      c.session?.destroy();
    }
    setTimeout(() => process.exit(0), 50);
  }
});
process.on("disconnect", () => process.exit(0));

for (const c of conns) connect(c);
