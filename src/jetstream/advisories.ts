/**
 * JetStream's advisories, as nats-server 2.9.10 publishes them into the account they concern:
 * `$JS.EVENT.ADVISORY.STREAM.CREATED|UPDATED|DELETED.<stream>` (stream actions) and
 * `$JS.EVENT.ADVISORY.API` (an audit record of every API request with its response). The
 * consumer layer publishes its own (consumer actions, max deliveries...) with the same helpers.
 */

import type { Account } from "../accounts/account.ts";
import type { Client } from "../client.ts";
import type { Server } from "../server.ts";
import { buildMsg, utf8 } from "../message.ts";
import { goTimeNs } from "../go_time.ts";
import { goJson } from "../go_json.ts";
import { nowNanos } from "./store/base.ts";

export const ADVISORY_PREFIX = "$JS.EVENT.ADVISORY";
export const API_AUDIT_SUBJECT = "$JS.EVENT.ADVISORY.API";
export const STREAM_ACTION_TYPE = "io.nats.jetstream.advisory.v1.stream_action";
export const API_AUDIT_TYPE = "io.nats.jetstream.advisory.v1.api_audit";

const NUID_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A 22-character unique id shaped like a nuid (what nats-server puts in advisories' id). */
export function nuid(): string {
  const b = crypto.getRandomValues(new Uint8Array(22));
  let s = "";
  for (let i = 0; i < 22; i++) s += NUID_DIGITS[b[i] % 62];
  return s;
}

/** nats-server's TypedEvent header: type, id, timestamp. */
export function typedEvent(type: string): { type: string; id: string; timestamp: string } {
  return { type, id: nuid(), timestamp: goTimeNs(nowNanos()) };
}

/** Publishes `body` as JSON on `subject` in `acc`, from the server itself. */
export function publishAdvisory(
  server: Server,
  acc: Account,
  subject: string,
  body: unknown,
): void {
  const m = buildMsg(subject, "", null, utf8(goJson(body, false)));
  server.publishInternal(acc, m.buf, m.pa);
}

/** A stream was created, modified or deleted. */
export function streamAction(
  server: Server,
  acc: Account,
  stream: string,
  action: "create" | "modify" | "delete",
  domain: string,
  template = "",
): void {
  const what = action === "create" ? "CREATED" : action === "modify" ? "UPDATED" : "DELETED";
  publishAdvisory(server, acc, `${ADVISORY_PREFIX}.STREAM.${what}.${stream}`, {
    ...typedEvent(STREAM_ACTION_TYPE),
    stream,
    action,
    template: template || undefined,
    domain: domain || undefined,
  });
}

/**
 * nats-server's ClientInfo for the requester as an import would describe it: its account, its
 * RTT in nanoseconds and the server's name.
 */
export function clientInfo(server: Server, from: Client): Record<string, unknown> {
  const info: Record<string, unknown> = { acc: from.account.name };
  if (from.rtt > 0) info.rtt = Math.round(from.rtt * 1e6);
  info.server = server.name;
  return info;
}

/** The audit record of one API request. */
export function apiAudit(
  server: Server,
  acc: Account,
  client: Record<string, unknown> | null,
  subject: string,
  request: string,
  response: string,
  domain: string,
): void {
  publishAdvisory(server, acc, API_AUDIT_SUBJECT, {
    ...typedEvent(API_AUDIT_TYPE),
    server: server.name,
    client,
    subject,
    request: request || undefined,
    response,
    domain: domain || undefined,
  });
}
