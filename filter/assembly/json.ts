// A minimal JSON reader for the plugin configuration: one top-level object
// whose string and number members are returned (numbers as their text);
// other member values (bools, null, nested objects/arrays) are validated and
// skipped. Hand-written because
// the AssemblyScript JSON libraries either target old compilers
// (assemblyscript-json 1.1.0) or need a compiler transform (json-as), and both
// abort (= trap the VM) on malformed input. Never throws; errors are strings.

export let jsonError: string = "";

const MAX_DEPTH = 32;

class JsonReader {
  p: usize;
  n: i32;
  i: i32 = 0;
  err: string | null = null;
  keys: string[] = [];
  values: string[] = [];

  constructor(p: usize, n: i32) {
    this.p = p;
    this.n = n;
  }

  @inline c(): u32 {
    return this.i < this.n ? <u32>load<u8>(this.p + <usize>this.i) : 0xffffffff;
  }

  fail(msg: string): void {
    if (this.err == null) this.err = msg + " at offset " + this.i.toString();
  }

  ws(): void {
    while (this.i < this.n) {
      const ch = this.c();
      if (ch == 32 || ch == 9 || ch == 10 || ch == 13) this.i++;
      else break;
    }
  }

  hex4(): i32 {
    if (this.i + 4 > this.n) return -1;
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const ch = <u32>load<u8>(this.p + <usize>this.i + k);
      let d: i32 = -1;
      if (ch >= 48 && ch <= 57) d = <i32>(ch - 48);
      else if ((ch | 32) >= 97 && (ch | 32) <= 102) d = <i32>((ch | 32) - 87);
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    this.i += 4;
    return v;
  }

  /** Reads a string starting at '"'; returns its value (UTF-8 input decoded as such). */
  str(): string {
    this.i++; // opening quote
    const parts: string[] = [];
    let runStart = this.i;
    while (true) {
      if (this.i >= this.n) { this.fail("unterminated string"); return ""; }
      const ch = this.c();
      if (ch == 34) { // closing quote
        parts.push(String.UTF8.decodeUnsafe(this.p + <usize>runStart, <usize>(this.i - runStart)));
        this.i++;
        break;
      }
      if (ch < 32) { this.fail("control character in string"); return ""; }
      if (ch == 92) {
        parts.push(String.UTF8.decodeUnsafe(this.p + <usize>runStart, <usize>(this.i - runStart)));
        this.i++;
        const e = this.c();
        this.i++;
        if (e == 34) parts.push("\"");
        else if (e == 92) parts.push("\\");
        else if (e == 47) parts.push("/");
        else if (e == 98) parts.push("\b");
        else if (e == 102) parts.push("\f");
        else if (e == 110) parts.push("\n");
        else if (e == 114) parts.push("\r");
        else if (e == 116) parts.push("\t");
        else if (e == 117) {
          const u = this.hex4();
          if (u < 0) { this.fail("bad \\u escape"); return ""; }
          parts.push(String.fromCharCode(u));
        } else { this.fail("bad escape"); return ""; }
        runStart = this.i;
        continue;
      }
      this.i++;
    }
    return parts.join("");
  }

  /**
   * Reads any JSON value. String members of the top-level object (depth 1)
   * are collected into keys/values; everything else is validated and dropped.
   */
  value(depth: i32): void {
    if (depth > MAX_DEPTH) { this.fail("nested too deeply"); return; }
    this.ws();
    const ch = this.c();
    if (ch == 34) { this.str(); return; }
    if (ch == 123 || ch == 91) { // { [
      const isObject = ch == 123;
      const close: u32 = isObject ? 125 : 93;
      this.i++;
      this.ws();
      if (this.c() == close) { this.i++; return; }
      while (this.err == null) {
        let key = "";
        if (isObject) {
          this.ws();
          if (this.c() != 34) { this.fail("expected member name"); return; }
          key = this.str();
          this.ws();
          if (this.c() != 58) { this.fail("expected ':'"); return; }
          this.i++;
          this.ws();
        }
        const first = this.c();
        if (isObject && depth == 0 && first == 34) {
          const v = this.str();
          this.keys.push(key);
          this.values.push(v);
        } else if (isObject && depth == 0 && (first == 45 || (first >= 48 && first <= 57))) {
          // Top-level numbers are kept as their text (max_active_faults: 100).
          const start = this.i;
          this.value(depth + 1);
          this.keys.push(key);
          this.values.push(String.UTF8.decodeUnsafe(this.p + <usize>start, <usize>(this.i - start)));
        } else {
          this.value(depth + 1);
        }
        this.ws();
        const d = this.c();
        if (d == 44) { this.i++; continue; }
        if (d == close) { this.i++; return; }
        this.fail("expected ',' or closing bracket");
      }
      return;
    }
    if (this.lit("true") || this.lit("false") || this.lit("null")) return;
    // number
    const start = this.i;
    while (this.i < this.n) {
      const d = this.c();
      if ((d >= 48 && d <= 57) || d == 45 || d == 43 || d == 46 || d == 101 || d == 69) this.i++;
      else break;
    }
    if (this.i == start) this.fail("unexpected character");
  }

  lit(word: string): bool {
    const len = word.length;
    if (this.i + len > this.n) return false;
    for (let k = 0; k < len; k++) {
      if (<u32>load<u8>(this.p + <usize>this.i + k) != <u32>word.charCodeAt(k)) return false;
    }
    this.i += len;
    return true;
  }
}

/** Top-level string members of a JSON object (later duplicates win). */
export class StringMembers {
  keys: string[] = [];
  values: string[] = [];

  get(key: string, dflt: string): string {
    for (let i = this.keys.length - 1; i >= 0; i--) if (this.keys[i] == key) return this.values[i];
    return dflt;
  }

  has(key: string): bool {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) return true;
    return false;
  }
}

/** Parses a top-level JSON object; returns its string members, or null with jsonError set. */
export function parseStringMembers(p: usize, n: i32): StringMembers | null {
  jsonError = "";
  const r = new JsonReader(p, n);
  r.ws();
  if (r.c() != 123) { jsonError = "configuration is not a JSON object"; return null; }
  r.value(0);
  if (r.err == null) {
    r.ws();
    if (r.i < r.n) r.fail("trailing characters");
  }
  if (r.err != null) { jsonError = r.err!; return null; }
  const out = new StringMembers();
  out.keys = r.keys;
  out.values = r.values;
  return out;
}
