/**
 * `$SYS.DEBUG.SUBSCRIBERS`, the system account's exported debug service (nats-server's
 * debugSubscribers): an account that imports it asks how many client subscriptions match a
 * subject (and optionally a queue group) across the cluster. This server counts its own and asks
 * the servers known to have connections in that account on `$SYS.REQ.ACCOUNT.NSUBS`, summing the
 * answers that arrive within 500 ms. Replies to those questions come back on this server's
 * `$SYS._INBOX.<hash>.*`.
 */

import type { Account } from "../accounts/account.ts";
import { CLIENT, type Client } from "../client.ts";
import { headersOf, payloadOf, replyOf } from "../message.ts";
import { subjectMatches } from "../sublist.ts";
import type { SystemEvents } from "./events.ts";

const GATHER_MS = 500;
const dec = new TextDecoder();

/** Client subscriptions in `acc` matching `subject` (literal or wildcard) and `queue`. */
function countSubs(acc: Account, subject: string, queue: string | null): number {
  let n = 0;
  const literal = !subject.split(".").some((t) => t === "*" || t === ">");
  const subs = literal
    ? [...acc.sublist.match(subject).psubs, ...acc.sublist.match(subject).qsubs.flat()]
    : acc.sublist.all().filter((s) => subsetMatch(s.subject, subject));
  for (const s of subs) {
    if (s.closed || s.client.kind !== CLIENT) continue;
    if (queue !== null && s.queue !== queue) continue;
    n++;
  }
  return n;
}

/** nats-server's subjectIsSubsetMatch: `subject` is covered by the wildcard `test`. */
function subsetMatch(subject: string, test: string): boolean {
  return subjectMatches(test, subject) || subject === test;
}

export function installDebug(ev: SystemEvents): void {
  const s = ev.server;
  const inboxPrefix = `$SYS._INBOX.${s.hash}.`;
  const pending = new Map<string, (n: number) => void>();
  let seq = 0;

  ev.subscribe(`${inboxPrefix}*`, (_sub, _from, src, pa) => {
    const cb = pending.get(pa.subject);
    if (cb) cb(Number.parseInt(dec.decode(payloadOf(src, pa)), 10));
  });

  ev.subscribe("$SYS.DEBUG.SUBSCRIBERS", (_sub, from: Client, src, pa) => {
    if (from.kind !== CLIENT) return;
    const reply = replyOf(src, pa);
    let acc: Account | undefined = from.account;
    const hdr = headersOf(src, pa);
    if (hdr !== null) {
      const m = /Nats-Request-Info:\s*(.*)\r\n/.exec(dec.decode(hdr));
      if (m) {
        try {
          const info = JSON.parse(m[1]);
          acc = s.accounts.get(info.svc || info.acc) ?? undefined;
        } catch {
          return;
        }
      }
    }
    if (!acc) return;
    const args = dec.decode(payloadOf(src, pa)).trim().split(" ");
    const subject = args[0];
    const queue = args.length > 1 ? args[1] : null;
    let total = countSubs(acc, subject, queue);
    const expected = [...(ev.remoteConns.get(acc.name)?.values() ?? [])].filter((n) => n > 0)
      .length;
    if (expected === 0) {
      ev.send(reply, "", total, false);
      return;
    }
    const inbox = `${inboxPrefix}${(++seq).toString(36)}`;
    let answers = 0;
    const finish = () => {
      if (!pending.delete(inbox)) return;
      clearTimeout(timer);
      ev.send(reply, "", total, false);
    };
    pending.set(inbox, (n) => {
      if (Number.isInteger(n)) total += n;
      if (++answers >= expected) finish();
    });
    const timer = setTimeout(finish, GATHER_MS);
    const req: Record<string, unknown> = { acc: acc.name, subject };
    if (queue !== null) req.queue = btoa(queue);
    ev.send("$SYS.REQ.ACCOUNT.NSUBS", inbox, req, false);
  });

  // Another server gathering subscribers asks for our count in an account we have clients in.
  ev.subscribe("$SYS.REQ.ACCOUNT.NSUBS", (_sub, _from, src, pa) => {
    const reply = replyOf(src, pa);
    let m: { acc?: unknown; subject?: unknown; queue?: unknown };
    try {
      m = JSON.parse(dec.decode(payloadOf(src, pa)));
    } catch (e) {
      s.log.error(`Error unmarshalling account nsubs request message: ${(e as Error).message}`);
      return;
    }
    const acc = typeof m?.acc === "string" ? s.accounts.get(m.acc) : undefined;
    if (!acc || acc.clients.size === 0 || typeof m.subject !== "string" || reply === "") return;
    // Go marshals the queue ([]byte) as base64.
    const queue = typeof m.queue === "string" ? atob(m.queue) : null;
    ev.send(reply, "", countSubs(acc, m.subject, queue), false);
  });
}
