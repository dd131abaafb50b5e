// Turning decoded gRPC messages into plain policy objects and back into
// bytes. proto-loader fills every default (and a `kind` marker per oneof); the
// policy parser and the snapshot encoder want only the fields that were set.
import { packageDefinition } from "../proto/loader.ts";
import type { ConfigSnapshot, PolicyOut, SnapshotPolicy } from "../proto/loader.ts";

const ONEOF_MEMBERS = ["exact", "prefix", "regex", "present"];
/** Map fields: copied as they are (an empty label value is meaningful). */
const MAP_FIELDS = new Set(["labels"]);
/** Output-only metadata: the server stamps these; input values are ignored. */
const OUTPUT_ONLY = new Set(["version", "createdAtUnixMs", "updatedAtUnixMs", "expiresAtUnixMs"]);

function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined || v === "" || v === 0 || v === false) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.keys(v as object).length === 0;
  return false;
}

/**
 * Proto3 "not set" fields dropped, oneofs reduced to the member that was set
 * (a set `present: false` is kept: it means "must be absent").
 */
export function pruneMessage(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(pruneMessage);
  if (v === null || typeof v !== "object" || Buffer.isBuffer(v)) return v;
  const src = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  let oneof: string | undefined;
  if (typeof src.kind === "string" && ONEOF_MEMBERS.includes(src.kind)) oneof = src.kind;
  else if (ONEOF_MEMBERS.some((m) => m in src)) {
    oneof = ONEOF_MEMBERS.find((m) => typeof src[m] === "string" && src[m] !== "");
    if (!oneof && typeof src.present === "boolean") oneof = "present";
  }
  for (const [k, val] of Object.entries(src)) {
    if (k === "kind" && typeof val === "string") continue;
    if (ONEOF_MEMBERS.includes(k) && oneof !== undefined) {
      if (k === oneof && val !== undefined && val !== null) out[k] = val;
      continue;
    }
    if (MAP_FIELDS.has(k) && val && typeof val === "object") {
      if (Object.keys(val).length) out[k] = { ...(val as object) };
      continue;
    }
    const p = pruneMessage(val);
    if (!isEmpty(p)) out[k] = p;
  }
  return out;
}

/** A gRPC ApplyPolicyRequest.policy as the plain object the policy parser takes. */
export function grpcPolicyInput(policy: unknown): unknown {
  const p = (pruneMessage(policy) ?? {}) as Record<string, unknown>;
  const md = p.metadata as Record<string, unknown> | undefined;
  if (md) for (const k of OUTPUT_ONLY) delete md[k];
  return p;
}

type Serialize = (value: object) => Buffer;
type Deserialize = (bytes: Buffer) => unknown;
interface MethodDef {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize: Serialize;
  requestDeserialize: Deserialize;
  responseSerialize: Serialize;
  responseDeserialize: Deserialize;
  originalName?: string;
}

export function methodDefinition(service: string, method: string): MethodDef {
  const svc = packageDefinition()[service] as unknown as Record<string, MethodDef>;
  const m = svc?.[method];
  if (!m) throw new Error(`no method ${service}/${method}`);
  return m;
}

const snapshotSerialize = (): Serialize =>
  methodDefinition("hfi.v1.ConfigDiscoveryService", "StreamConfig").responseSerialize;

/**
 * The bytes of one `repeated SnapshotPolicy policies = 3` element of a
 * ConfigSnapshot. Concatenating these for a set and adding version, nonce and
 * time (encodeSnapshotHeader) gives a valid ConfigSnapshot: the policy part is
 * encoded once per change and shared by every stream.
 */
export function encodeSnapshotPolicy(sp: SnapshotPolicy): Buffer {
  const msg: ConfigSnapshot = { policies: [pruneMessage(sp) as SnapshotPolicy] };
  return snapshotSerialize()(msg);
}

function varint(n: number): number[] {
  const out: number[] = [];
  let v = Math.floor(n);
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function stringField(field: number, s: string): Buffer {
  const bytes = Buffer.from(s, "utf8");
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(bytes.length)]), bytes]);
}

/** Field 1 (version) bytes: encoded once per snapshot record. */
export function encodeVersionField(version: string): Buffer {
  return stringField(1, version);
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

/**
 * ConfigSnapshot = version field (1) + nonce (2) + the shared policies bytes
 * (3) + server time (4). Field order on the wire does not matter to decoders.
 * Runs once per stream per push: one allocation, the parts copied in.
 */
export function encodeSnapshot(version: string | Buffer, nonce: string, policies: Buffer, serverTimeMs: number): Buffer {
  const v = typeof version === "string" ? stringField(1, version) : version;
  const nonceLen = Buffer.byteLength(nonce, "utf8");
  const size = v.length + 1 + varintSize(nonceLen) + nonceLen + policies.length + 1 + varintSize(serverTimeMs);
  const out = Buffer.allocUnsafe(size);
  let at = v.copy(out, 0);
  out[at++] = (2 << 3) | 2;
  at = writeVarint(out, at, nonceLen);
  at += out.write(nonce, at, "utf8");
  at += policies.copy(out, at);
  out[at++] = (4 << 3) | 0;
  writeVarint(out, at, serverTimeMs);
  return out;
}

/** A snapshot policy entry from a stored policy. */
export function snapshotPolicyOf(policy: PolicyOut): SnapshotPolicy {
  return {
    name: policy.metadata?.name ?? "",
    rules: policy.spec?.rules ?? [],
    appliedAtUnixMs: policy.metadata?.updatedAtUnixMs ?? 0,
    version: policy.metadata?.version ?? 0,
  };
}
