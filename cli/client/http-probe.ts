// When a gRPC call cannot get through, is the address an HTTP/1.1 port
// (typically hfi server's --http-addr, or the old control plane's REST port)?
// Then the error says so instead of "is hfi server running?".
// node:http is imported on the first probe: a call that gets through never needs it.

export const PROBE_TIMEOUT_MS = 1000;

/** A description of what answered HTTP/1.1 at `address` (host:port), or undefined. */
export async function probeHttp(address: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | undefined> {
  const { default: http } = await import("node:http");
  return new Promise((resolve) => {
    const req = http.get(`http://${address}/v1/health`, { timeout: timeoutMs, headers: { accept: "application/json" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        if (body.length < 4096) body += c;
      });
      res.on("end", () => {
        let status: unknown;
        try {
          status = (JSON.parse(body) as { status?: unknown }).status;
        } catch {
          status = undefined;
        }
        // /v1/health answers {"status":"healthy"} on hfi server's HTTP port and on the old control plane.
        resolve(status === "healthy" ? `an HFI (or old control plane) HTTP port: GET /v1/health answered ${res.statusCode}` : `an HTTP/1.1 server (GET /v1/health answered ${res.statusCode})`);
      });
      res.on("error", () => resolve(undefined));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
  });
}

/** The message for a gRPC client pointed at an HTTP port. */
export function httpPortMessage(address: string, what: string): string {
  return (
    `${address} is ${what}, not the gRPC API: hfi policy and the typed client speak gRPC. ` +
    `Point --server (or --control-plane-addr) at hfi server's --grpc-addr port (default 9090), e.g. --server ${address.replace(/:\d+$/, "")}:9090`
  );
}
