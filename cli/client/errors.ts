// Errors of the typed client: one class carrying the gRPC status name, the
// server's message and, for validation failures, the field errors.
import * as grpc from "@grpc/grpc-js";
import type { FieldError } from "../../policy/model.ts";

/** gRPC status code names ("INVALID_ARGUMENT", "NOT_FOUND", ...). */
export type GrpcCodeName = keyof typeof grpc.status;

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
    readonly grpcCode: number = grpc.status[code],
  ) {
    super(message);
    this.name = "HfiClientError";
  }
}

function codeName(code: number): GrpcCodeName {
  const name = grpc.status[code] as GrpcCodeName | undefined;
  return name ?? "UNKNOWN";
}

// One "<field.path>: <reason>" per problem, the form every HFI validation error takes.
const FIELD_ERROR_RE = /^([A-Za-z_][\w]*(?:\[\d+\]|\.[A-Za-z_][\w]*|\["[^"]*"\])*): (.+)$/s;

/** Field errors from a status: the structured metadata when the server sends it, else parsed from the message. */
export function fieldErrorsOf(err: grpc.ServiceError): FieldError[] {
  if (err.code !== grpc.status.INVALID_ARGUMENT) return [];
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
 * Whether a status means the server could not be reached at all, as opposed
 * to an answer such as "store unavailable" (grpc-js's own wordings).
 */
const TRANSPORT_FAILURE = /^(No connection established|Name resolution failed|Connection dropped|Failed to connect|Connection closed|read ECONN|write ECONN|Received RST_STREAM|connect ECONN)/i;

export function isConnectionFailure(err: grpc.ServiceError): boolean {
  if (err.code === grpc.status.UNAVAILABLE) return TRANSPORT_FAILURE.test(err.details ?? "");
  // A deadline that passed before any connection was made.
  return err.code === grpc.status.DEADLINE_EXCEEDED && /waiting for|LB pick|name resolution/i.test(err.details ?? "");
}

/** "connect ECONNREFUSED 127.0.0.1:1" out of grpc-js's "No connection established. Last error: Error: ... Resolution note: ". */
function connectionDetail(details: string): string {
  const m = /Last error: (?:Error: )?(.*?)\.?(?:\s*Resolution note:.*)?$/s.exec(details);
  return (m ? m[1]! : details).trim();
}

/** Turns a grpc-js error into an HfiClientError with a message a person can act on. */
export function toClientError(err: unknown, server: string, timeoutMs: number): HfiClientError {
  if (err instanceof HfiClientError) return err;
  const e = err as grpc.ServiceError;
  if (typeof e?.code !== "number") {
    return new HfiClientError("UNKNOWN", e instanceof Error ? e.message : String(err), [], server);
  }
  const code = codeName(e.code);
  if (isConnectionFailure(e)) {
    return new HfiClientError(
      code,
      `cannot reach the HFI server at ${server} (${connectionDetail(e.details) || code}): is \`hfi server\` running? check --server/HFI_SERVER`,
      [],
      server,
    );
  }
  if (e.code === grpc.status.DEADLINE_EXCEEDED) {
    return new HfiClientError(
      code,
      `the HFI server at ${server} did not answer within ${timeoutMs} ms (raise --timeout or check the server)`,
      [],
      server,
    );
  }
  if (e.code === grpc.status.UNAUTHENTICATED || e.code === grpc.status.PERMISSION_DENIED) {
    return new HfiClientError(
      code,
      `${e.details || code} (check --token/HFI_TOKEN)`,
      [],
      server,
    );
  }
  if (e.code === grpc.status.UNAVAILABLE) {
    return new HfiClientError(code, `the HFI server at ${server} is unavailable: ${e.details || code}`, [], server);
  }
  return new HfiClientError(code, e.details || code, fieldErrorsOf(e), server);
}
