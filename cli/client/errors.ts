// Errors of the typed client: one class carrying the gRPC status name, the
// server's message and, for validation failures, the field errors.
import type { FieldError } from "../../policy/types.ts";
import { STATUS, type GrpcCodeName } from "./status.ts";
import type { CallError } from "./wire.ts";

export type { GrpcCodeName } from "./status.ts";

/** A failed call (cli/client/wire.ts's CallError; grpc-js's ServiceError has the same shape). */
type Failure = Pick<CallError, "code" | "details"> & Partial<Pick<CallError, "metadata" | "unreached">>;

/** Metadata key under which the server may send field errors as JSON ([{path, reason}]). */
export const FIELD_ERRORS_METADATA_KEY = "hfi-field-errors";

export class HfiClientError extends Error {
  constructor(
    /** gRPC status name, e.g. "INVALID_ARGUMENT"; "UNAVAILABLE" when the server could not be reached. */
    readonly code: GrpcCodeName,
    message: string,
    /** Validation problems reported by the server (empty for other errors). */
    readonly fieldErrors: FieldError[] = [],
    /** The address the client talked to. */
    readonly server = "",
    /** The numeric gRPC status. */
    readonly grpcCode: number = STATUS[code],
  ) {
    super(message);
    this.name = "HfiClientError";
  }
}

function codeName(code: number): GrpcCodeName {
  const name = STATUS[code];
  return name ?? "UNKNOWN";
}

// One "<field.path>: <reason>" per problem, the form every HFI validation error takes.
const FIELD_ERROR_RE = /^([A-Za-z_][\w]*(?:\[\d+\]|\.[A-Za-z_][\w]*|\["[^"]*"\])*): (.+)$/s;

/** Field errors from a status: the structured metadata when the server sends it, else parsed from the message. */
export function fieldErrorsOf(err: Failure): FieldError[] {
  if (err.code !== STATUS.INVALID_ARGUMENT) return [];
  const raw = err.metadata?.get(FIELD_ERRORS_METADATA_KEY)?.[0];
  if (raw !== undefined) {
    try {
      const parsed = JSON.parse(raw.toString()) as unknown;
      if (Array.isArray(parsed)) {
        return parsed.filter(
          (e): e is FieldError => typeof e?.path === "string" && typeof e?.reason === "string",
        );
      }
    } catch {
      /* fall back to the message */
    }
  }
  const out: FieldError[] = [];
  for (const line of err.details.split(/;\s+|\n/)) {
    const m = FIELD_ERROR_RE.exec(line.trim());
    if (m) out.push({ path: m[1]!, reason: m[2]! });
  }
  return out;
}

/**
 * Whether the call never got to a server (no HTTP/2 connection: refused, no
 * such host, not an HTTP/2 port, or the deadline passed while connecting), as
 * opposed to an answer such as "store unavailable".
 */
export function isConnectionFailure(err: Failure): boolean {
  return err.unreached === true;
}

/** Turns a failed call into an HfiClientError with a message a person can act on. */
export function toClientError(err: unknown, server: string, timeoutMs: number): HfiClientError {
  if (err instanceof HfiClientError) return err;
  const e = err as Failure;
  if (typeof e?.code !== "number") {
    return new HfiClientError("UNKNOWN", e instanceof Error ? e.message : String(err), [], server);
  }
  const code = codeName(e.code);
  if (isConnectionFailure(e)) {
    return new HfiClientError(
      code,
      `cannot reach the HFI server at ${server} (${e.details || code}): is \`hfi server\` running? check --server/HFI_SERVER`,
      [],
      server,
    );
  }
  if (e.code === STATUS.DEADLINE_EXCEEDED) {
    return new HfiClientError(
      code,
      `the HFI server at ${server} did not answer within ${timeoutMs} ms (raise --timeout or check the server)`,
      [],
      server,
    );
  }
  if (e.code === STATUS.UNAUTHENTICATED || e.code === STATUS.PERMISSION_DENIED) {
    return new HfiClientError(
      code,
      `${e.details || code} (check --token/HFI_TOKEN)`,
      [],
      server,
    );
  }
  if (e.code === STATUS.UNAVAILABLE) {
    return new HfiClientError(code, `the HFI server at ${server} is unavailable: ${e.details || code}`, [], server);
  }
  return new HfiClientError(code, e.details || code, fieldErrorsOf(e), server);
}
