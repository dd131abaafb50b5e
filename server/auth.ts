// Bearer-token parsing and comparison for the management API and the config stream (server/security/access.ts).
import crypto from "node:crypto";

/** Constant-time equality (hashing first makes the lengths equal). */
export function tokenEquals(given: string, expected: string): boolean {
  const a = crypto.createHash("sha256").update(given).digest();
  const b = crypto.createHash("sha256").update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

/** The token of an `authorization: Bearer <token>` value, or undefined. */
export function bearerToken(header: string | string[] | Buffer | undefined | null): string | undefined {
  const v = Array.isArray(header) ? header[0] : Buffer.isBuffer(header) ? header.toString() : header;
  const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(v ?? "");
  return m?.[1];
}

