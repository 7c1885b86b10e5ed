/**
 * Reads a Deno server's V8 heap from outside, through the inspector it was started with
 * (`--inspect=127.0.0.1:PORT`): the bench needs the heap beside the RSS, and the server itself
 * must not change to report it. Each call opens a session, asks, and closes it, so no debugger
 * stays attached during a measurement.
 */

export interface HeapUsage {
  /** Bytes of live JS objects (and garbage not yet collected). */
  used: number;
  /** Bytes V8 has reserved for its heap spaces. */
  total: number;
}

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

async function session<T>(
  port: number,
  run: (
    call: (method: string, params?: Json) => Promise<Json>,
    onEvent: (l: (m: Json) => void) => void,
  ) => Promise<T>,
): Promise<T> {
  const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as Json[];
  const url = list[0]?.webSocketDebuggerUrl;
  if (typeof url !== "string") throw new Error("inspector: no debugger target");
  const ws = new WebSocket(url);
  const pending = new Map<number, (m: Json) => void>();
  let nextId = 1;
  const listeners: ((m: Json) => void)[] = [];
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data as string) as Json;
    if (typeof m.id === "number") {
      pending.get(m.id)?.(m);
      pending.delete(m.id);
    } else {
      for (const l of listeners) l(m);
    }
  };
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => resolve();
    ws.onerror = () => reject(new Error("inspector: websocket failed"));
  });
  const call = (method: string, params: Json = {}) =>
    new Promise<Json>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (m) => m.error ? reject(new Error(m.error.message)) : resolve(m.result));
      ws.send(JSON.stringify({ id, method, params }));
    });
  try {
    return await run(call, (l) => listeners.push(l));
  } finally {
    const closed = new Promise<void>((r) => ws.onclose = () => r());
    ws.close();
    await Promise.race([closed, new Promise((r) => setTimeout(r, 1000))]);
  }
}

/** The server's V8 heap, as V8 reports it (no collection is forced). */
export function heapUsage(port: number): Promise<HeapUsage> {
  return session(port, async (call) => {
    const r = await call("Runtime.getHeapUsage");
    return { used: r.usedSize, total: r.totalSize };
  });
}

/** Writes a heap snapshot (loadable in Chrome DevTools' Memory tab) to `file`. */
export function heapSnapshot(port: number, file: string): Promise<void> {
  return session(port, async (call, onEvent) => {
    const out = await Deno.open(file, { write: true, create: true, truncate: true });
    const enc = new TextEncoder();
    let writes = Promise.resolve();
    onEvent((m) => {
      if (m.method === "HeapProfiler.addHeapSnapshotChunk") {
        const bytes = enc.encode(m.params.chunk);
        writes = writes.then(async () => {
          let off = 0;
          while (off < bytes.length) off += await out.write(bytes.subarray(off));
        });
      }
    });
    try {
      await call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
      await writes;
    } finally {
      out.close();
    }
  });
}
