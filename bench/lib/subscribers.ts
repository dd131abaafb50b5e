// Child process for bench/propagation.ts: N StreamConfig subscribers that ACK
// every snapshot and record, per stream, when each version of the watched
// policy first arrived (wall clock, ms, high resolution).
//   node --import tsx bench/lib/subscribers.ts ADDRESS N CONNECTIONS
// IPC: → {type:"ready"} once every stream has its first snapshot;
//      ← {type:"await", name, version} → {type:"arrived", version, times:number[]}
import * as grpc from "@grpc/grpc-js";
import { hfiGrpc } from "../../proto/loader.ts";
import type { ConfigSnapshotOut, StreamConfigRequest } from "../../proto/loader.ts";

const [address, nArg, connArg] = process.argv.slice(2);
const n = Number(nArg);
const connections = Math.max(1, Math.min(n, Number(connArg ?? 1)));
const now = () => performance.timeOrigin + performance.now();

const Client = hfiGrpc().ConfigDiscoveryService;
// A distinct channel option per connection: grpc-js would otherwise share one.
const clients = Array.from({ length: connections }, (_, i) => new Client(address!, grpc.credentials.createInsecure(), { "hfi.bench.connection": i }));

/** "name@version" → arrival time per stream index. */
const arrivals = new Map<string, number[]>();
const arrivedCount = new Map<string, number>();
let initial = 0;
const waiting = new Map<string, () => void>();
const calls: grpc.ClientDuplexStream<StreamConfigRequest, ConfigSnapshotOut>[] = [];
// ACKs go out after the current burst of arrivals is recorded (one process
// plays 1000 filters; a real filter ACKs only its own snapshot).
let pendingAcks: (() => void)[] = [];
function queueAck(fn: () => void): void {
  if (pendingAcks.length === 0) {
    setImmediate(() => {
      const batch = pendingAcks;
      pendingAcks = [];
      for (const f of batch) f();
    });
  }
  pendingAcks.push(fn);
}

for (let i = 0; i < n; i++) {
  const call = clients[i % connections]!.streamConfig();
  let first = true;
  call.on("data", (s: ConfigSnapshotOut) => {
    const t = now();
    queueAck(() => call.write({ ack: { version: s.version, nonce: s.nonce } }));
    if (first) {
      first = false;
      if (++initial === n) process.send!({ type: "ready" });
    }
    for (const p of s.policies) {
      const key = `${p.name}@${p.version}`;
      let times = arrivals.get(key);
      if (!times) arrivals.set(key, (times = new Array(n).fill(0)));
      if (times[i] === 0) {
        times[i] = t;
        const c = (arrivedCount.get(key) ?? 0) + 1;
        arrivedCount.set(key, c);
        if (c === n) waiting.get(key)?.();
      }
    }
  });
  call.on("error", () => {});
  // Ten services so the server sees several identity groups, as in a mesh.
  call.write({ subscribe: { identity: { service: `svc-${i % 10}`, namespace: "bench", proxyId: `proxy-${i}` } } });
  calls.push(call);
}

process.on("message", (m: { type: string; name: string; version: number }) => {
  if (m.type === "await") {
    const key = `${m.name}@${m.version}`;
    const done = () => {
      waiting.delete(key);
      process.send!({ type: "arrived", version: m.version, times: arrivals.get(key) });
      arrivals.delete(key);
    };
    if (arrivedCount.get(key) === n) done();
    else waiting.set(key, done);
  } else if (m.type === "exit") {
    for (const c of calls) c.cancel();
    for (const c of clients) c.close();
    process.exit(0);
  }
});
