// The WASI functions Envoy links (under wasi_snapshot_preview1 and
// wasi_unstable), with cpp-host's behaviour and errno values: stdout/stderr
// go to the log, clocks and random work, files do not exist.
import crypto from "node:crypto";
import { LogLevel } from "../abi.ts";
import type { GuestMemory } from "../guest-memory.ts";
import type { ImportTable } from "../host-env.ts";
import { logAt, type HostLogger } from "../logger.ts";
import { wallClockNs } from "./ticks.ts";

// errno values as cpp-host returns them.
const ENOSYS = 52;
const EBADF = 8;
const EFAULT = 21; // bad guest pointers
const ENOTSUP = 58;

export function wasiImports(mem: GuestMemory, logger: HostLogger): ImportTable {
  return {
    fd_write: (fd: number, iovs: number, iovsLen: number, nwrittenPtr: number) => {
      if (fd !== 1 && fd !== 2) return EBADF;
      let total = 0;
      let text = "";
      for (let i = 0; i < iovsLen; i++) {
        if (!mem.inBounds(iovs + i * 8, 8)) return EFAULT;
        const p = mem.dv.getUint32(iovs + i * 8, true);
        const l = mem.dv.getUint32(iovs + i * 8 + 4, true);
        const s = mem.str(p, l);
        if (s === undefined) return EFAULT;
        text += s;
        total += l;
      }
      // Envoy logs guest stdout at info and stderr at error.
      logAt(logger, fd === 1 ? LogLevel.info : LogLevel.error, { wasm: true, fd }, text.replace(/\n$/, ""));
      return mem.setU32(nwrittenPtr, total) ? 0 : EFAULT;
    },
    fd_read: () => ENOSYS,
    fd_seek: () => ENOSYS,
    fd_close: () => ENOSYS,
    fd_fdstat_get: (fd: number, statPtr: number) => {
      if (fd !== 1 && fd !== 2) return EBADF;
      if (!mem.inBounds(statPtr, 24)) return EFAULT;
      // As cpp-host: zeroed, fs_rights_base = FD_WRITE (64).
      mem.u8.fill(0, statPtr, statPtr + 24);
      mem.dv.setBigUint64(statPtr + 8, 64n, true);
      return 0;
    },
    environ_get: () => 0,
    environ_sizes_get: (countPtr: number, sizePtr: number) => (mem.setU32(countPtr, 0) && mem.setU32(sizePtr, 0) ? 0 : EFAULT),
    args_get: () => 0,
    args_sizes_get: (argcPtr: number, sizePtr: number) => (mem.setU32(argcPtr, 0) && mem.setU32(sizePtr, 0) ? 0 : EFAULT),
    clock_time_get: (id: number, _precision: bigint, resultPtr: number) => {
      // 0 realtime, 1 monotonic; cpu-time clocks are ENOTSUP in cpp-host.
      if (id !== 0 && id !== 1) return ENOTSUP;
      const ns = id === 0 ? wallClockNs() : process.hrtime.bigint();
      return mem.setU64(resultPtr, ns) ? 0 : EFAULT;
    },
    random_get: (ptr: number, len: number) => {
      const v = mem.view(ptr, len);
      if (!v) return EFAULT;
      crypto.randomFillSync(v);
      return 0;
    },
    proc_exit: (code: number) => {
      // Envoy treats proc_exit as a fatal VM error.
      throw new Error(`wasm called proc_exit(${code})`);
    },
    path_open: () => ENOSYS,
    fd_prestat_get: () => EBADF,
    fd_prestat_dir_name: () => ENOSYS,
  };
}
