// The demo's "frontend" service: a tiny JSON API on node:http that the
// sidecar sits in front of.
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Upstream {
  url: string;
  close(): Promise<void>;
}

const PRODUCTS = [
  { id: 1, name: "espresso", price: 2.5 },
  { id: 2, name: "flat white", price: 3.4 },
  { id: 3, name: "croissant", price: 2.1 },
];

export async function startUpstream(): Promise<Upstream> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    let body: unknown;
    if (path === "/api/products") body = { service: "frontend", products: PRODUCTS };
    else if (path === "/api/cart") body = { service: "frontend", cart: [{ product: 1, quantity: 2 }], total: 5 };
    else if (path === "/health") body = { status: "ok" };
    else {
      res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "not found" }));
      return;
    }
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
