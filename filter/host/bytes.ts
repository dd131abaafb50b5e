// The host's one byte join (bodies, buffers): Uint8Array has no concat, and
// Buffer.concat would turn every body into a Buffer.

const EMPTY = new Uint8Array(0);

/** The parts end to end. The only non-empty part comes back as it is: no caller writes into a result. */
export function joinBytes(parts: readonly Uint8Array[]): Uint8Array {
  const full = parts.filter((p) => p.length > 0);
  if (full.length <= 1) return full[0] ?? EMPTY;
  const out = new Uint8Array(full.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of full) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
