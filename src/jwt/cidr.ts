/**
 * IP addresses and CIDR networks as Go's net package reads and matches them (net.ParseIP,
 * net.ParseCIDR, IPNet.Contains in Go 1.19), for a user JWT's `src` networks: an IPv4 client
 * matches IPv4 networks and IPv4-mapped IPv6 networks, never other IPv6 ones; octets with leading
 * zeros are invalid, as are IPv6 zones.
 */

/** Go's `big`: parsers give up on numbers this large. */
const BIG = 0xffffff;

function dtoi(s: string): { n: number; used: number } | null {
  let n = 0;
  let i = 0;
  for (; i < s.length && s[i] >= "0" && s[i] <= "9"; i++) {
    n = n * 10 + (s.charCodeAt(i) - 48);
    if (n >= BIG) return null;
  }
  return i === 0 ? null : { n, used: i };
}

function xtoi(s: string): { n: number; used: number } | null {
  let n = 0;
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else break;
    n = n * 16 + d;
    if (n >= BIG) return null;
  }
  return i === 0 ? null : { n, used: i };
}

/** An IPv4 address in Go's 16-byte form (::ffff:a.b.c.d). */
function v4InV6(a: number, b: number, c: number, d: number): Uint8Array {
  return new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d]);
}

function parseIPv4(s: string): Uint8Array | null {
  const p: number[] = [];
  for (let i = 0; i < 4; i++) {
    if (s.length === 0) return null;
    if (i > 0) {
      if (s[0] !== ".") return null;
      s = s.slice(1);
    }
    const r = dtoi(s);
    if (r === null || r.n > 0xff) return null;
    if (r.used > 1 && s[0] === "0") return null;
    s = s.slice(r.used);
    p.push(r.n);
  }
  return s.length === 0 ? v4InV6(p[0], p[1], p[2], p[3]) : null;
}

function parseIPv6(s: string): Uint8Array | null {
  const ip = new Uint8Array(16);
  let ellipsis = -1;
  if (s.startsWith("::")) {
    ellipsis = 0;
    s = s.slice(2);
    if (s.length === 0) return ip;
  }
  let i = 0;
  while (i < 16) {
    const r = xtoi(s);
    if (r === null || r.n > 0xffff) return null;
    if (r.used < s.length && s[r.used] === ".") {
      if (ellipsis < 0 && i !== 12) return null;
      if (i + 4 > 16) return null;
      const ip4 = parseIPv4(s);
      if (ip4 === null) return null;
      ip.set(ip4.subarray(12), i);
      s = "";
      i += 4;
      break;
    }
    ip[i] = r.n >> 8;
    ip[i + 1] = r.n & 0xff;
    i += 2;
    s = s.slice(r.used);
    if (s.length === 0) break;
    if (s[0] !== ":" || s.length === 1) return null;
    s = s.slice(1);
    if (s[0] === ":") {
      if (ellipsis >= 0) return null;
      ellipsis = i;
      s = s.slice(1);
      if (s.length === 0) break;
    }
  }
  if (s.length !== 0) return null;
  if (i < 16) {
    if (ellipsis < 0) return null;
    const n = 16 - i;
    for (let j = i - 1; j >= ellipsis; j--) ip[j + n] = ip[j];
    for (let j = ellipsis + n - 1; j >= ellipsis; j--) ip[j] = 0;
  } else if (ellipsis >= 0) {
    return null;
  }
  return ip;
}

/** Go's IP.To4: the 4-byte form of an IPv4 or IPv4-mapped address, else null. */
function to4(ip: Uint8Array): Uint8Array | null {
  if (ip.length === 4) return ip;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return null;
  return ip[10] === 0xff && ip[11] === 0xff ? ip.subarray(12) : null;
}

/** net.ParseIP: 16 bytes (IPv4 in mapped form), or null. */
export function parseIP(s: string): Uint8Array | null {
  for (const c of s) {
    if (c === ".") return parseIPv4(s);
    if (c === ":") return parseIPv6(s);
  }
  return null;
}

/** A parsed network: its number and mask, both 4 bytes (IPv4) or 16 (IPv6). */
export interface IPNet {
  ip: Uint8Array;
  mask: Uint8Array;
}

/** net.ParseCIDR's network, or null where Go returns a ParseError. */
export function parseCIDR(s: string): IPNet | null {
  const slash = s.indexOf("/");
  if (slash < 0) return null;
  const addr = s.slice(0, slash);
  const bits = s.slice(slash + 1);
  let len = 4;
  let ip = parseIPv4(addr);
  if (ip === null) {
    len = 16;
    ip = parseIPv6(addr);
  }
  const r = dtoi(bits);
  if (ip === null || r === null || r.used !== bits.length || r.n > 8 * len) return null;
  const mask = new Uint8Array(len);
  for (let i = 0, n = r.n; i < len; i++, n -= 8) {
    mask[i] = n >= 8 ? 0xff : n > 0 ? (0xff << (8 - n)) & 0xff : 0;
  }
  // IP.Mask: a 4-byte mask applies to the IPv4 part of a mapped address.
  const base = len === 4 ? ip.subarray(12) : ip;
  const net = base.map((b, i) => b & mask[i]);
  // networkNumberAndMask: an IPv4-mapped IPv6 network matches as IPv4.
  const net4 = to4(net);
  if (net4 !== null && len === 16) return { ip: net4, mask: mask.subarray(12) };
  return { ip: net4 ?? net, mask };
}

/** IPNet.Contains: the address (any form) is inside the network of the same family. */
export function cidrContains(net: IPNet, ip: Uint8Array): boolean {
  const addr = to4(ip) ?? ip;
  if (addr.length !== net.ip.length) return false;
  for (let i = 0; i < addr.length; i++) {
    if ((net.ip[i] & net.mask[i]) !== (addr[i] & net.mask[i])) return false;
  }
  return true;
}
