// The gRPC status codes by name and number (the gRPC spec's table, as
// grpc-js's `status` enum; kept here so the client loads no gRPC library).
export const STATUS_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

/** gRPC status code names ("INVALID_ARGUMENT", "NOT_FOUND", ...). */
export type GrpcCodeName = (typeof STATUS_NAMES)[number];

/** Both directions, as a TypeScript numeric enum: STATUS.NOT_FOUND === 5, STATUS[5] === "NOT_FOUND". */
export const STATUS = Object.freeze(
  Object.assign(
    Object.fromEntries(STATUS_NAMES.map((n, i) => [n, i])) as { readonly [K in GrpcCodeName]: number },
    Object.fromEntries(STATUS_NAMES.map((n, i) => [i, n])) as { readonly [code: number]: GrpcCodeName | undefined },
  ),
);
