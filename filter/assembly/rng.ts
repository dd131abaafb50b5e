// xoshiro128** PRNG seeded from the host's random_get. Used for the per-request
// percentage roll (unbiased, by rejection) and reconnect jitter. Not
// cryptographic; it only has to be uniform and cheap.

let s0: u32 = 0x9e3779b9;
let s1: u32 = 0x243f6a88;
let s2: u32 = 0xb7e15162;
let s3: u32 = 0x85a308d3;

/** Seeds from 16 bytes at ptr (all-zero input keeps the default state). */
export function seedFrom(ptr: usize): void {
  const a = load<u32>(ptr), b = load<u32>(ptr, 4), c = load<u32>(ptr, 8), d = load<u32>(ptr, 12);
  if ((a | b | c | d) == 0) return;
  s0 = a; s1 = b; s2 = c; s3 = d;
}

/** Mixes a 64-bit value (e.g. a clock reading) into the state; used when random_get fails. */
export function mixIn(v: u64): void {
  s0 ^= <u32>v;
  s1 ^= <u32>(v >> 32);
  for (let i = 0; i < 8; i++) nextU32();
}

export function nextU32(): u32 {
  const result = rotl<u32>(s1 * 5, 7) * 9;
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl<u32>(s3, 11);
  return result;
}

const MILLION: u32 = 1000000;
// Largest multiple of 1e6 that fits in 2^32; draws at or above it are rejected.
const LIMIT: u32 = <u32>(4294967296 - (4294967296 % 1000000));

/** Uniform integer in [0, 1e6). */
export function uniformMillion(): u32 {
  while (true) {
    const x = nextU32();
    if (x < LIMIT) return x % MILLION;
  }
}

/** Uniform float in [0, 1). */
export function uniformUnit(): f64 {
  return <f64>(nextU32() >>> 8) / 16777216.0;
}

/** Uniform integer in [0, n) for 1 <= n <= 2^32 - 1, unbiased (rejection, as uniformMillion). */
export function uniformBelow(n: u32): u32 {
  const limit: u32 = <u32>(4294967296 - (4294967296 % <u64>n));
  while (true) {
    const x = nextU32();
    if (limit == 0 || x < limit) return x % n;
  }
}

/** Uniform float in (0, 1) with 53 random bits (never 0: its logarithm is taken). */
function uniformOpen(): f64 {
  const hi = <u64>(nextU32() >>> 5); // 27 bits
  const lo = <u64>(nextU32() >>> 6); // 26 bits
  return (<f64>((hi << 26) | lo) + 0.5) / 9007199254740992.0;
}

/** Standard normal draw (Box-Muller; one of the pair is used: draws are rare, per faulted request). */
export function standardNormal(): f64 {
  const u = uniformOpen();
  const v = uniformOpen();
  return Math.sqrt(-2.0 * Math.log(u)) * Math.cos(6.283185307179586 * v);
}
