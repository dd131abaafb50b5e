// match.source: the calling workload of an inbound request, as the proxy
// knows it from the downstream connection — the SPIFFE principal of the
// caller's mTLS certificate, and Istio's peer metadata (service, namespace).
// docs/policy.md ("Caller matching") says which Envoy properties hold what.
import type { SourceMatchOut } from "../proto/types.ts";
import type { FaultCheck } from "./fault-kinds.ts";
import { LIMITS } from "./limits.ts";
import { RFC1123_LABEL, SERVICE_NAME } from "./names.ts";

const SPIFFE = "spiffe://";
const PRINCIPAL_MAX_BYTES = 1024;

/** Validates and normalises in place ("*" = any → "", spiffe:// dropped); `at` is the path of the source field. */
export function validateSourceMatch(s: SourceMatchOut, at: string, c: FaultCheck): void {
  if (s.service === "*") s.service = "";
  if (s.namespace === "*") s.namespace = "";
  if (s.principal.startsWith(SPIFFE)) s.principal = s.principal.slice(SPIFFE.length);
  if (s.service !== "" && (s.service.length > LIMITS.selectorServiceMaxLength || !SERVICE_NAME.test(s.service)))
    c.err(`${at}.service`, `must be "*" or a workload name (letters, digits, '-', '_', '.', at most ${LIMITS.selectorServiceMaxLength} characters)`);
  if (s.namespace !== "" && (s.namespace.length > LIMITS.nameMaxLength || !RFC1123_LABEL.test(s.namespace)))
    c.err(`${at}.namespace`, `must be "*" or an RFC 1123 label (a-z, 0-9, '-', at most 63 characters)`);
  if (s.principal !== "") {
    if (Buffer.byteLength(s.principal) > PRINCIPAL_MAX_BYTES || /[\s\0-\x1f]/.test(s.principal))
      c.err(`${at}.principal`, `must be a SPIFFE identity such as cluster.local/ns/demo/sa/checkout (no whitespace, at most ${PRINCIPAL_MAX_BYTES} bytes)`);
    else if (s.service !== "" || s.namespace !== "")
      c.err(`${at}.principal`, "conflicts with service/namespace (match the caller by one or the other)");
  } else if (s.service === "" && s.namespace === "" && !c.hasError(`${at}.service`) && !c.hasError(`${at}.namespace`))
    c.err(at, "must set service, namespace or principal");
}

/** "from checkout.demo", "from *.demo", "from principal cluster.local/ns/demo/sa/checkout". */
export function sourceMatchText(s: SourceMatchOut): string {
  if (s.principal) return `from principal ${s.principal}`;
  return `from ${s.service || "*"}.${s.namespace || "*"}`;
}
