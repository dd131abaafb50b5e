// The HFI regex subset: a linear-time dialect the server validates and the
// filter evaluates with an NFA. This module is the reference: it parses a
// pattern (rejecting everything outside the subset with a reason) and can
// evaluate it with a Pike VM over the UTF-8 bytes of the input. JS RegExp is
// deliberately not used: it backtracks and has different semantics.
//
// Semantics (see README.md, "HFI regex"): unanchored search unless ^/$ are used; ^ is
// the start of the input and $ its end (no multi-line mode); `.` is any byte
// except "\n"; classes and negated classes match ONE byte (ASCII ranges only
// may be written); a non-ASCII literal matches its UTF-8 byte sequence.

export const REGEX_MAX_LENGTH = 256;
export const REGEX_MAX_REPEAT = 100;
/** Upper bound on the compiled program (after expanding {n,m}); keeps the filter's per-byte cost bounded. */
export const REGEX_MAX_PROGRAM = 2000;

export class HfiRegexError extends Error {
  constructor(
    readonly reason: string,
    readonly position: number,
  ) {
    super(reason);
    this.name = "HfiRegexError";
  }
}

type ByteSet = Uint8Array; // 256 entries, 1 = member

type Node =
  | { t: "empty" }
  | { t: "set"; set: ByteSet }
  | { t: "cat"; items: Node[] }
  | { t: "alt"; items: Node[] }
  | { t: "rep"; node: Node; min: number; max: number /* -1 = unbounded */ }
  | { t: "bol" }
  | { t: "eol" };

const PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

function setOf(...bytes: number[]): ByteSet {
  const s = new Uint8Array(256);
  for (const b of bytes) s[b] = 1;
  return s;
}
function setRange(s: ByteSet, lo: number, hi: number): ByteSet {
  for (let b = lo; b <= hi; b++) s[b] = 1;
  return s;
}
function negate(s: ByteSet): ByteSet {
  const n = new Uint8Array(256);
  for (let b = 0; b < 256; b++) n[b] = s[b] ? 0 : 1;
  return n;
}
function union(into: ByteSet, from: ByteSet): void {
  for (let b = 0; b < 256; b++) if (from[b]) into[b] = 1;
}

const DIGIT = setRange(new Uint8Array(256), 0x30, 0x39);
const WORD = (() => {
  const s = setRange(setRange(setRange(new Uint8Array(256), 0x30, 0x39), 0x41, 0x5a), 0x61, 0x7a);
  s[0x5f] = 1;
  return s;
})();
const SPACE = setOf(0x20, 0x09, 0x0a, 0x0d, 0x0c, 0x0b);
const ANY_BUT_NL = negate(setOf(0x0a));

/** A class escape (\d \w \s and negations) or a single-byte escape, or an error. */
function escapeSet(c: string, pos: number, inClass: boolean): { set: ByteSet; single?: number } {
  switch (c) {
    case "d":
      return { set: DIGIT };
    case "D":
      return { set: negate(DIGIT) };
    case "w":
      return { set: WORD };
    case "W":
      return { set: negate(WORD) };
    case "s":
      return { set: SPACE };
    case "S":
      return { set: negate(SPACE) };
    case "t":
      return { set: setOf(0x09), single: 0x09 };
    case "n":
      return { set: setOf(0x0a), single: 0x0a };
    case "r":
      return { set: setOf(0x0d), single: 0x0d };
  }
  if (c >= "1" && c <= "9") throw new HfiRegexError("backreferences are not supported (linear-time subset)", pos);
  if (c === "b" || c === "B") {
    if (inClass && c === "b") throw new HfiRegexError("\\b inside a class is not supported", pos);
    throw new HfiRegexError("word boundaries (\\b, \\B) are not supported", pos);
  }
  if (c === "p" || c === "P") throw new HfiRegexError("Unicode classes (\\p, \\P) are not supported", pos);
  if (c === "u" || c === "x")
    throw new HfiRegexError(`\\${c} escapes are not supported (write the character itself)`, pos);
  if (c !== "" && PUNCT.includes(c)) {
    const b = c.charCodeAt(0);
    return { set: setOf(b), single: b };
  }
  if (c === "") throw new HfiRegexError("trailing backslash", pos);
  throw new HfiRegexError(`unsupported escape \\${c}`, pos);
}

class Parser {
  private pos = 0;
  constructor(private readonly src: string) {}

  parse(): Node {
    const node = this.alt(0);
    if (this.pos < this.src.length) {
      // Only a stray ")" stops alt() at depth 0.
      throw new HfiRegexError("unbalanced parentheses: unexpected ')'", this.pos);
    }
    return node;
  }

