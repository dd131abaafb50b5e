// The HFI regex subset (see README, "HFI regex"): a parser to an AST, a
// compiler to a Thompson-NFA program, and a Pike VM that answers "does the
// pattern match anywhere in these bytes" in O(len(input) * len(program)) with
// no backtracking. Same semantics as the server's reference
// (policy/regex.ts): input is UTF-8 bytes; `.` is any byte except \n;
// classes and negated classes match one byte (only ASCII may be written); a
// non-ASCII literal matches its UTF-8 byte sequence. Nothing here throws:
// errors are returned as strings.

export const MAX_PATTERN_CHARS = 256;
export const MAX_PROGRAM = 20000; // instructions; bounds memory and per-byte cost
const MAX_REPEAT = 100;

// Opcodes: consuming ones first.
const OP_BYTE: i32 = 0; // a = byte
const OP_SET: i32 = 1; // a = set index
const OP_SPLIT: i32 = 2; // a, b = targets
const OP_JMP: i32 = 3; // a = target
const OP_BOL: i32 = 4;
const OP_EOL: i32 = 5;
const OP_MATCH: i32 = 6;

// AST node kinds.
const N_EMPTY: u8 = 0;
const N_BYTE: u8 = 1;
const N_CLASS: u8 = 2;
const N_CONCAT: u8 = 3;
const N_ALT: u8 = 4;
const N_REPEAT: u8 = 5;
const N_BOL: u8 = 6;
const N_EOL: u8 = 7;

class Node {
  kind: u8;
  byte: u32 = 0;
  cls: CharClass | null = null;
  min: i32 = 0;
  max: i32 = 0; // -1 = unbounded
  kids: Node[] = [];
  constructor(kind: u8) {
    this.kind = kind;
  }
}

/** A set of bytes (256-bit bitmap). */
class CharClass {
  bits: StaticArray<u32> = new StaticArray<u32>(8);
  add(c: u32): void {
    unchecked(this.bits[c >> 5] |= 1 << (c & 31));
  }
  addRange(lo: u32, hi: u32): void {
    for (let c = lo; c <= hi; c++) this.add(c);
  }
  merge(o: CharClass): void {
    for (let i = 0; i < 8; i++) unchecked(this.bits[i] |= o.bits[i]);
  }
  negate(): void {
    for (let i = 0; i < 8; i++) unchecked(this.bits[i] = ~this.bits[i]);
  }
}

function perlClass(c: u32): CharClass | null {
  const cls = new CharClass();
  const lc = c | 32;
  if (lc == 100) { // d
    cls.addRange(48, 57);
  } else if (lc == 119) { // w
    cls.addRange(48, 57); cls.addRange(65, 90); cls.addRange(97, 122); cls.add(95);
  } else if (lc == 115) { // s: space \t \n \v \f \r
    cls.add(32); cls.addRange(9, 13);
  } else {
    return null;
  }
  if (c < 97) cls.negate(); // upper case = complement
  return cls;
}

function isPunct(c: u32): bool {
  return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
}

class Parser {
  p: usize;
  n: i32;
  i: i32 = 0;
  err: string | null = null;
  depth: i32 = 0;

  constructor(p: usize, n: i32) {
    this.p = p;
    this.n = n;
  }

  @inline peek(k: i32 = 0): u32 {
    const j = this.i + k;
    return j < this.n ? <u32>load<u8>(this.p + <usize>j) : 0xffffffff;
  }

  fail(msg: string): Node {
    if (this.err == null) this.err = msg + " at offset " + this.i.toString();
    return new Node(N_EMPTY);
  }

  parseAlt(): Node {
    const alts: Node[] = [this.parseConcat()];
    while (this.err == null && this.peek() == 124 /* | */) {
      this.i++;
      alts.push(this.parseConcat());
    }
    if (alts.length == 1) return alts[0];
    const node = new Node(N_ALT);
    node.kids = alts;
    return node;
  }

  parseConcat(): Node {
    const items: Node[] = [];
    while (this.err == null && this.i < this.n) {
      const c = this.peek();
      if (c == 124 || c == 41) break; // | )
      const atom = this.parseAtom();
      if (this.err != null) break;
      items.push(this.parseQuantifiers(atom));
    }
    if (items.length == 1) return items[0];
    const node = new Node(items.length == 0 ? N_EMPTY : N_CONCAT);
    node.kids = items;
    return node;
  }

