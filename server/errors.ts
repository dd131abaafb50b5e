// One mapping of domain errors to gRPC status codes and HTTP statuses, so
// both APIs report the same failure the same way.
import * as grpc from "@grpc/grpc-js";
import { StoreError } from "./store/types.ts";
import { PolicyValidationError, type FieldError } from "../policy/index.ts";

/** An error answered to a client: gRPC code, HTTP status, message, optional field errors. */
export class ApiError extends Error {
  constructor(
    readonly grpcCode: grpc.status,
    readonly httpStatus: number,
    message: string,
    readonly fieldErrors?: FieldError[],
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const STORE_CODES: Record<StoreError["code"], [grpc.status, number]> = {
  conflict: [grpc.status.ABORTED, 409],
  already_exists: [grpc.status.ALREADY_EXISTS, 409],
  not_found: [grpc.status.NOT_FOUND, 404],
  unavailable: [grpc.status.UNAVAILABLE, 503],
  // The store's total size limit: the request is fine, the store is full.
  quota: [grpc.status.RESOURCE_EXHAUSTED, 507],
};

export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof PolicyValidationError || (err as Error)?.name === "PolicyValidationError") {
    const e = err as PolicyValidationError;
    return new ApiError(grpc.status.INVALID_ARGUMENT, 400, e.message, e.errors);
  }
  if (err instanceof StoreError || (err as Error)?.name === "StoreError") {
    const e = err as StoreError;
    const [code, http] = STORE_CODES[e.code] ?? [grpc.status.UNAVAILABLE, 503];
    return new ApiError(code, http, e.message);
  }
  return new ApiError(grpc.status.INTERNAL, 500, `internal error: ${(err as Error)?.message ?? String(err)}`);
}

export const HTTP_CODE_NAMES: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  507: "RESOURCE_EXHAUSTED",
};

/** JSON error body of the REST API. */
export function errorBody(e: ApiError): { error: string; code: string; fieldErrors?: FieldError[] } {
  const code =
    e.httpStatus === 409
      ? e.grpcCode === grpc.status.ALREADY_EXISTS
        ? "ALREADY_EXISTS"
        : "CONFLICT"
      : (HTTP_CODE_NAMES[e.httpStatus] ?? "ERROR");
  return e.fieldErrors?.length ? { error: e.message, code, fieldErrors: e.fieldErrors } : { error: e.message, code };
}

/** JSON with every non-ASCII character escaped, so it fits an ASCII metadata value. */
function asciiJson(v: unknown): string {
  return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** A grpc-js ServiceError-shaped object (field errors in trailing metadata). */
export function toGrpcError(err: unknown): Partial<grpc.StatusObject> & { code: grpc.status; details: string } {
  const e = toApiError(err);
  const metadata = new grpc.Metadata();
  if (e.fieldErrors?.length) {
    metadata.set("hfi-field-errors", asciiJson(e.fieldErrors));
    metadata.set("hfi-field-errors-bin", Buffer.from(JSON.stringify(e.fieldErrors), "utf8"));
  }
  return { code: e.grpcCode, details: e.message, metadata };
}