  private peek(off = 0): string {
    return this.src.charAt(this.pos + off);
  }

  private alt(depth: number): Node {
    const items = [this.cat(depth)];
    while (this.peek() === "|") {
      this.pos++;
      items.push(this.cat(depth));
    }
    return items.length === 1 ? items[0]! : { t: "alt", items };
  }

  private cat(depth: number): Node {
    const items: Node[] = [];
    while (this.pos < this.src.length) {
      const c = this.peek();
      if (c === "|") break;
      if (c === ")") {
        if (depth === 0) throw new HfiRegexError("unbalanced parentheses: unexpected ')'", this.pos);
        break;
      }
      items.push(this.repeat(depth));
    }
    if (items.length === 0) return { t: "empty" };
    return items.length === 1 ? items[0]! : { t: "cat", items };
  }

  /** Parses {n}, {n,}, {n,m} at pos; undefined (pos unchanged) when it is not one. */
  private braces(): { min: number; max: number; end: number } | undefined {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
    if (!m) return undefined;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? -1 : Number(m[3]);
    if (min > REGEX_MAX_REPEAT || max > REGEX_MAX_REPEAT)
      throw new HfiRegexError(`repetition count must be at most ${REGEX_MAX_REPEAT}`, this.pos);
    if (max !== -1 && max < min) throw new HfiRegexError(`invalid repetition range ${m[0]}`, this.pos);
    return { min, max, end: this.pos + m[0].length };
  }

  private quantifier(): { min: number; max: number } | undefined {
    const c = this.peek();
    if (c === "*") return this.pos++, { min: 0, max: -1 };
    if (c === "+") return this.pos++, { min: 1, max: -1 };
    if (c === "?") return this.pos++, { min: 0, max: 1 };
    if (c === "{") {
      const b = this.braces();
      if (b) {
        this.pos = b.end;
        return { min: b.min, max: b.max };
      }
    }
    return undefined;
  }

  private repeat(depth: number): Node {
    const start = this.pos;
    const atom = this.atom(depth);
    const q = this.quantifier();
    if (!q) return atom;
    if (atom.t === "bol" || atom.t === "eol") throw new HfiRegexError("nothing to repeat", start);
    if (this.peek() === "?") this.pos++; // lazy: same match/no-match result
    else if (this.peek() === "+")
      throw new HfiRegexError("possessive quantifiers (*+, ++, ?+) are not supported", this.pos);
    const save = this.pos;
    if (this.quantifier()) {
      this.pos = save;
      throw new HfiRegexError("nested quantifier: wrap the repeated part in (?:...) first", save);
    }
    return { t: "rep", node: atom, min: q.min, max: q.max };
  }

  private atom(depth: number): Node {
    const at = this.pos;
    const c = this.peek();
    switch (c) {
      case "(":
        return this.group(depth);
      case "[":
        return this.klass();
      case "]":
        throw new HfiRegexError("unbalanced brackets: unexpected ']' (escape it as \\])", at);
      case "*":
      case "+":
      case "?":
        throw new HfiRegexError("nothing to repeat", at);
      case "{":
        if (this.braces()) throw new HfiRegexError("nothing to repeat", at);
        this.pos++;
        return { t: "set", set: setOf(0x7b) };
      case ".":
        this.pos++;
        return { t: "set", set: ANY_BUT_NL };
      case "^":
        this.pos++;
        return { t: "bol" };
      case "$":
        this.pos++;
        return { t: "eol" };
      case "\\": {
        const e = this.peek(1);
        this.pos += 2;
        return { t: "set", set: escapeSet(e, at, false).set };
      }
    }
    // A literal character: its UTF-8 bytes in sequence.
    const cp = this.src.codePointAt(this.pos)!;
    const ch = String.fromCodePoint(cp);
    this.pos += ch.length;
    const bytes = new TextEncoder().encode(ch);
    if (bytes.length === 1) return { t: "set", set: setOf(bytes[0]!) };
    return { t: "cat", items: [...bytes].map((b) => ({ t: "set", set: setOf(b) }) as Node) };
  }