  /** Reads {n}, {n,} or {n,m} at i; returns false (i unchanged) when it is not one (then `{` is a literal). */
  readBraces(out: StaticArray<i32>): bool {
    let j = this.i + 1;
    let lo = 0, digits = 0;
    while (j < this.n) {
      const d = <u32>load<u8>(this.p + <usize>j);
      if (d < 48 || d > 57) break;
      if (lo < 100000) lo = lo * 10 + <i32>(d - 48);
      digits++; j++;
    }
    if (digits == 0 || j >= this.n) return false;
    let hi = lo;
    let c = <u32>load<u8>(this.p + <usize>j);
    if (c == 44) { // ,
      j++;
      let hd = 0; hi = 0;
      while (j < this.n) {
        const d = <u32>load<u8>(this.p + <usize>j);
        if (d < 48 || d > 57) break;
        if (hi < 100000) hi = hi * 10 + <i32>(d - 48);
        hd++; j++;
      }
      if (hd == 0) hi = -1;
      if (j >= this.n) return false;
      c = <u32>load<u8>(this.p + <usize>j);
    }
    if (c != 125) return false; // }
    unchecked(out[0] = lo);
    unchecked(out[1] = hi);
    this.i = j + 1;
    return true;
  }

  parseQuantifiers(atom: Node): Node {
    const mm = new StaticArray<i32>(2);
    let node = atom;
    let quantified = false;
    while (this.err == null && this.i < this.n) {
      const c = this.peek();
      let min = 0, max = 0;
      if (c == 42) { min = 0; max = -1; this.i++; } // *
      else if (c == 43) { min = 1; max = -1; this.i++; } // +
      else if (c == 63) { min = 0; max = 1; this.i++; } // ?
      else if (c == 123) { // {
        if (!this.readBraces(mm)) break;
        min = mm[0]; max = mm[1];
        if (min > MAX_REPEAT || max > MAX_REPEAT) { this.fail("repetition count above " + MAX_REPEAT.toString()); break; }
        if (max != -1 && max < min) { this.fail("repetition range out of order"); break; }
      } else break;
      if (quantified) { this.fail("nothing to repeat"); break; }
      if (node.kind == N_BOL || node.kind == N_EOL) { this.fail("nothing to repeat"); break; }
      const lazy = this.peek() == 63;
      if (lazy) this.i++;
      if (this.peek() == 43) { this.fail("possessive quantifiers are not supported"); break; }
      const rep = new Node(N_REPEAT);
      rep.min = min;
      rep.max = max;
      rep.kids = [node];
      node = rep;
      quantified = true;
    }
    return node;
  }

  parseAtom(): Node {
    const c = this.peek();
    if (c == 40) return this.parseGroup(); // (
    if (c == 91) return this.parseClass(); // [
    if (c == 46) { // .
      this.i++;
      const cls = new CharClass();
      cls.add(10);
      cls.negate(); // any byte but \n
      return classNode(cls);
    }
    if (c == 94) { this.i++; return new Node(N_BOL); }
    if (c == 36) { this.i++; return new Node(N_EOL); }
    if (c == 42 || c == 43 || c == 63) return this.fail("nothing to repeat");
    if (c == 93) return this.fail("unbalanced brackets: unexpected ]");
    if (c == 123) {
      const mm = new StaticArray<i32>(2);
      const save = this.i;
      if (this.readBraces(mm)) { this.i = save; return this.fail("nothing to repeat"); }
    }
    if (c == 92) return this.parseEscape(false);
    return this.literalChar();
  }

  /** One literal character: a byte, or a whole UTF-8 sequence as a concatenation. */
  literalChar(): Node {
    const c = this.peek();
    this.i++;
    if (c < 0xc0) return byteNode(c);
    let extra = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : 1;
    const seq = new Node(N_CONCAT);
    seq.kids.push(byteNode(c));
    while (extra > 0 && this.i < this.n && (this.peek() & 0xc0) == 0x80) {
      seq.kids.push(byteNode(this.peek()));
      this.i++;
      extra--;
    }
    return seq;
  }

