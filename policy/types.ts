// The policy module's public contract, shared by the server, the CLI (local
// validation with the same messages) and the REST routes.
import type { PolicyOut } from "../proto/loader.ts";

/** One problem with an input policy: a field path and the reason. */
export interface FieldError {
  /** e.g. "spec.rules[0].fault.percentage" (snake_case segments, as in the docs). */
  path: string;
  /** e.g. "must be between 0 and 100" */
  reason: string;
}

export class PolicyValidationError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.path}: ${e.reason}`).join("; "));
    this.name = "PolicyValidationError";
  }
}

export type ParseResult = { ok: true; policy: PolicyOut } | { ok: false; errors: FieldError[] };
