/**
 * RFC 6455 framing pieces shared by the reader and the writer: opcodes, frame headers, close
 * payloads and in-place unmasking. The close codes and texts follow nats-server's websocket.go.
 */

import { ClosedState } from "../client.ts";

export const OP_CONTINUATION = 0;
export const OP_TEXT = 1;
export const OP_BINARY = 2;
export const OP_CLOSE = 8;
export const OP_PING = 9;
export const OP_PONG = 10;

export const FINAL_BIT = 0x80;
/** Per-message deflate (RFC 7692) marks a compressed message's first frame with RSV1. */
export const RSV1_BIT = 0x40;
export const MASK_BIT = 0x80;

export const MAX_CONTROL_PAYLOAD = 125;
export const MAX_HEADER = 14;
/** Frames sent to browsers are at most this big (nats-server found browsers prefer it). */
export const BROWSER_FRAME_SIZE = 4096;
/**
 * Output up to this size is sent uncompressed. nats-server uses 64, but nats.go 1.22 corrupts
 * a plain frame that arrives in the same read after a compressed one that inflates past its
 * buffer (seen against nats-server too: 1 run in 30 of tests/websocket_test.ts's Go scenario),
 * so with compression on every message is compressed.
 */
export const COMPRESS_THRESHOLD = 0;

export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_PROTOCOL_ERROR = 1002;
export const CLOSE_NO_STATUS = 1005;
export const CLOSE_ABNORMAL = 1006;
export const CLOSE_INVALID_PAYLOAD = 1007;
export const CLOSE_POLICY_VIOLATION = 1008;
export const CLOSE_MESSAGE_TOO_BIG = 1009;
export const CLOSE_INTERNAL_ERROR = 1011;
export const CLOSE_TLS_HANDSHAKE = 1015;

const enc = new TextEncoder();
/** Word-at-a-time unmasking assumes the platform's byte order is little-endian. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Writes a frame header at `out[at]` and returns its length (server frames are never masked).
 * `first` false makes a continuation frame.
 */
export function writeHeader(
  out: Uint8Array,
  at: number,
  opcode: number,
  len: number,
  final: boolean,
  compressed: boolean,
): number {
  out[at] = opcode | (final ? FINAL_BIT : 0) | (compressed ? RSV1_BIT : 0);
  if (len <= 125) {
    out[at + 1] = len;
    return 2;
  }
  if (len < 65536) {
    out[at + 1] = 126;
    out[at + 2] = len >>> 8;
    out[at + 3] = len & 0xff;
    return 4;
  }
  out[at + 1] = 127;
  const hi = Math.floor(len / 0x100000000);
  out[at + 2] = hi >>> 24;
  out[at + 3] = (hi >>> 16) & 0xff;
  out[at + 4] = (hi >>> 8) & 0xff;
  out[at + 5] = hi & 0xff;
  out[at + 6] = len >>> 24;
  out[at + 7] = (len >>> 16) & 0xff;
  out[at + 8] = (len >>> 8) & 0xff;
  out[at + 9] = len & 0xff;
  return 10;
}

/** A whole (unfragmented) control frame. */
export function controlFrame(opcode: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + payload.length);
  writeHeader(out, 0, opcode, payload.length, true, false);
  out.set(payload, 2);
  return out;
}

/**
 * A close frame's payload: the status, then the reason cut to fit a control frame with "..."
 * marking the cut, as nats-server does.
 */
export function closePayload(status: number, reason: string): Uint8Array {
  let body = enc.encode(reason);
  if (body.length > MAX_CONTROL_PAYLOAD - 2) {
    const cut = new Uint8Array(MAX_CONTROL_PAYLOAD - 2);
    cut.set(body.subarray(0, MAX_CONTROL_PAYLOAD - 5));
    cut.set(enc.encode("..."), MAX_CONTROL_PAYLOAD - 5);
    body = cut;
  }
  const out = new Uint8Array(2 + body.length);
  out[0] = status >>> 8;
  out[1] = status & 0xff;
  out.set(body, 2);
  return out;
}

/**
 * The close status for a connection closed by the server, by close reason; null when no close
 * frame is sent (the connection is broken or stuck, so nothing more is written).
 */
export function closeStatusFor(reason: string): number | null {
  switch (reason) {
    case ClosedState.ReadError:
    case ClosedState.WriteError:
    case ClosedState.SlowConsumerPendingBytes:
    case ClosedState.SlowConsumerWriteDeadline:
    case ClosedState.TLSHandshakeError:
      return null;
    case ClosedState.ClientClosed:
      return CLOSE_NORMAL;
    case ClosedState.AuthenticationTimeout:
    case ClosedState.AuthenticationViolation:
    case ClosedState.MaxConnectionsExceeded:
    case ClosedState.MaxControlLineExceeded:
    case ClosedState.MaxSubscriptionsExceeded:
    case ClosedState.AuthenticationExpired:
      return CLOSE_POLICY_VIOLATION;
    case ClosedState.ParseError:
    case ClosedState.ProtocolViolation:
    case ClosedState.BadClientProtocolVersion:
      return CLOSE_PROTOCOL_ERROR;
    case ClosedState.MaxPayloadExceeded:
      return CLOSE_MESSAGE_TOO_BIG;
    case ClosedState.ServerShutdown:
      return CLOSE_GOING_AWAY;
    case ClosedState.StaleConnection:
      return CLOSE_ABNORMAL;
    default:
      return CLOSE_INTERNAL_ERROR;
  }
}

/**
 * XORs `buf[start, end)` with the 4-byte mask `key` (big-endian, as on the wire), starting at
 * key byte `phase`; returns the phase after the last byte. Aligned words go 4 bytes at a time:
 * unmasking is the one per-byte cost a websocket adds to the read path.
 */
export function unmask(buf: Uint8Array, start: number, end: number, key: number, phase: number) {
  let i = start;
  let p = phase;
  // Bytes up to the first 4-byte-aligned address.
  while (i < end && ((buf.byteOffset + i) & 3) !== 0) {
    buf[i++] ^= (key >>> (24 - 8 * p)) & 0xff;
    p = (p + 1) & 3;
  }
  const words = LITTLE_ENDIAN ? (end - i) >>> 2 : 0;
  if (words > 0) {
    // The key rotated to this phase, as a little-endian word.
    const b0 = (key >>> (24 - 8 * p)) & 0xff;
    const b1 = (key >>> (24 - 8 * ((p + 1) & 3))) & 0xff;
    const b2 = (key >>> (24 - 8 * ((p + 2) & 3))) & 0xff;
    const b3 = (key >>> (24 - 8 * ((p + 3) & 3))) & 0xff;
    const k = (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) | 0;
    const w = new Int32Array(buf.buffer, buf.byteOffset + i, words);
    for (let j = 0; j < words; j++) w[j] ^= k;
    i += words * 4;
  }
  while (i < end) {
    buf[i++] ^= (key >>> (24 - 8 * p)) & 0xff;
    p = (p + 1) & 3;
  }
  return p;
}