  /** Escape at i (a backslash). inClass: returns class-compatible nodes only. */
  parseEscape(inClass: bool): Node {
    this.i++;
    if (this.i >= this.n) return this.fail("trailing backslash");
    const c = this.peek();
    this.i++;
    if (c == 116) return byteNode(9); // \t
    if (c == 110) return byteNode(10); // \n
    if (c == 114) return byteNode(13); // \r
    const cls = perlClass(c);
    if (cls != null) return classNode(cls);
    if (c >= 49 && c <= 57) return this.fail("backreferences are not supported");
    if (c == 98 || c == 66) return this.fail("word boundaries (\\b, \\B) are not supported");
    if (c == 112 || c == 80) return this.fail("unicode property escapes (\\p, \\P) are not supported");
    if (c == 117 || c == 120) return this.fail("\\u and \\x escapes are not supported");
    if (c < 128 && isPunct(c)) return byteNode(c);
    this.i--;
    return this.fail("unsupported escape");
  }

  parseGroup(): Node {
    this.i++; // (
    if (this.peek() == 63) { // ?
      const d = this.peek(1);
      if (d == 58) { this.i += 2; } // (?:
      else if (d == 61 || d == 33) return this.fail("lookahead is not supported");
      else if (d == 60) {
        const e = this.peek(2);
        if (e == 61 || e == 33) return this.fail("lookbehind is not supported");
        return this.fail("named groups are not supported");
      } else if (d == 80) return this.fail("named groups are not supported");
      else if (d == 62) return this.fail("atomic groups are not supported");
      else return this.fail("inline flags are not supported");
    }
    if (++this.depth > 128) return this.fail("groups nested too deeply");
    const inner = this.parseAlt();
    this.depth--;
    if (this.err != null) return inner;
    if (this.peek() != 41) return this.fail("missing )");
    this.i++;
    return inner;
  }

  /** One class member at i: a single byte (returned, >= 0) or a class escape merged into cls (-1). */
  classItem(cls: CharClass): i32 {
    const c = this.peek();
    if (c == 92) {
      const e = this.parseEscape(true);
      if (this.err != null) return -1;
      if (e.kind == N_CLASS) { cls.merge(e.cls!); return -1; }
      return <i32>e.byte;
    }
    if (c >= 128) { this.fail("non-ASCII character in a class"); return -1; }
    this.i++;
    return <i32>c;
  }

  parseClass(): Node {
    const start = this.i;
    this.i++; // [
    const cls = new CharClass();
    let negated = false;
    if (this.peek() == 94) { negated = true; this.i++; }
    let first = true;
    while (true) {
      if (this.i >= this.n) { this.i = start; return this.fail("missing ]"); }
      if (this.peek() == 93 && !first) { this.i++; break; } // ] (literal when first)
      first = false;
      const lo = this.classItem(cls);
      if (this.err != null) return new Node(N_EMPTY);
      if (this.peek() == 45 && this.peek(1) != 93 && this.i + 1 < this.n) { // range a-z
        const dash = this.i;
        this.i++;
        const hi = this.classItem(cls);
        if (this.err != null) return new Node(N_EMPTY);
        if (lo < 0 || hi < 0) { this.i = dash; return this.fail("invalid class range (a class escape cannot be a range end)"); }
        if (hi < lo) { this.i = dash; return this.fail("class range out of order"); }
        cls.addRange(<u32>lo, <u32>hi);
      } else if (lo >= 0) {
        cls.add(<u32>lo);
      }
    }
    if (negated) cls.negate();
    return classNode(cls);
  }
}

function byteNode(c: u32): Node {
  const n = new Node(N_BYTE);
  n.byte = c;
  return n;
}

function classNode(cls: CharClass): Node {
  const n = new Node(N_CLASS);
  n.cls = cls;
  return n;
}

/** A compiled pattern; match() is reentrant-free (uses per-regex scratch) and allocation-free. */
export class Regex {
  code: StaticArray<i32>; // 3 ints per instruction
  sets: StaticArray<u32>; // 8 words (256 bits) per set
  size: i32;
  anchoredStart: bool;
  private clist: StaticArray<i32>;
  private nlist: StaticArray<i32>;
  private marks: StaticArray<u32>;
  private stack: StaticArray<i32>;
  private gen: u32 = 0;

