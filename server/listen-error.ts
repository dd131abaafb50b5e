// A listener that cannot bind says which address and flag, in words, instead
// of grpc-js's "No address added out of total 1 resolved errors: [...]" or
// a bare EADDRINUSE.

export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ListenError";
  }
}

const REASONS: [RegExp, string][] = [
  [/EADDRINUSE/, "address already in use (another process listens there: stop it or choose another port)"],
  [/EACCES/, "permission denied (ports below 1024 need privileges)"],
  [/EADDRNOTAVAIL/, "address not available (not an address of this machine)"],
];

/** `flag`: "--grpc-addr" / "--http-addr"; `addr`: as configured. */
export function listenError(flag: string, addr: string, err: unknown): ListenError {
  if (err instanceof ListenError) return err;
  const raw = (err as Error)?.message ?? String(err);
  const code = (err as NodeJS.ErrnoException)?.code ?? "";
  const reason = REASONS.find(([re]) => re.test(code) || re.test(raw))?.[1] ?? raw;
  return new ListenError(`cannot listen on ${addr} (${flag}): ${reason}`);
}
