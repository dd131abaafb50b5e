// Abort handler wired with `asc --use abort=filter/assembly/abort/hfiAbort`, so
// the module never imports env.abort. Nothing is expected to reach it (all
// host input is bounds-checked); if a bug does, it logs a fixed message
// without allocating or touching globals (they may not be initialised yet)
// and traps.

import { logRaw, LogLevel } from "./abi";

export function hfiAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const flag = memory.data(4);
  if (load<u32>(flag) == 0) {
    store<u32>(flag, 1);
    // "hfi filter: internal error (abort)"
    const text = memory.data<u8>([104, 102, 105, 32, 102, 105, 108, 116, 101, 114, 58, 32, 105, 110, 116, 101, 114, 110,
      97, 108, 32, 101, 114, 114, 111, 114, 32, 40, 97, 98, 111, 114, 116, 41]);
    logRaw(LogLevel.Critical, text, 34);
  }
  unreachable();
}