  constructor(code: i32[], sets: u32[], anchoredStart: bool) {
    const size = code.length / 3;
    this.size = size;
    this.code = StaticArray.fromArray<i32>(code);
    this.sets = StaticArray.fromArray<u32>(sets);
    this.anchoredStart = anchoredStart;
    this.clist = new StaticArray<i32>(size);
    this.nlist = new StaticArray<i32>(size);
    this.marks = new StaticArray<u32>(size);
    this.stack = new StaticArray<i32>(size * 2 + 2);
  }

  private nextGen(): void {
    if (this.gen == 0xfffffffe) {
      for (let i = 0; i < this.size; i++) unchecked(this.marks[i] = 0);
      this.gen = 0;
    }
    this.gen++;
  }

  /** Follows empty transitions from pc at position pos; consuming states go to list. Returns true on MATCH. */
  private add(list: StaticArray<i32>, count: i32, pc: i32, pos: i32, len: i32): i32 {
    const code = this.code;
    const stack = this.stack;
    const marks = this.marks;
    const gen = this.gen;
    let sp = 0;
    unchecked(stack[sp++] = pc);
    while (sp > 0) {
      const p = unchecked(stack[--sp]);
      if (unchecked(marks[p]) == gen) continue;
      unchecked(marks[p] = gen);
      const op = unchecked(code[p * 3]);
      if (op == OP_JMP) {
        unchecked(stack[sp++] = code[p * 3 + 1]);
      } else if (op == OP_SPLIT) {
        unchecked(stack[sp++] = code[p * 3 + 2]);
        unchecked(stack[sp++] = code[p * 3 + 1]);
      } else if (op == OP_BOL) {
        if (pos == 0) unchecked(stack[sp++] = p + 1);
      } else if (op == OP_EOL) {
        if (pos == len) unchecked(stack[sp++] = p + 1);
      } else if (op == OP_MATCH) {
        return -1;
      } else {
        unchecked(list[count++] = p);
      }
    }
    return count;
  }

  /**
   * Bytes every match starts with when the program begins with `^` followed by
   * literal bytes (empty otherwise): a cheap necessary condition checked before
   * running the VM. Nothing jumps into that leading run (jump targets are
   * splits or points after them), so every match passes through it from 0.
   */
  literalPrefix(): ArrayBuffer {
    const code = this.code;
    let n = 0;
    if (unchecked(code[0]) == OP_BOL) while (unchecked(code[(n + 1) * 3]) == OP_BYTE) n++;
    const out = new ArrayBuffer(n);
    for (let i = 0; i < n; i++) store<u8>(changetype<usize>(out) + <usize>i, <u8>unchecked(code[(i + 1) * 3 + 1]));
    return out;
  }

  /** Unanchored search over [ptr, ptr+len). */
  match(ptr: usize, len: i32): bool {
    let clist = this.clist;
    let nlist = this.nlist;
    const code = this.code;
    const sets = this.sets;
    this.nextGen();
    let ccount = this.add(clist, 0, 0, 0, len);
    if (ccount < 0) return true;
    for (let pos = 0; pos < len; pos++) {
      if (ccount == 0 && this.anchoredStart) return false;
      const b = <u32>load<u8>(ptr + <usize>pos);
      this.nextGen();
      let ncount = 0;
      for (let k = 0; k < ccount; k++) {
        const pc = unchecked(clist[k]);
        const op = unchecked(code[pc * 3]);
        const a = unchecked(code[pc * 3 + 1]);
        let ok = false;
        if (op == OP_BYTE) ok = <u32>a == b;
        else ok = (unchecked(sets[a * 8 + <i32>(b >> 5)]) & (1 << (b & 31))) != 0;
        if (ok) {
          ncount = this.add(nlist, ncount, pc + 1, pos + 1, len);
          if (ncount < 0) return true;
        }
      }
      if (!this.anchoredStart) {
        ncount = this.add(nlist, ncount, 0, pos + 1, len);
        if (ncount < 0) return true;
      }
      const t = clist; clist = nlist; nlist = t;
      ccount = ncount;
    }
    return false;
  }
}

class Compiler {
  code: i32[] = [];
  sets: u32[] = [];
  tooBig: bool = false;

  classSet(cls: CharClass): i32 {
    const idx = this.sets.length / 8;
    for (let i = 0; i < 8; i++) this.sets.push(cls.bits[i]);
    return idx;
  }

  pc(): i32 {
    return this.code.length / 3;
  }

