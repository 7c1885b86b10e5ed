/**
 * Consumer advisories and metrics, as nats-server 2.9.10 publishes them into the stream's
 * account: `$JS.EVENT.ADVISORY.CONSUMER.<KIND>.<stream>.<consumer>` and
 * `$JS.EVENT.METRIC.CONSUMER.ACK.<stream>.<consumer>`, JSON with a type, a nuid and a timestamp.
 */

import type { Account } from "../accounts/account.ts";
import { buildMsg, utf8 } from "../message.ts";
import type { Server } from "../server.ts";
import { goJson } from "../go_json.ts";
import { goTimeNs } from "../go_time.ts";
import { nuid } from "./nuid.ts";
import { nowNanos } from "./store/base.ts";

export const ADVISORY_PRE = "$JS.EVENT.ADVISORY.CONSUMER";
export const CREATED = `${ADVISORY_PRE}.CREATED`;
export const DELETED = `${ADVISORY_PRE}.DELETED`;
export const MAX_DELIVERIES = `${ADVISORY_PRE}.MAX_DELIVERIES`;
export const MSG_NAKED = `${ADVISORY_PRE}.MSG_NAKED`;
export const MSG_TERMINATED = `${ADVISORY_PRE}.MSG_TERMINATED`;
export const METRIC_ACK = "$JS.EVENT.METRIC.CONSUMER.ACK";

const TYPES = {
  action: "io.nats.jetstream.advisory.v1.consumer_action",
  maxDeliver: "io.nats.jetstream.advisory.v1.max_deliver",
  nak: "io.nats.jetstream.advisory.v1.nak",
  terminated: "io.nats.jetstream.advisory.v1.terminated",
  ack: "io.nats.jetstream.metric.v1.consumer_ack",
};

/** Where a consumer's events go. */
export interface EventTarget {
  server: Server;
  account: Account;
  stream: string;
  consumer: string;
  /** The JetStream domain (omitted from events when empty). */
  domain: string;
}

function publish(t: EventTarget, prefix: string, body: Record<string, unknown>): void {
  const subject = `${prefix}.${t.stream}.${t.consumer}`;
  const m = buildMsg(subject, "", null, utf8(goJson(body, false)));
  t.server.publishInternal(t.account, m.buf, m.pa);
}

function head(type: string, t: EventTarget): Record<string, unknown> {
  return {
    type,
    id: nuid.next(),
    timestamp: goTimeNs(nowNanos()),
    stream: t.stream,
    consumer: t.consumer,
  };
}

function withDomain(t: EventTarget, o: Record<string, unknown>): Record<string, unknown> {
  if (t.domain !== "") o.domain = t.domain;
  return o;
}

export function sendActionAdvisory(t: EventTarget, action: "create" | "delete"): void {
  const o = head(TYPES.action, t);
  o.action = action;
  publish(t, action === "create" ? CREATED : DELETED, withDomain(t, o));
}

export function sendMaxDeliveriesAdvisory(t: EventTarget, sseq: number, deliveries: number): void {
  const o = head(TYPES.maxDeliver, t);
  o.stream_seq = sseq;
  o.deliveries = deliveries;
  publish(t, MAX_DELIVERIES, withDomain(t, o));
}

/** NAK and TERM advisories share their shape. */
export function sendDeliveryAdvisory(
  t: EventTarget,
  kind: "nak" | "terminated",
  dseq: number,
  sseq: number,
  deliveries: number,
): void {
  const o = head(TYPES[kind], t);
  o.consumer_seq = dseq;
  o.stream_seq = sseq;
  o.deliveries = deliveries;
  publish(t, kind === "nak" ? MSG_NAKED : MSG_TERMINATED, withDomain(t, o));
}

export function sendAckMetric(
  t: EventTarget,
  dseq: number,
  sseq: number,
  ackTimeNs: number,
  deliveries: number,
): void {
  const o = head(TYPES.ack, t);
  o.consumer_seq = dseq;
  o.stream_seq = sseq;
  o.ack_time = Math.round(ackTimeNs);
  o.deliveries = deliveries;
  publish(t, METRIC_ACK, withDomain(t, o));
}