  private group(depth: number): Node {
    const at = this.pos;
    this.pos++;
    if (this.peek() === "?") {
      const rest = this.src.slice(this.pos + 1);
      if (rest.startsWith(":")) this.pos += 2;
      else if (rest.startsWith("=") || rest.startsWith("!") || rest.startsWith("<=") || rest.startsWith("<!"))
        throw new HfiRegexError("lookahead and lookbehind are not supported (linear-time subset)", at);
      else if (rest.startsWith("<") || rest.startsWith("P<") || rest.startsWith("'"))
        throw new HfiRegexError("named groups are not supported (use (...) or (?:...))", at);
      else if (rest.startsWith(">")) throw new HfiRegexError("atomic groups are not supported", at);
      else if (/^[a-zA-Z-]/.test(rest)) throw new HfiRegexError("inline flags such as (?i) are not supported", at);
      else throw new HfiRegexError("unsupported group syntax (?", at);
    }
    const inner = this.alt(depth + 1);
    if (this.peek() !== ")") throw new HfiRegexError("unbalanced parentheses: missing ')'", at);
    this.pos++;
    return inner;
  }

  private klass(): Node {
    const at = this.pos;
    this.pos++;
    let negated = false;
    if (this.peek() === "^") {
      negated = true;
      this.pos++;
    }
    const set = new Uint8Array(256);
    let first = true;
    for (;;) {
      if (this.pos >= this.src.length) throw new HfiRegexError("unbalanced brackets: missing ']'", at);
      const c = this.peek();
      if (c === "]" && !first) {
        this.pos++;
        break;
      }
      first = false;
      const lo = this.classItem();
      if (this.peek() === "-" && this.peek(1) !== "]" && this.pos + 1 < this.src.length) {
        const dash = this.pos;
        this.pos++;
        const hi = this.classItem();
        if (lo.single === undefined || hi.single === undefined)
          throw new HfiRegexError("invalid class range (a class escape cannot be a range end)", dash);
        if (hi.single < lo.single)
          throw new HfiRegexError(
            `invalid class range ${String.fromCharCode(lo.single)}-${String.fromCharCode(hi.single)}`,
            dash,
          );
        setRange(set, lo.single, hi.single);
      } else {
        union(set, lo.set);
      }
    }
    return { t: "set", set: negated ? negate(set) : set };
  }

  private classItem(): { set: ByteSet; single?: number } {
    const at = this.pos;
    const c = this.peek();
    if (c === "\\") {
      const e = this.peek(1);
      this.pos += 2;
      return escapeSet(e, at, true);
    }
    const code = c.charCodeAt(0);
    if (code > 0x7f) throw new HfiRegexError("non-ASCII characters in classes are not supported", at);
    this.pos++;
    return { set: setOf(code), single: code };
  }
}

// ---- compilation to a Pike VM program ----

const enum Op {
  Byte,
  Split,
  Jmp,
  Match,
  Bol,
  Eol,
}
type Inst =
  | { op: Op.Byte; set: ByteSet }
  | { op: Op.Split; x: number; y: number }
  | { op: Op.Jmp; x: number }
  | { op: Op.Match }
  | { op: Op.Bol }
  | { op: Op.Eol };

class Compiler {
  readonly prog: Inst[] = [];

  private emit(i: Inst): number {
    if (this.prog.length >= REGEX_MAX_PROGRAM)
      throw new HfiRegexError(`pattern is too complex (expands to more than ${REGEX_MAX_PROGRAM} NFA states)`, 0);
    this.prog.push(i);
    return this.prog.length - 1;
  }

  compile(n: Node): void {
    switch (n.t) {
      case "empty":
        return;
      case "set":
        this.emit({ op: Op.Byte, set: n.set });
        return;
      case "bol":
        this.emit({ op: Op.Bol });
        return;
      case "eol":
        this.emit({ op: Op.Eol });
        return;
      case "cat":
        for (const i of n.items) this.compile(i);
        return;
      case "alt": {
        // split L1, next; L1: a; jmp end; next: split ... ; last
        const jumps: number[] = [];
        for (let k = 0; k < n.items.length - 1; k++) {
          const split = this.emit({ op: Op.Split, x: 0, y: 0 });
          (this.prog[split] as { x: number }).x = this.prog.length;
          this.compile(n.items[k]!);
          jumps.push(this.emit({ op: Op.Jmp, x: 0 }));
          (this.prog[split] as { y: number }).y = this.prog.length;
        }
        this.compile(n.items[n.items.length - 1]!);
        for (const j of jumps) (this.prog[j] as { x: number }).x = this.prog.length;
        return;
      }
      case "rep": {
        for (let k = 0; k < n.min; k++) this.compile(n.node);
        if (n.max === -1) {
          // L: split body, end; body; jmp L
          const split = this.emit({ op: Op.Split, x: 0, y: 0 });
          (this.prog[split] as { x: number }).x = this.prog.length;
          this.compile(n.node);
          this.emit({ op: Op.Jmp, x: split });
          (this.prog[split] as { y: number }).y = this.prog.length;
        } else {
          // (x(x(x)?)?)? for the optional copies
          const splits: number[] = [];
          for (let k = n.min; k < n.max; k++) {
            const split = this.emit({ op: Op.Split, x: 0, y: 0 });
            (this.prog[split] as { x: number }).x = this.prog.length;
            splits.push(split);
            this.compile(n.node);
          }
          for (const s of splits) (this.prog[s] as { y: number }).y = this.prog.length;
        }
        return;
      }
    }
  }
}