  emit(op: i32, a: i32, b: i32): i32 {
    const at = this.pc();
    if (at >= MAX_PROGRAM) { this.tooBig = true; return at; }
    this.code.push(op); this.code.push(a); this.code.push(b);
    return at;
  }

  patchA(at: i32, v: i32): void { if (at * 3 + 1 < this.code.length) this.code[at * 3 + 1] = v; }
  patchB(at: i32, v: i32): void { if (at * 3 + 2 < this.code.length) this.code[at * 3 + 2] = v; }

  node(n: Node): void {
    if (this.tooBig) return;
    switch (n.kind) {
      case N_EMPTY: return;
      case N_BYTE: this.emit(OP_BYTE, <i32>n.byte, 0); return;
      case N_BOL: this.emit(OP_BOL, 0, 0); return;
      case N_EOL: this.emit(OP_EOL, 0, 0); return;
      case N_CLASS: this.cls(n.cls!); return;
      case N_CONCAT: {
        for (let i = 0; i < n.kids.length; i++) this.node(n.kids[i]);
        return;
      }
      case N_ALT: {
        const jumps: i32[] = [];
        for (let i = 0; i < n.kids.length; i++) {
          if (i < n.kids.length - 1) {
            const split = this.emit(OP_SPLIT, 0, 0);
            this.patchA(split, this.pc());
            this.node(n.kids[i]);
            jumps.push(this.emit(OP_JMP, 0, 0));
            this.patchB(split, this.pc());
          } else {
            this.node(n.kids[i]);
          }
        }
        const end = this.pc();
        for (let i = 0; i < jumps.length; i++) this.patchA(jumps[i], end);
        return;
      }
      case N_REPEAT: {
        const kid = n.kids[0];
        for (let i = 0; i < n.min && !this.tooBig; i++) this.node(kid);
        if (n.max == -1) {
          const split = this.emit(OP_SPLIT, 0, 0);
          this.patchA(split, this.pc());
          this.node(kid);
          this.emit(OP_JMP, split, 0);
          this.patchB(split, this.pc());
        } else {
          const splits: i32[] = [];
          for (let i = n.min; i < n.max && !this.tooBig; i++) {
            const split = this.emit(OP_SPLIT, 0, 0);
            this.patchA(split, this.pc());
            splits.push(split);
            this.node(kid);
          }
          const end = this.pc();
          for (let i = 0; i < splits.length; i++) this.patchB(splits[i], end);
        }
        return;
      }
    }
  }

  cls(c: CharClass): void {
    this.emit(OP_SET, this.classSet(c), 0);
  }
}

export let regexError: string = "";

function countChars(p: usize, n: i32): i32 {
  let chars = 0;
  for (let i = 0; i < n; i++) if ((load<u8>(p + <usize>i) & 0xc0) != 0x80) chars++;
  return chars;
}

function startsAnchored(n: Node): bool {
  if (n.kind == N_BOL) return true;
  if (n.kind == N_CONCAT) return n.kids.length > 0 && startsAnchored(n.kids[0]);
  if (n.kind == N_ALT) {
    for (let i = 0; i < n.kids.length; i++) if (!startsAnchored(n.kids[i])) return false;
    return true;
  }
  return false;
}

/** Compiles the UTF-8 pattern at [p, p+n); null with regexError set when it is outside the subset. */
export function compileRegex(p: usize, n: i32): Regex | null {
  regexError = "";
  if (countChars(p, n) > MAX_PATTERN_CHARS) {
    regexError = "pattern longer than " + MAX_PATTERN_CHARS.toString() + " characters";
    return null;
  }
  const parser = new Parser(p, n);
  const ast = parser.parseAlt();
  if (parser.err == null && parser.i < parser.n) {
    parser.fail(parser.peek() == 41 ? "unbalanced )" : "unexpected character");
  }
  if (parser.err != null) {
    regexError = parser.err!;
    return null;
  }
  const c = new Compiler();
  c.node(ast);
  c.emit(OP_MATCH, 0, 0);
  if (c.tooBig) {
    regexError = "pattern too complex (more than " + MAX_PROGRAM.toString() + " NFA states)";
    return null;
  }
  return new Regex(c.code, c.sets, startsAnchored(ast));
}

export function compileRegexBytes(b: ArrayBuffer): Regex | null {
  return compileRegex(changetype<usize>(b), b.byteLength);
}
