// CPU time and RSS of a process and all its descendants, read from /proc
// (Linux): a server with cluster workers is one tree. CPU is user + system
// in clock ticks (10 ms at the usual CLK_TCK of 100), so per-change figures
// are taken over whole windows, never single short calls.
import { execFileSync } from "node:child_process";
import fs from "node:fs";

const TICK_MS = (() => {
  try {
    return 1000 / Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
  } catch {
    return 10;
  }
})();
const PAGE = (() => {
  try {
    return Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8" }).trim());
  } catch {
    return 4096;
  }
})();

interface Stat {
  pid: number;
  ppid: number;
  cpuTicks: number;
  rssBytes: number;
}

function readStat(pid: number): Stat | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm (field 2) may contain spaces and parentheses: split after the last ")".
    const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
    // rest[0] = state (field 3); utime = field 14, stime = 15, rss (pages) = 24.
    return { pid, ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]), rssBytes: Number(rest[21]) * PAGE };
  } catch {
    return undefined;
  }
}

/** Every live process whose ancestry includes `root` (root first). */
function tree(root: number): Stat[] {
  const all: Stat[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(Number(name));
    if (st) all.push(st);
  }
  const children = new Map<number, Stat[]>();
  for (const st of all) {
    let list = children.get(st.ppid);
    if (!list) children.set(st.ppid, (list = []));
    list.push(st);
  }
  const rootStat = all.find((s) => s.pid === root);
  if (!rootStat) return [];
  const out: Stat[] = [];
  const stack = [rootStat];
  while (stack.length) {
    const s = stack.pop()!;
    out.push(s);
    stack.push(...(children.get(s.pid) ?? []));
  }
  return out;
}

export interface TreeSample {
  /** User + system CPU of the live tree, ms (exited children are not counted). */
  cpuMs: number;
  rssBytes: number;
  processes: number;
}

export function sampleTree(root: number): TreeSample {
  const t = tree(root);
  let ticks = 0;
  let rss = 0;
  for (const s of t) {
    ticks += s.cpuTicks;
    rss += s.rssBytes;
  }
  return { cpuMs: ticks * TICK_MS, rssBytes: rss, processes: t.length };
}

export const CPU_TICK_MS = TICK_MS;

/**
 * Waits until the tree has used at most one tick of CPU over `windowMs`
 * (it has finished the work of a change, status writes included), or
 * `maxMs`. Returns the sample at that point.
 */
export async function untilQuiet(root: number, windowMs = 100, maxMs = 10_000): Promise<TreeSample> {
  const deadline = Date.now() + maxMs;
  let prev = sampleTree(root);
  for (;;) {
    await new Promise((r) => setTimeout(r, windowMs));
    const cur = sampleTree(root);
    if (cur.cpuMs - prev.cpuMs <= TICK_MS || Date.now() > deadline) return cur;
    prev = cur;
  }
}