export interface HfiRegex {
  /** Unanchored search over the UTF-8 bytes of s (anchored where ^/$ say). */
  test(s: string | Uint8Array): boolean;
  /** Number of NFA instructions (for the filter's sizing and the docs). */
  readonly programSize: number;
}

/** Parses and compiles; throws HfiRegexError with a reason when outside the subset. */
export function compileHfiRegex(src: string): HfiRegex {
  if ([...src].length > REGEX_MAX_LENGTH)
    throw new HfiRegexError(`must be at most ${REGEX_MAX_LENGTH} characters`, REGEX_MAX_LENGTH);
  const ast = new Parser(src).parse();
  const c = new Compiler();
  c.compile(ast);
  c.prog.push({ op: Op.Match });
  const prog = c.prog;
  const vm = new PikeVm(prog);
  return { test: (s) => vm.run(typeof s === "string" ? ENCODER.encode(s) : s), programSize: prog.length };
}

const ENCODER = new TextEncoder();

/** The reason a pattern is outside the HFI subset, or undefined when it is fine. */
export function hfiRegexError(src: string): string | undefined {
  try {
    compileHfiRegex(src);
    return undefined;
  } catch (e) {
    if (e instanceof HfiRegexError) return e.reason;
    throw e;
  }
}

/** Thread list: a sparse set of program counters (order is irrelevant for a yes/no match). */
class ThreadList {
  readonly pcs: Int32Array;
  readonly mark: Int32Array;
  len = 0;
  gen = 1;
  constructor(n: number) {
    this.pcs = new Int32Array(n);
    this.mark = new Int32Array(n);
  }
  clear(): void {
    this.len = 0;
    this.gen++;
  }
}

/** Thread lists and stack are allocated once per compiled regex (matching is synchronous). */
class PikeVm {
  private clist: ThreadList;
  private nlist: ThreadList;
  private readonly stack: Int32Array;

  constructor(private readonly prog: Inst[]) {
    this.clist = new ThreadList(prog.length);
    this.nlist = new ThreadList(prog.length);
    this.stack = new Int32Array(prog.length * 2 + 2);
  }

  /** Follows epsilon edges from `start` at position pos into list; true when Match is reached. */
  private add(list: ThreadList, start: number, pos: number, len: number): boolean {
    const prog = this.prog;
    const stack = this.stack;
    let sp = 0;
    stack[sp++] = start;
    while (sp > 0) {
      const pc = stack[--sp]!;
      if (list.mark[pc] === list.gen) continue;
      list.mark[pc] = list.gen;
      const inst = prog[pc]!;
      switch (inst.op) {
        case Op.Match:
          return true;
        case Op.Jmp:
          stack[sp++] = inst.x;
          break;
        case Op.Split:
          stack[sp++] = inst.y;
          stack[sp++] = inst.x;
          break;
        case Op.Bol:
          if (pos === 0) stack[sp++] = pc + 1;
          break;
        case Op.Eol:
          if (pos === len) stack[sp++] = pc + 1;
          break;
        case Op.Byte:
          list.pcs[list.len++] = pc;
          break;
      }
    }
    return false;
  }

  run(input: Uint8Array): boolean {
    const len = input.length;
    this.clist.clear();
    for (let pos = 0; ; pos++) {
      // Unanchored search: a new thread starts at every position.
      if (this.add(this.clist, 0, pos, len)) return true;
      if (pos === len || this.clist.len === 0 && this.anchoredStart()) return false;
      const b = input[pos]!;
      const nlist = this.nlist;
      nlist.clear();
      const clist = this.clist;
      for (let i = 0; i < clist.len; i++) {
        const pc = clist.pcs[i]!;
        const inst = this.prog[pc] as { op: Op.Byte; set: ByteSet };
        if (inst.set[b] && this.add(nlist, pc + 1, pos + 1, len)) return true;
      }
      this.nlist = clist;
      this.clist = nlist;
    }
  }

  /** True when the program starts with ^: no thread can start after position 0. */
  private anchoredStart(): boolean {
    return this.prog[0]!.op === Op.Bol;
  }
}
