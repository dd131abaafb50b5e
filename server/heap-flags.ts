// V8 flags every `hfi server` process should start with. A 10k-stream
// fan-out allocates ~12 MB of short-lived objects per change (write requests
// and their bookkeeping live until the write completes): with V8's default
// 16 MB semi-space that meant one or two scavenges per change, each copying
// the in-flight writes and promoting them (the old generation grew ~2 MB per
// change until a mark-compact). With 64 MB they die young: 4-5x fewer
// scavenges and GC pause time in bench:propagation (docs/benchmarks.md).
// The young generation is sized when the isolate is created, so
// v8.setFlagsFromString at run time does not change it (measured): the
// flags go on the node command line: the image's entry point (Dockerfile and
// scripts/k8s/server-image.ts, kept in step by test/k8s/images.test.ts) and
// every cluster worker's execArgv.
export const SERVER_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=64"];

/** `argv` plus the server flags it does not already set (an operator's own value wins). */
export function withServerFlags(argv: readonly string[]): string[] {
  const out = [...argv];
  for (const flag of SERVER_NODE_FLAGS) {
    const name = flag.split("=")[0]!;
    if (!out.some((a) => a === name || a.startsWith(`${name}=`))) out.push(flag);
  }
  return out;
}
