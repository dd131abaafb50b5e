// The server's duration limit (--max-duration / --default-duration): so that
// no fault runs forever by accident. Checked after validation, on the
// normalised policy: a rule over the maximum is rejected naming its field; a
// rule without duration_seconds gets the default.
import type { PolicyOut } from "../proto/loader.ts";
import { PolicyValidationError, type FieldError } from "../policy/index.ts";

export interface DurationLimit {
  maxSeconds: number;
  defaultSeconds: number;
}

/** Returns the policy with defaults filled in; throws when a rule is over the maximum. */
export function enforceDurationLimit(policy: PolicyOut, limit: DurationLimit | undefined): PolicyOut {
  if (!limit) return policy;
  const errors: FieldError[] = [];
  const rules = (policy.spec?.rules ?? []).map((r, i) => {
    const d = r.fault?.durationSeconds ?? 0;
    if (d > limit.maxSeconds) {
      errors.push({
        path: `spec.rules[${i}].fault.duration_seconds`,
        reason: `must be at most ${limit.maxSeconds} (the server's --max-duration)`,
      });
    }
    return d === 0 && r.fault ? { ...r, fault: { ...r.fault, durationSeconds: limit.defaultSeconds } } : r;
  });
  if (errors.length) throw new PolicyValidationError(errors);
  return { ...policy, spec: { ...policy.spec!, rules } };
}

export function durationLimitOf(c: { maxDurationSeconds?: number; defaultDurationSeconds?: number }): DurationLimit | undefined {
  if (c.maxDurationSeconds === undefined) return undefined;
  return { maxSeconds: c.maxDurationSeconds, defaultSeconds: c.defaultDurationSeconds ?? c.maxDurationSeconds };
}
