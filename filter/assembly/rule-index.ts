// The candidate index of a snapshot: which rules a request can match at all,
// by its method, path, an exact header and its caller, found with a few hash
// lookups instead of a look at every rule. Per condition (a "dimension") the
// rules it does not constrain are a bit set, the others posting lists (rule
// indices, ascending) under a 64-bit key. Keys are hashes: a collision only
// adds candidates, and every candidate is still checked in full (rules.ts:
// quick record, then ruleMatches), so the index never changes which rule is
// picked; it only skips rules that cannot match. Memory: O(rules) per
// dimension; nothing is allocated per request (the bit sets are scratch of
// the snapshot).
//
// Hand-written over flat arrays rather than the standard library's Map: a
// snapshot's index is a few allocations, and a lookup is a multiply and a
// probe without the Map's bounds checks (it runs several times per request).

/** A path literal is keyed by at most its first PATH_KEY_BYTES bytes. */
export const PATH_KEY_BYTES: i32 = 16;

const FNV_BASIS: u64 = 0xcbf29ce484222325;
const FNV_PRIME: u64 = 0x100000001b3;

/** FNV-1a 64 of [p, p+n) continued from h. */
export function fnvFrom(h: u64, p: usize, n: i32): u64 {
  for (let i = 0; i < n; i++) h = (h ^ <u64>load<u8>(p + <usize>i)) * FNV_PRIME;
  return h;
}

@inline export function fnvStep(h: u64, c: u32): u64 {
  return (h ^ <u64>c) * FNV_PRIME;
}

/** The start of a hash chain for keys of kind `tag` (header name number, caller field). */
@inline export function fnvSeed(tag: u32): u64 {
  return fnvStep(FNV_BASIS, tag);
}

/** Keys are nonzero (0 marks "this rule has none" and an empty slot). */
@inline export function keyOf(h: u64): u64 {
  return h == 0 ? 1 : h;
}

/** A key (a path literal's first `len` bytes hashed as h) that differs for each length. */
@inline export function pathKey(h: u64, len: i32): u64 {
  return keyOf(h ^ (<u64>len << 58));
}

/** Rules keyed on one condition: the unkeyed ones as a bit set, the rest by key. */
export class KeyedRules {
  /** Some rule has a key (else the dimension constrains nothing and is skipped). */
  keyed: bool = false;
  /** Bits of the rules without a key. */
  any: StaticArray<u64> = new StaticArray<u64>(0);
  private slots: StaticArray<u64> = new StaticArray<u64>(0); // open addressing; 0 = empty
  private starts: StaticArray<i32> = new StaticArray<i32>(0); // per slot: its postings [start, start + count)
  private counts: StaticArray<i32> = new StaticArray<i32>(0);
  private postings: StaticArray<i32> = new StaticArray<i32>(0);
  private mask: i32 = 0;

  /** keys[i]: rule i's key, 0 = none. Built once per snapshot. */
  constructor(keys: StaticArray<u64>, words: i32) {
    const n = keys.length;
    const any = new StaticArray<u64>(words);
    let keyedRules = 0;
    for (let i = 0; i < n; i++) {
      if (unchecked(keys[i]) == 0) unchecked(any[i >> 6] |= (<u64>1) << <u64>(i & 63));
      else keyedRules++;
    }
    this.any = any;
    if (keyedRules > 0) this.fill(keys, keyedRules);
  }

  private fill(keys: StaticArray<u64>, keyedRules: i32): void {
    const n = keys.length;
    this.keyed = true;
    let cap = 8;
    while (cap < keyedRules * 2) cap <<= 1;
    this.mask = cap - 1;
    this.slots = new StaticArray<u64>(cap);
    this.starts = new StaticArray<i32>(cap);
    this.counts = new StaticArray<i32>(cap);
    const slotOf = new StaticArray<i32>(n);
    for (let i = 0; i < n; i++) {
      const k = unchecked(keys[i]);
      if (k == 0) continue;
      let s = this.home(k);
      while (unchecked(this.slots[s]) != 0 && unchecked(this.slots[s]) != k) s = (s + 1) & this.mask;
      unchecked(this.slots[s] = k);
      unchecked(this.counts[s]++);
      unchecked(slotOf[i] = s);
    }
    let at = 0;
    for (let s = 0; s < cap; s++) {
      unchecked(this.starts[s] = at);
      at += unchecked(this.counts[s]);
      unchecked(this.counts[s] = 0);
    }
    this.postings = new StaticArray<i32>(keyedRules);
    for (let i = 0; i < n; i++) {
      if (unchecked(keys[i]) == 0) continue;
      const s = unchecked(slotOf[i]);
      unchecked(this.postings[unchecked(this.starts[s]) + unchecked(this.counts[s])] = i);
      unchecked(this.counts[s]++);
    }
  }

  @inline private home(k: u64): i32 {
    return <i32>((k * 0x9e3779b97f4a7c15) >> 40) & this.mask;
  }

  /** dst = the unkeyed rules (words of the snapshot). */
  begin(dst: usize, words: i32): void {
    memory.copy(dst, changetype<usize>(this.any), <usize>words << 3);
  }

  /** Adds the rules under key k to dst. */
  add(dst: usize, k: u64): void {
    let s = this.home(k);
    for (;;) {
      const sk = unchecked(this.slots[s]);
      if (sk == k) break;
      if (sk == 0) return;
      s = (s + 1) & this.mask;
    }
    const p = changetype<usize>(this.postings) + (<usize>unchecked(this.starts[s]) << 2);
    const c = unchecked(this.counts[s]);
    for (let j = 0; j < c; j++) {
      const i = load<i32>(p + (<usize>j << 2));
      const w = dst + (<usize>(i >> 6) << 3);
      store<u64>(w, load<u64>(w) | ((<u64>1) << <u64>(i & 63)));
    }
  }
}

/** cand &= dim over `words` words; false when no candidate is left. */
export function narrow(cand: usize, dim: usize, words: i32): bool {
  let left: u64 = 0;
  for (let i = 0; i < words; i++) {
    const o = <usize>i << 3;
    const v = load<u64>(cand + o) & load<u64>(dim + o);
    store<u64>(cand + o, v);
    left |= v;
  }
  return left != 0;
}

/** Some bit of cand is outside `unkeyed` (a candidate the dimension constrains). */
export function anyKeyed(cand: usize, unkeyed: StaticArray<u64>, words: i32): bool {
  const u = changetype<usize>(unkeyed);
  for (let i = 0; i < words; i++) {
    const o = <usize>i << 3;
    if ((load<u64>(cand + o) & ~load<u64>(u + o)) != 0) return true;
  }
  return false;
}
