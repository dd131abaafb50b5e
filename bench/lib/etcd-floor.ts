// The floor any etcd-backed push stands on: an etcd3 client's put until the
// same client's watch delivers the event, one put at a time.
import { Etcd3 } from "etcd3";

export async function putWatchFloor(endpoint: string, samples: number): Promise<number[]> {
  const client = new Etcd3({ hosts: endpoint });
  const key = `/hfi-bench-floor/${process.pid}`;
  const out: number[] = [];
  try {
    const watcher = await client.watch().key(key).create();
    let pending: { value: string; resolve: () => void } | undefined;
    watcher.on("put", (kv) => {
      if (pending && kv.value.toString() === pending.value) pending.resolve();
    });
    for (let i = 0; i < samples; i++) {
      const value = `v${i}`;
      const seen = new Promise<void>((resolve) => (pending = { value, resolve }));
      const t0 = performance.now();
      await client.put(key).value(value);
      await seen;
      out.push(performance.now() - t0);
    }
    await watcher.cancel();
    await client.delete().key(key);
  } finally {
    client.close();
  }
  return out;
}
