// Snapshot bytes: one SnapshotPolicy element per stored policy version, and
// one whole gRPC message frame (length prefix + ConfigSnapshot) per identity
// group and version, written as is to every stream of the group.
import type { ConfigSnapshot, PolicyOut, SnapshotPolicy } from "../../proto/loader.ts";
import { filterRules, messageType, setFields } from "../../policy/index.ts";
import { methodDefinition } from "../grpc/methods.ts";

let serialize: ((value: object) => Buffer) | undefined;
const snapshotSerialize = () =>
  (serialize ??= methodDefinition("hfi.v1.ConfigDiscoveryService", "StreamConfig").responseSerialize);

/**
 * The bytes of one `repeated SnapshotPolicy policies = 3` element of a
 * ConfigSnapshot. Concatenating these for a set and adding version, nonce and
 * time gives a valid ConfigSnapshot: each policy version is encoded once.
 */
export function encodeSnapshotPolicy(sp: SnapshotPolicy): Buffer {
  const msg: ConfigSnapshot = { policies: [setFields(messageType("SnapshotPolicy"), sp) as SnapshotPolicy] };
  return snapshotSerialize()(msg);
}

/** Bytes of a varint (n >= 0, up to 2^53). */
function varintSize(n: number): number {
  let size = 1;
  for (let v = Math.floor(n); v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return size;
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  let v = Math.floor(n);
  while (v >= 0x80) {
    buf[at++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[at++] = v;
  return at;
}

/** gRPC length-prefixed message header: compressed flag (0) + 4-byte big-endian length. */
export const FRAME_HEADER_BYTES = 5;

/**
 * ConfigSnapshot = version (1) + nonce (2) + the policies bytes (3) + server
 * time (4), optionally behind a gRPC message header. One allocation.
 */
function encode(version: string, nonce: string, policies: Buffer | readonly Buffer[], serverTimeMs: number, framed: boolean): Buffer {
  const parts = Buffer.isBuffer(policies) ? [policies] : policies;
  const versionLen = Buffer.byteLength(version, "utf8");
  const nonceLen = Buffer.byteLength(nonce, "utf8");
  let policiesLen = 0;
  for (const p of parts) policiesLen += p.length;
  const size =
    1 + varintSize(versionLen) + versionLen + 1 + varintSize(nonceLen) + nonceLen + policiesLen + 1 + varintSize(serverTimeMs);
  const head = framed ? FRAME_HEADER_BYTES : 0;
  const out = Buffer.allocUnsafe(head + size);
  let at = 0;
  if (framed) {
    out[at++] = 0;
    out.writeUInt32BE(size, at);
    at += 4;
  }
  out[at++] = (1 << 3) | 2;
  at = writeVarint(out, at, versionLen);
  at += out.write(version, at, "utf8");
  out[at++] = (2 << 3) | 2;
  at = writeVarint(out, at, nonceLen);
  at += out.write(nonce, at, "utf8");
  for (const p of parts) at += p.copy(out, at);
  out[at++] = (4 << 3) | 0;
  writeVarint(out, at, serverTimeMs);
  return out;
}

/** A ConfigSnapshot message (field order on the wire does not matter to decoders). */
export function encodeSnapshot(version: string, nonce: string, policies: Buffer | readonly Buffer[], serverTimeMs: number): Buffer {
  return encode(version, nonce, policies, serverTimeMs, false);
}

/**
 * The same message as one gRPC frame, ready to be written to an HTTP/2 stream.
 * `policies` may be the elements themselves: they are copied straight into
 * the frame, so no concatenated copy is built on the way.
 */
export function encodeSnapshotFrame(version: string, nonce: string, policies: Buffer | readonly Buffer[], serverTimeMs: number): Buffer {
  return encode(version, nonce, policies, serverTimeMs, true);
}

/** A snapshot policy entry from a stored policy. */
export function snapshotPolicyOf(policy: PolicyOut): SnapshotPolicy {
  return {
    name: policy.metadata?.name ?? "",
    rules: filterRules(policy.spec?.rules ?? []),
    appliedAtUnixMs: policy.metadata?.updatedAtUnixMs ?? 0,
    version: policy.metadata?.version ?? 0,
    direction: policy.spec?.direction === "outbound" ? "outbound" : "inbound",
  };
}
