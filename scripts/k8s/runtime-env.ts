// glibc malloc settings of the control-plane image (its config Env and the
// Dockerfile's ENV). Without them a burst of large applies left RSS 30-45 %
// over its baseline for good: Node's native buffers (nghttp2, sockets) were
// freed into glibc's per-thread arenas, which keep the pages. Two arenas and
// a fixed 128 KiB trim / mmap threshold (glibc otherwise raises both as large
// blocks come and go) brought it to 23-24 %, and the burst's peak from ≈ 152
// to ≈ 137 MB (docs/benchmarks.md, memory burst). bench:propagation runs
// `hfi server` with the same settings.
export const MALLOC_ENV: Record<string, string> = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_TRIM_THRESHOLD_: "131072",
  MALLOC_MMAP_THRESHOLD_: "131072",
};
