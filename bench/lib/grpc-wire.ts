// Just enough gRPC and protobuf for the benchmark's own HTTP/2 peers (the
// subscribers and the raw fan-out baseline): the 5-byte message prefix, the
// few hfi.v1 fields they read or write, and a frame splitter. Hand-written
// because grpc-js costs too much per stream to play 10,000+ sidecars on two
// cores; the field numbers are those of proto/hfi/v1/config_discovery.proto.

export const STREAM_CONFIG_PATH = "/hfi.v1.ConfigDiscoveryService/StreamConfig";

/** One gRPC message: flag 0 (uncompressed), 4-byte big-endian length, bytes. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** Splits a byte stream into gRPC messages (chunks may cut messages anywhere). */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Feeds a chunk; calls `onMessage` for every complete message. Throws on a compressed message. */
  push(chunk: Buffer, onMessage: (m: Buffer) => void): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 5) {
      if (this.buf[0] !== 0) throw new Error(`compressed gRPC message (flag ${this.buf[0]}): not negotiated`);
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < 5 + len) break;
      onMessage(this.buf.subarray(5, 5 + len));
      this.buf = this.buf.subarray(5 + len);
    }
  }
}

// --- protobuf primitives -------------------------------------------------

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** Field `no` with wire type 2 (length-delimited). */
export function lenField(no: number, bytes: Buffer | string): Buffer {
  const b = typeof bytes === "string" ? Buffer.from(bytes, "utf8") : bytes;
  return Buffer.concat([Buffer.from([...varint((no << 3) | 2), ...varint(b.length)]), b]);
}

/** Field `no` with wire type 0 (varint), for non-negative integers. */
export function varintField(no: number, n: number): Buffer {
  return Buffer.from([...varint(no << 3), ...varint(n)]);
}

/** Visits every field of a message: (field number, wire type, value or sub-bytes). */
function fields(b: Buffer, visit: (no: number, value: number | Buffer) => void): void {
  let i = 0;
  const readVarint = (): number => {
    let result = 0;
    let mul = 1;
    for (;;) {
      if (i >= b.length) throw new Error("truncated varint");
      const byte = b[i++]!;
      result += (byte & 0x7f) * mul;
      if (byte < 0x80) return result;
      mul *= 128;
    }
  };
  while (i < b.length) {
    const key = readVarint();
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) visit(no, readVarint());
    else if (wire === 2) {
      const len = readVarint();
      if (i + len > b.length) throw new Error("truncated field");
      visit(no, b.subarray(i, i + len));
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

// --- hfi.v1 messages -----------------------------------------------------

export interface IdentityFields {
  service: string;
  namespace: string;
  proxyId: string;
}

/** StreamConfigRequest{subscribe: Subscribe{identity (1): Identity{service 1, namespace 2, proxy_id 4}, token 3}}. */
export function encodeSubscribe(id: IdentityFields, token?: string): Buffer {
  const identity = Buffer.concat([lenField(1, id.service), lenField(2, id.namespace), lenField(4, id.proxyId)]);
  const subscribe = Buffer.concat([lenField(1, identity), ...(token ? [lenField(3, token)] : [])]);
  return lenField(1, subscribe);
}

/** StreamConfigRequest{ack (2): Ack{version 1, nonce 2}}. */
export function encodeAck(version: string, nonce: string): Buffer {
  return lenField(2, Buffer.concat([lenField(1, version), lenField(2, nonce)]));
}

export interface DecodedSnapshot {
  version: string;
  nonce: string;
  /** Policy name → policy version, in snapshot order. */
  policies: Map<string, number>;
  /** Raw SnapshotPolicy messages by name (kept only when asked for). */
  raw?: Map<string, Buffer>;
}

/** ConfigSnapshot{version 1, nonce 2, policies 3: SnapshotPolicy{name 1, version 4}}. */
export function decodeSnapshot(b: Buffer, keepRaw = false): DecodedSnapshot {
  const out: DecodedSnapshot = { version: "", nonce: "", policies: new Map() };
  if (keepRaw) out.raw = new Map();
  fields(b, (no, v) => {
    if (no === 1 && Buffer.isBuffer(v)) out.version = v.toString("utf8");
    else if (no === 2 && Buffer.isBuffer(v)) out.nonce = v.toString("utf8");
    else if (no === 3 && Buffer.isBuffer(v)) {
      let name = "";
      let version = 0;
      fields(v, (pno, pv) => {
        if (pno === 1 && Buffer.isBuffer(pv)) name = pv.toString("utf8");
        else if (pno === 4 && typeof pv === "number") version = pv;
      });
      out.policies.set(name, version);
      out.raw?.set(name, Buffer.from(v));
    }
  });
  return out;
}

/** The ACK in a StreamConfigRequest, or undefined (subscribe / nack). */
export function decodeAck(b: Buffer): { version: string; nonce: string } | undefined {
  let ack: { version: string; nonce: string } | undefined;
  fields(b, (no, v) => {
    if (no !== 2 || !Buffer.isBuffer(v)) return;
    ack = { version: "", nonce: "" };
    fields(v, (ano, av) => {
      if (ano === 1 && Buffer.isBuffer(av)) ack!.version = av.toString("utf8");
      else if (ano === 2 && Buffer.isBuffer(av)) ack!.nonce = av.toString("utf8");
    });
  });
  return ack;
}

/** A SnapshotPolicy's bytes with its version (field 4) replaced. */
export function withPolicyVersion(policy: Buffer, version: number): Buffer {
  const parts: Buffer[] = [];
  fields(policy, (no, v) => {
    if (no === 4) return;
    parts.push(Buffer.isBuffer(v) ? lenField(no, v) : varintField(no, v));
  });
  parts.push(varintField(4, version));
  return Buffer.concat(parts);
}

/** ConfigSnapshot as HFI frames it: version, nonce, policies, server time. */
export function encodeSnapshot(version: string, nonce: string, policies: Buffer[], serverTimeMs: number): Buffer {
  return Buffer.concat([lenField(1, version), lenField(2, nonce), ...policies.map((p) => lenField(3, p)), varintField(4, serverTimeMs)]);
}
