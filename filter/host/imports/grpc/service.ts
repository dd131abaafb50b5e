// The `service` argument of proxy_grpc_stream / proxy_grpc_call: Envoy first
// tries to parse it as a serialized envoy.config.core.v3.GrpcService and
// otherwise takes the bytes as a cluster name. We read the two fields that
// name a destination (envoy_grpc.cluster_name = 1.1, google_grpc.target_uri =
// 2.1) and the initial_metadata (5) with a tiny protobuf reader (a full
// protobuf runtime for three fields is not worth a dependency).

export interface GrpcServiceRef {
  cluster?: string;
  targetUri?: string;
  initialMetadata: [string, string][];
}

type Field = { no: number; wire: number; bytes?: Uint8Array };

function readFields(b: Uint8Array): Field[] | undefined {
  const out: Field[] = [];
  let p = 0;
  const varint = (): number | undefined => {
    let v = 0;
    let shift = 0;
    for (;;) {
      if (p >= b.length || shift > 63) return undefined;
      const byte = b[p++]!;
      v += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return v;
      shift += 7;
    }
  };
  while (p < b.length) {
    const key = varint();
    if (key === undefined) return undefined;
    const no = Math.floor(key / 8);
    const wire = key & 7;
    if (no === 0) return undefined;
    if (wire === 0) {
      if (varint() === undefined) return undefined;
      out.push({ no, wire });
    } else if (wire === 1 || wire === 5) {
      p += wire === 1 ? 8 : 4;
      if (p > b.length) return undefined;
      out.push({ no, wire });
    } else if (wire === 2) {
      const len = varint();
      if (len === undefined || p + len > b.length) return undefined;
      out.push({ no, wire, bytes: b.subarray(p, p + len) });
      p += len;
    } else {
      return undefined;
    }
  }
  return out;
}

const dec = new TextDecoder();

export function parseGrpcService(bytes: Uint8Array): GrpcServiceRef {
  const raw = { cluster: dec.decode(bytes), initialMetadata: [] as [string, string][] };
  const fields = readFields(bytes);
  if (!fields) return raw;
  const ref: GrpcServiceRef = { initialMetadata: [] };
  for (const f of fields) {
    if (f.wire !== 2 || !f.bytes) continue;
    const sub = f.no === 1 || f.no === 2 || f.no === 5 ? readFields(f.bytes) : undefined;
    if (!sub) continue;
    const str = (n: number) => {
      const x = sub.find((s) => s.no === n && s.bytes);
      return x?.bytes ? dec.decode(x.bytes) : undefined;
    };
    if (f.no === 1) ref.cluster = str(1);
    else if (f.no === 2) ref.targetUri = str(1);
    else ref.initialMetadata.push([str(1) ?? "", str(2) ?? ""]);
  }
  if (ref.cluster === undefined && ref.targetUri === undefined) return raw;
  return ref;
}
