// The filter's AssemblyScript Pike VM (HFI regex subset) against a table of
// cases, and against the server's reference implementation
// (policy/regex.ts compileHfiRegex) with generated patterns: both must
// accept/reject the same patterns and agree on every match.
import { test } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { compileHfiRegex, HfiRegexError } from "../../policy/index.ts";
import { loadTestEntry, outputText, withBytes as withBytesIn, type TestEntryExports } from "./test-wasm.ts";

interface TestExports extends TestEntryExports {
  regexCompile(p: number, n: number): number;
  regexMatch(h: number, p: number, n: number): number;
  regexReset(): void;
}

const wasm = loadTestEntry<TestExports>();
const withBytes = <T>(s: string | Uint8Array, fn: (p: number, n: number) => T): T => withBytesIn(wasm, s, fn);

/** Compiles in the filter: a matcher, or the error reason. */
function filterRegex(pattern: string): ((input: string | Uint8Array) => boolean) | string {
  wasm.regexReset();
  const h = withBytes(pattern, (p, n) => wasm.regexCompile(p, n));
  if (h < 0) return outputText(wasm);
  return (input) => {
    const r = withBytes(input, (p, n) => wasm.regexMatch(h, p, n));
    assert.ok(r === 0 || r === 1);
    return r === 1;
  };
}

function referenceRegex(pattern: string): ((input: string | Uint8Array) => boolean) | string {
  try {
    const re = compileHfiRegex(pattern);
    return (input) => re.test(input);
  } catch (e) {
    if (e instanceof HfiRegexError) return e.reason;
    throw e;
  }
}

const MATCHES: [string, string[], string[]][] = [
  // pattern, inputs that match, inputs that do not
  ["abc", ["abc", "xxabcxx"], ["ab", "acb", ""]],
  ["^abc$", ["abc"], ["abcd", "xabc", "ab\nc"]],
  ["^/api/v[0-9]+/users", ["/api/v1/users", "/api/v12/users/7"], ["/api/v/users", "x/api/v1/users"]],
  ["a.c", ["abc", "a-c", "axc"], ["a\nc", "ac"]],
  ["^.$", ["a", "\u0000"], ["é", "", "ab"]], // `.` is one byte: é is two
  ["^..$", ["é"], ["a"]],
  ["é+$", ["éé", "xé"], ["e", "é!"]],
  ["[abc]+x", ["aabx", "cx"], ["dx", "x"]],
  ["[^abc]", ["d", "abcd", "é"], ["abc", ""]],
  ["[a-cx-z]{2}", ["ay", "zz"], ["ad", "a"]],
  ["[]a]", ["]", "a"], ["b"]],
  ["[a-]", ["-", "a"], ["b"]],
  ["\\d{3}-\\d{4}", ["555-1234"], ["55-1234", "abc-defg"]],
  ["^\\D+$", ["abc", "é"], ["a1"]],
  ["^\\w+$", ["foo_Bar9"], ["foo-bar", ""]],
  ["\\W", ["a-b", "a b"], ["ab_9"]],
  ["^\\s*$", ["", " \t\r\n\u000b\u000c"], [" x "]],
  ["\\S", ["x"], [" ", ""]],
  ["a\\.b\\*c\\[\\]\\(\\)\\{\\}\\|\\^\\$\\\\", ["a.b*c[](){}|^$\\"], ["axb*c[](){}|^$\\"]],
  ["\\t\\n\\r", ["\t\n\r"], ["tnr"]],
  ["(GET|POST) /", ["GET /", "POST /x"], ["PUT /"]],
  ["^(?:ab|cd)*$", ["", "ab", "abcdab"], ["abc", "ac"]],
  ["^(a|b)?c$", ["c", "ac", "bc"], ["abc"]],
  ["^a{2,3}$", ["aa", "aaa"], ["a", "aaaa"]],
  ["^a{2,}$", ["aa", "aaaaaaa"], ["a"]],
  ["^a{0}b$", ["b"], ["ab"]],
  ["^a*?b+?$", ["b", "aabb"], ["aa"]],
  ["x{", ["x{"], ["x"]],
  ["x{a}", ["x{a}"], ["xa"]],
  ["a{,2}", ["a{,2}"], ["aa"]],
  ["^$", [""], ["a"]],
  ["", ["", "anything"], []],
  ["a|", ["", "b"], []],
  ["()*x", ["x"], ["y"]],
  ["(a*)*b", ["b", "aaab"], ["aaaa"]],
  ["^(a+)+$", ["a".repeat(5000)], ["a".repeat(5000) + "!"]], // no backtracking blow-up
  ["(x+x+)+y", ["xxxy"], ["x".repeat(3000)]],
  ["^[\\d\\s]+$", ["1 2\t3"], ["1a"]],
  ["[\\]]", ["]"], ["a"]],
];

test("matches the table of cases", () => {
  for (const [pattern, yes, no] of MATCHES) {
    const re = filterRegex(pattern);
    assert.type(re, "function", `${pattern}: ${re}`);
    const m = re as (s: string) => boolean;
    for (const s of yes) assert.ok(m(s), `${JSON.stringify(pattern)} should match ${JSON.stringify(s)}`);
    for (const s of no) assert.not.ok(m(s), `${JSON.stringify(pattern)} should not match ${JSON.stringify(s)}`);
  }
});

