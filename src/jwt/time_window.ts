/**
 * A user JWT's connect-time windows (`times` with `times_location`), checked as nats-server's
 * validateTimes does: each window starts today at `start` (wall clock in the zone); one whose
 * start is after its end runs into tomorrow; the user may connect when a window started before
 * now and ends after now, and is disconnected when it ends.
 *
 * Like nats-server, an overnight window is only entered from its start side: at 02:00 the window
 * 22:00-06:00 that started yesterday does not count (today's start is still ahead).
 *
 * Wall-clock arithmetic is done on the zone's local fields, so on a day the zone changes its
 * clocks a window's length is off by the change (nats-server works in absolute time).
 */

import type { TimeRange } from "./types.ts";

/** A "15:04:05" clock time as Go's time.Parse reads it; milliseconds into the day. */
export function parseClock(s: string): number | null {
  const m = /^(\d{1,2}):(\d{2}):(\d{2})(?:[.,](\d+))?$/.exec(s);
  if (m === null) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  const sec = Number(m[3]);
  if (h > 23 || min > 59 || sec > 59) return null;
  const frac = m[4] ? Number(`0.${m[4]}`) : 0;
  return ((h * 60 + min) * 60 + sec) * 1000 + Math.floor(frac * 1000);
}

/**
 * time.LoadLocation: null when Go would load the zone, else its error text. "" and "UTC" are UTC,
 * "Local" the server's zone; other names must be IANA zone names, case as in the database.
 */
export function loadLocationError(name: string): string | null {
  if (name === "" || name === "UTC" || name === "Local") return null;
  if (name.includes("..") || name.startsWith("/") || name.startsWith("\\")) {
    return "time: invalid location name";
  }
  const resolved = resolveZone(name);
  if (resolved === null) return `unknown time zone ${name}`;
  return null;
}

/** The IANA zone Intl uses for `name`, or null where Go's case-sensitive lookup fails. */
function resolveZone(name: string): string | null {
  if (/^[+-]/.test(name)) return null;
  try {
    const resolved = new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions()
      .timeZone;
    // Intl folds case; Go reads files named in the database's case.
    if (resolved !== name && resolved.toLowerCase() === name.toLowerCase()) return null;
    return resolved;
  } catch {
    return null;
  }
}

/** Wall-clock fields of `at` in `zone` (undefined: the server's local zone). */
function wallClock(at: Date, zone: string | undefined) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    hourCycle: "h23",
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
  }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return {
    y: get("year"),
    m: get("month"),
    d: get("day"),
    ms: ((get("hour") * 60 + get("minute")) * 60 + get("second")) * 1000 + at.getUTCMilliseconds(),
  };
}

/**
 * validateTimes: whether `now` is inside one of `times`, and for how long (ms) it stays so, so
 * the server can disconnect the user when the window closes. No windows: always allowed, no
 * limit (validForMs 0, as Go's zero duration). An unparsable time or zone refuses.
 */
export function checkTimeWindows(
  times: TimeRange[] | undefined,
  location: string | undefined,
  now: Date,
): { allowed: boolean; validForMs: number } {
  if (!times || times.length === 0) return { allowed: true, validForMs: 0 };
  let zone: string | undefined;
  const loc = location ?? "";
  if (loc !== "") {
    if (loadLocationError(loc) !== null) return { allowed: false, validForMs: 0 };
    zone = loc === "Local" ? undefined : loc;
  }
  const wall = wallClock(now, zone);
  const today = Date.UTC(wall.y, wall.m - 1, wall.d);
  const nowWall = today + wall.ms;
  const DAY = 86_400_000;
  for (const range of times) {
    const start = parseClock(range.start ?? "");
    const end = parseClock(range.end ?? "");
    if (start === null || end === null) return { allowed: false, validForMs: 0 };
    const startAt = today + start;
    const endAt = today + end + (start > end ? DAY : 0);
    if (startAt < nowWall && endAt > nowWall) return { allowed: true, validForMs: endAt - nowWall };
  }
  return { allowed: false, validForMs: 0 };
}
