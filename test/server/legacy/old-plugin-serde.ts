// What the old Rust plugin's serde structs require of `GET /v1/policies`
// (kalahetun/Minesweeper executor/wasm-plugin/src/config.rs PoliciesResponse
// … Fault/AbortAction/DelayAction with DelayAction.fixed_delay_ms: u64 as of
// specs/010-fix-wasm-delay-bug, and src/identity.rs ServiceSelector), as a
// checker with serde_json's rules for #[derive(Deserialize)]: a non-Option
// field must be present (`missing field \`x\``) and of its type; Option<T>
// may be absent or null; #[serde(default)] fields may be absent; unknown
// fields are ignored. Returns serde_json's error text, or undefined.
type Check = (v: unknown, at: string) => string | undefined;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
/** serde's "invalid type: <what was there>, expected <what the field is>". */
function unexpected(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "sequence";
  if (typeof v === "object") return "map";
  if (typeof v === "number") return Number.isInteger(v) ? `integer \`${v}\`` : `floating point \`${v}\``;
  return `${typeof v} ${JSON.stringify(v)}`;
}
const invalid = (v: unknown, expected: string) => `invalid type: ${unexpected(v)}, expected ${expected}`;

const string: Check = (v) => (typeof v === "string" ? undefined : invalid(v, "a string"));
const unsigned = (bits: 32 | 64): Check => (v) =>
  typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= (bits === 32 ? 4294967295 : Number.MAX_SAFE_INTEGER) ? undefined : invalid(v, `u${bits}`);
const option = (inner: Check): Check => (v, at) => (v === null || v === undefined ? undefined : inner(v, at));
const vec = (inner: Check): Check => (v, at) => {
  if (!Array.isArray(v)) return invalid(v, "a sequence");
  for (const [i, e] of v.entries()) {
    const err = inner(e, `${at}[${i}]`);
    if (err) return err;
  }
  return undefined;
};
/** fields: name → [check, required]. */
const struct = (fields: Record<string, [Check, boolean]>): Check => (v, at) => {
  if (!isObj(v)) return invalid(v, "a map");
  for (const [name, [check, required]] of Object.entries(fields)) {
    if (!(name in v)) {
      if (required) return `missing field \`${name}\` at ${at}`;
      continue;
    }
    const err = check(v[name], `${at}.${name}`);
    if (err) return `${err} at ${at}.${name}`;
  }
  return undefined;
};

const matcher = struct({ prefix: [option(string), false], exact: [option(string), false], regex: [option(string), false] });
const header = struct({ name: [string, true], exact: [option(string), false], prefix: [option(string), false], regex: [option(string), false] });
const fault = struct({
  abort: [option(struct({ httpStatus: [unsigned(32), true], body: [option(string), false] })), false],
  delay: [option(struct({ fixed_delay_ms: [unsigned(64), true] })), false],
  percentage: [unsigned(32), true],
  start_delay_ms: [unsigned(32), false],
  duration_seconds: [unsigned(32), false],
});
const policiesResponse = struct({
  policies: [
    vec(
      struct({
        metadata: [struct({ name: [string, true] }), true],
        spec: [
          struct({
            selector: [option(struct({ service: [string, false], namespace: [string, false] })), false],
            rules: [vec(struct({ match: [struct({ path: [option(matcher), false], method: [option(matcher), false], headers: [option(vec(header)), false] }), true], fault: [fault, true] })), true],
          }),
          true,
        ],
      }),
    ),
    true,
  ],
});

/** serde_json::from_slice::<PoliciesResponse>(body): the error, or undefined when it parses. */
export function oldPluginParseError(body: string): string | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch (err) {
    return String(err);
  }
  return policiesResponse(v, "$");
}
