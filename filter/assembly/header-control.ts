// Header-driven faults (fault.header_control): the request names its own
// fault with x-hfi-delay-ms, x-hfi-abort-status and x-hfi-percentage, within
// the rule's bounds. Read only for a rule that enables it, after the rule was
// chosen; a value that is not a plain decimal number in range is ignored.

import { PairsView, utf8, ptrOf, decimal } from "./bytes";
import { Rule } from "./rules";

const H_DELAY = utf8("x-hfi-delay-ms");
const H_ABORT = utf8("x-hfi-abort-status");
const H_PERCENTAGE = utf8("x-hfi-percentage");

/** The request's choice after read(): delay in ms (0 = none), abort status (0 = none), share in ppm. */
export let chosenDelayMs: u32 = 0;
export let chosenStatus: u32 = 0;
export let chosenPpm: u32 = 1000000;

/** Digits only, at most 9 of them (no sign, no spaces); -1 otherwise or when absent. */
function headerUint(pairs: PairsView, name: ArrayBuffer): i64 {
  const i = pairs.find(ptrOf(name), name.byteLength);
  if (i < 0) return -1;
  return decimal(pairs.valPtr(i), pairs.valLen(i), 9);
}

/** "0".."100" with up to 4 decimals, as parts per million; -1 when malformed or out of range. */
function headerPpm(pairs: PairsView): i64 {
  const i = pairs.find(ptrOf(H_PERCENTAGE), H_PERCENTAGE.byteLength);
  if (i < 0) return 1000000;
  const p = pairs.valPtr(i);
  const n = pairs.valLen(i);
  let whole: i64 = 0;
  let frac: i64 = 0;
  let fracDigits = 0;
  let k = 0;
  for (; k < n && k < 4; k++) {
    const c = <i32>load<u8>(p + <usize>k) - 48;
    if (c < 0 || c > 9) break;
    whole = whole * 10 + c;
  }
  if (k == 0) return -1;
  if (k < n && load<u8>(p + <usize>k) == 46) { // '.'
    k++;
    for (; k < n; k++) {
      const c = <i32>load<u8>(p + <usize>k) - 48;
      if (c < 0 || c > 9 || fracDigits == 4) return -1;
      frac = frac * 10 + c;
      fracDigits++;
    }
    if (fracDigits == 0) return -1;
  }
  if (k != n) return -1;
  for (let d = fracDigits; d < 4; d++) frac *= 10;
  const ppm = whole * 10000 + frac;
  return ppm > 1000000 ? -1 : ppm;
}

/** Reads the control headers for `rule`; true when the request asks for a fault the rule allows. */
export function read(pairs: PairsView, rule: Rule): bool {
  chosenDelayMs = 0;
  chosenStatus = 0;
  chosenPpm = 1000000;
  if (rule.hcMaxDelayMs > 0) {
    const d = headerUint(pairs, H_DELAY);
    if (d > 0) chosenDelayMs = d > <i64>rule.hcMaxDelayMs ? rule.hcMaxDelayMs : <u32>d;
  }
  if (rule.hcAllowAbort) {
    const s = headerUint(pairs, H_ABORT);
    if (s >= 200 && s <= 599) chosenStatus = <u32>s;
  }
  if (chosenDelayMs == 0 && chosenStatus == 0) return false;
  const ppm = headerPpm(pairs);
  if (ppm < 0) return false; // a malformed share asks for nothing
  chosenPpm = <u32>ppm;
  return true;
}
