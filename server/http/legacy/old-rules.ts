// The old control plane's own checks, kept on the old routes so a request it
// refused is still refused (kalahetun/Minesweeper executor/control-plane/
// service/validator.go ValidatePolicy, service/policy_service.go
// validatePolicyName / validatePolicyVersion / validateVersionUpdate).
// HFI's validation runs after them.
import type { LegacyPolicy } from "./go-structs.ts";

/** service.ValidationError: "<field>: <message>". */
export interface OldValidationError {
  field: string;
  message: string;
}

/** service.DetailedError: type, message, details map. */
export interface OldDetailedError {
  type: "validation_error";
  message: string;
  details: Record<string, unknown>;
}

const hasMatcher = (m: { exact: string; prefix: string; regex: string } | null) => !!m && (m.exact !== "" || m.prefix !== "" || m.regex !== "");

/** ValidatePolicy: the checks of every write route. */
export function validateOld(p: LegacyPolicy): OldValidationError | undefined {
  if (p.metadata.name === "") return { field: "metadata.name", message: "policy name is required" };
  const rules = p.spec.rules ?? [];
  if (rules.length === 0) return { field: "spec.rules", message: "at least one rule is required" };
  for (const [i, r] of rules.entries()) {
    const at = `spec.rules[${i}]`;
    if (!hasMatcher(r.match.method) && !hasMatcher(r.match.path) && !(r.match.headers?.length ?? 0))
      return { field: `${at}.match`, message: "at least one match condition is required" };
    const delay = !!r.fault.delay && r.fault.delay.fixed_delay_ms > 0;
    const abort = !!r.fault.abort && r.fault.abort.httpStatus > 0;
    if (!delay && !abort) return { field: `${at}.fault`, message: "at least one fault action is required" };
    if (r.fault.percentage < 0 || r.fault.percentage > 100)
      return { field: `${at}.fault.percentage`, message: "percentage must be between 0 and 100" };
  }
  return undefined;
}

const detailed = (message: string, details: Record<string, unknown>): OldDetailedError => ({ type: "validation_error", message, details });

/** validatePolicyName + validatePolicyVersion: POST /v1/policies/create only. */
export function validateForCreate(p: LegacyPolicy): OldDetailedError | undefined {
  const name = p.metadata.name;
  // Go's len() counts bytes.
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes < 3) return detailed("policy name too short", { field: "metadata.name", min_length: 3, actual_length: bytes });
  if (bytes > 63) return detailed("policy name too long", { field: "metadata.name", max_length: 63, actual_length: bytes });
  let pos = 0;
  for (const ch of name) {
    if (!/^[a-zA-Z0-9_-]$/.test(ch))
      return detailed("policy name contains invalid characters", {
        field: "metadata.name",
        invalid_char: ch,
        position: pos,
        allowed_chars: "a-z, A-Z, 0-9, -, _",
      });
    pos += Buffer.byteLength(ch, "utf8"); // Go's range index is a byte offset
  }
  if (name.startsWith("-") || name.endsWith("-"))
    return detailed("policy name cannot start or end with hyphen", { field: "metadata.name", value: name });
  return validateSemver(p.metadata.version);
}

function validateSemver(version: string): OldDetailedError | undefined {
  if (version === "") return detailed("policy version is required", { field: "metadata.version" });
  const parts = version.split(".");
  if (parts.length !== 3)
    return detailed("policy version must follow semantic versioning (x.y.z)", { field: "metadata.version", value: version, expected_format: "x.y.z" });
  for (const [i, part] of parts.entries()) {
    if (part === "") return detailed("policy version parts cannot be empty", { field: "metadata.version", value: version, empty_part_index: i });
    if (!/^[0-9]+$/.test(part))
      return detailed("policy version parts must be numeric", { field: "metadata.version", value: version, invalid_part: part, part_index: i });
  }
  return undefined;
}

/** The old parseInt: digits only, 0 otherwise (no overflow check: big parts compare as numbers). */
function part(s: string | undefined): number {
  return s !== undefined && /^[0-9]+$/.test(s) ? Number(s) : 0;
}

/** validateVersionUpdate: PUT must raise metadata.version (x.y.z) above the stored one. */
export function validateVersionUpdate(oldVersion: string, newVersion: string): OldDetailedError | undefined {
  if (oldVersion === newVersion)
    return detailed("version must be incremented for updates", { field: "metadata.version", old_version: oldVersion, new_version: newVersion });
  const o = oldVersion.split(".");
  const n = newVersion.split(".");
  if (o.length !== 3 || n.length !== 3)
    return detailed("both old and new versions must be semantic versions (x.y.z)", {
      field: "metadata.version",
      old_version: oldVersion,
      new_version: newVersion,
    });
  const [om, on, op] = o.map(part) as [number, number, number];
  const [nm, nn, np] = n.map(part) as [number, number, number];
  if (nm > om || (nm === om && nn > on) || (nm === om && nn === on && np > op)) return undefined;
  return detailed("new version must be greater than old version", {
    field: "metadata.version",
    old_version: oldVersion,
    new_version: newVersion,
    comparison: "new must be > old",
  });
}
