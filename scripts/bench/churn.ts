/**
 * Connection churn for the benchmark: storms of connections that each connect (and, over TLS,
 * read the clear INFO and handshake), send CONNECT + PING, wait for the PONG and close. All the
 * connections of a storm start together, as clients do when a server comes back; latency is
 * from the start of the connect to the PONG.
 */

import { type Conn, CONNECT, connectTcp, connectTls, pingPong } from "./raw.ts";

export interface ChurnCmd {
  cmd: "churn";
  port: number;
  /** Connections per storm. */
  conns: number;
  storms: number;
  /** At most this many connections in progress at once (0: the whole storm at once). */
  concurrency: number;
  /** Over TLS: the CA certificate (PEM) to check the server's certificate against. */
  tls?: string;
}

// deno-lint-ignore no-explicit-any
type Msg = Record<string, any>;

/** One connection's life; returns ms from connect to PONG. */
async function one(c: ChurnCmd): Promise<number> {
  const t0 = performance.now();
  const conn: Conn = c.tls !== undefined
    ? await connectTls(c.port, c.tls)
    : await connectTcp(c.port);
  try {
    await pingPong(conn, CONNECT, 60_000);
    return performance.now() - t0;
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

async function storm(c: ChurnCmd, lat: number[]): Promise<void> {
  const limit = c.concurrency > 0 ? c.concurrency : c.conns;
  let next = 0;
  const worker = async () => {
    while (next < c.conns) {
      next++;
      lat.push(await one(c));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, c.conns) }, worker));
}

export async function churn(
  c: ChurnCmd,
  send: (m: Msg) => void,
  nextCmd: () => Promise<Msg>,
): Promise<void> {
  send({ ev: "ready" });
  await nextCmd(); // go
  const lat: number[] = [];
  const storms: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < c.storms; i++) {
    const s0 = performance.now();
    await storm(c, lat);
    storms.push(performance.now() - s0);
  }
  const ms = performance.now() - t0;
  lat.sort((a, b) => a - b);
  const pick = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))];
  send({
    ev: "done",
    n: lat.length,
    ms,
    storms,
    rate: lat.length / (ms / 1000),
    p50: pick(0.5),
    p99: pick(0.99),
  });
}