const REJECTED: [string, string][] = [
  ["(a", "missing )"],
  ["a)", "unbalanced )"],
  ["[abc", "missing ]"],
  ["a]", "unbalanced brackets"],
  ["*a", "nothing to repeat"],
  ["a**", "nothing to repeat"],
  ["a{2}{3}", "nothing to repeat"],
  ["^*", "nothing to repeat"],
  ["{2}", "nothing to repeat"],
  ["a*+", "possessive"],
  ["a++", "possessive"],
  ["a?+", "possessive"],
  ["(a)\\1", "backreferences"],
  ["(?=a)", "lookahead"],
  ["(?!a)", "lookahead"],
  ["(?<=a)b", "lookbehind"],
  ["(?<!a)b", "lookbehind"],
  ["(?<name>a)", "named groups"],
  ["(?P<name>a)", "named groups"],
  ["(?>a)", "atomic groups"],
  ["(?i)abc", "inline flags"],
  ["\\bword\\b", "word boundaries"],
  ["\\Bx", "word boundaries"],
  ["\\p{L}", "property"],
  ["\\u0041", "\\u and \\x"],
  ["\\x41", "\\u and \\x"],
  ["\\q", "unsupported escape"],
  ["abc\\", "trailing backslash"],
  ["[z-a]", "out of order"],
  ["[\\d-z]", "invalid class range"],
  ["[a-\\w]", "invalid class range"],
  ["[é]", "non-ASCII"],
  ["a{101}", "above 100"],
  ["a{3,2}", "out of order"],
  ["a".repeat(257), "longer than 256"],
  ["(((a{100}){100}){100})", "too complex"],
];

test("rejects everything outside the subset, with a reason", () => {
  for (const [pattern, reason] of REJECTED) {
    const re = filterRegex(pattern);
    assert.type(re, "string", `${pattern} should be rejected`);
    assert.ok((re as string).includes(reason), `${pattern}: "${re}" should mention "${reason}"`);
  }
  assert.type(filterRegex("é".repeat(256)), "function", "256 characters (512 bytes) are allowed");
});

test("accepts and rejects the same patterns as the server's reference", () => {
  for (const [pattern] of [...MATCHES, ...REJECTED]) {
    const mine = filterRegex(pattern);
    const ref = referenceRegex(pattern);
    if (typeof ref === "string" && ref.includes("too complex")) continue; // the server's cap is lower
    assert.is(typeof mine, typeof ref, `${JSON.stringify(pattern)}: filter ${typeof mine === "string" ? mine : "ok"}, server ${typeof ref === "string" ? ref : "ok"}`);
  }
});

// Generated patterns over a small alphabet, so matches are frequent.
const pattern: fc.Arbitrary<string> = fc.letrec<{ re: string; atom: string }>((tie) => ({
  atom: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom("a", "b", "c", ".", "é", "\\d", "\\w", "\\s", "\\D", "\\.", "[ab]", "[^a]", "[a-c]", "[\\d.]", "-", "1"),
    tie("re").map((r) => `(${r})`),
    tie("re").map((r) => `(?:${r})`),
  ),
  re: fc.oneof(
    { depthSize: "small" },
    tie("atom"),
    fc.tuple(tie("atom"), fc.constantFrom("*", "+", "?", "{2}", "{0,2}", "{1,}", "*?", "+?")).map(([a, q]) => a + q),
    fc.tuple(tie("re"), tie("re")).map(([a, b]) => a + b),
    fc.tuple(tie("re"), tie("re")).map(([a, b]) => `${a}|${b}`),
    tie("re").map((r) => `^${r}`),
    tie("re").map((r) => `${r}$`),
  ),
})).re;

const input = fc.string({ unit: fc.constantFrom("a", "b", "c", "1", " ", ".", "-", "é", "\n"), maxLength: 12 });

test("fuzz: agrees with the server's reference on generated patterns and inputs", () => {
  fc.assert(
    fc.property(pattern, fc.array(input, { minLength: 1, maxLength: 8 }), (p, inputs) => {
      const mine = filterRegex(p);
      const ref = referenceRegex(p);
      if (typeof ref === "string" && ref.includes("too complex")) return true;
      assert.is(typeof mine, typeof ref, `${JSON.stringify(p)}: filter=${mine}, server=${ref}`);
      if (typeof mine === "function" && typeof ref === "function") {
        for (const s of inputs) assert.is(mine(s), ref(s), `${JSON.stringify(p)} on ${JSON.stringify(s)}`);
      }
      return true;
    }),
    { numRuns: 1500 },
  );
});

test("fuzz: arbitrary pattern text is accepted or rejected the same way, never traps", () => {
  const chars = fc.constantFrom(..."ab()[]{}|*+?^$\\.-,0123:=!<>PdwsbuxDé ".split(""));
  fc.assert(
    fc.property(fc.string({ unit: chars, maxLength: 16 }), input, (p, s) => {
      const mine = filterRegex(p);
      const ref = referenceRegex(p);
      if (typeof ref === "string" && ref.includes("too complex")) return true;
      assert.is(typeof mine, typeof ref, `${JSON.stringify(p)}: filter=${mine}, server=${ref}`);
      if (typeof mine === "function" && typeof ref === "function") assert.is(mine(s), ref(s), `${JSON.stringify(p)} on ${JSON.stringify(s)}`);
      return true;
    }),
    { numRuns: 4000 },
  );
});

test("fuzz: arbitrary bytes as input never trap", () => {
  const m = filterRegex("^(a|b)*[^x]{2,5}\\d?$") as (b: Uint8Array) => boolean;
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => typeof m(b) === "boolean"), { numRuns: 1000 });
});

test.run();
