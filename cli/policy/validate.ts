// Local validation before anything is sent: the server's own parser
// (policy/), so the rules and messages are the server's. Every problem
// is named "SOURCE[doc N]: field.path: reason".
import { parsePolicyDocuments, parsePolicyInput, type FieldError } from "../../policy/index.ts";
import type { PolicyOut } from "../../proto/types.ts";
import { policyDocument } from "./document.ts";
import type { Source } from "./input.ts";

export interface ValidPolicy {
  /** "FILE[doc N]". */
  where: string;
  policy: PolicyOut;
}

export interface FaultOverrides {
  durationSeconds?: number;
  startDelayMs?: number;
}

const fmt = (where: string, errors: FieldError[]): string[] => errors.map((e) => `${where}: ${e.path}: ${e.reason}`);

/** Sets the overrides on every rule's fault, then validates again (an override can break a limit). */
function withOverrides(p: PolicyOut, o: FaultOverrides): { ok: true; policy: PolicyOut } | { ok: false; errors: FieldError[] } {
  if (o.durationSeconds === undefined && o.startDelayMs === undefined) return { ok: true, policy: p };
  const doc = policyDocument(p, { withStatus: false }) as {
    spec: { rules?: { fault?: Record<string, unknown> }[] };
  };
  for (const rule of doc.spec.rules ?? []) {
    rule.fault ??= {};
    if (o.durationSeconds !== undefined) rule.fault.duration_seconds = o.durationSeconds;
    if (o.startDelayMs !== undefined) rule.fault.start_delay_ms = o.startDelayMs;
  }
  return parsePolicyInput(doc);
}

/** All valid policies, or every problem found (then nothing may be applied). */
export function validateSources(
  sources: Source[],
  overrides: FaultOverrides = {},
): { policies: ValidPolicy[]; errors: string[] } {
  const policies: ValidPolicy[] = [];
  const errors: string[] = [];
  const seen = new Map<string, string>();
  for (const src of sources) {
    const docs = parsePolicyDocuments(src.text, src.name);
    docs.forEach((d) => {
      const where = `${src.name}[doc ${d.index + 1}]`;
      if (!d.ok) {
        errors.push(...fmt(where, d.errors));
        return;
      }
      const r = withOverrides(d.policy, overrides);
      if (!r.ok) {
        errors.push(...fmt(where, r.errors));
        return;
      }
      const name = r.policy.metadata?.name ?? "";
      const first = seen.get(name);
      if (first) {
        errors.push(`${where}: metadata.name: "${name}" is also defined in ${first}`);
        return;
      }
      seen.set(name, where);
      policies.push({ where, policy: r.policy });
    });
  }
  return { policies, errors };
}
