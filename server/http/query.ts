// Query parameters with a fixed set of values: anything else is a client
// error naming the parameter, never a silent default.
import * as grpc from "@grpc/grpc-js";
import { ApiError } from "../errors.ts";

/** `true` / `false` (absent = false) under any of `names`; other values → 400. */
export function booleanParam(params: URLSearchParams, names: string[]): boolean {
  let result = false;
  for (const name of names) {
    for (const v of params.getAll(name)) {
      if (v === "true") result = true;
      else if (v !== "false")
        throw new ApiError(grpc.status.INVALID_ARGUMENT, 400, `${name}: must be "true" or "false", got ${JSON.stringify(v)}`, [
          { path: name, reason: 'must be "true" or "false"' },
        ]);
    }
  }
  return result;
}

/** A non-negative integer under any of `names` (absent = 0); other values → 400. */
export function versionParam(params: URLSearchParams, names: string[]): number {
  let result = 0;
  for (const name of names) {
    for (const v of params.getAll(name)) {
      if (!/^\d{1,15}$/.test(v))
        throw new ApiError(grpc.status.INVALID_ARGUMENT, 400, `${name}: must be a non-negative integer, got ${JSON.stringify(v)}`, [
          { path: name, reason: "must be a non-negative integer" },
        ]);
      result = Number(v);
    }
  }
  return result;
}

/** The path with every %XX decoded; a malformed escape → 400 naming it. */
export function decodePath(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    const bad = /%(?![0-9a-fA-F]{2})..?|%[0-9a-fA-F]{2}/.exec(path)?.[0] ?? "%";
    throw new ApiError(grpc.status.INVALID_ARGUMENT, 400, `malformed percent-encoding in the request path (near ${JSON.stringify(bad)}): use %XX with two hex digits and UTF-8 bytes`, [
      { path: "path", reason: "malformed percent-encoding" },
    ]);
  }
}
