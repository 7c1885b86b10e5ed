/**
 * /dashboard: one self-contained HTML page (inline CSS and JS, no external assets, no build
 * step). It polls varz, connz, routez and leafz (relative URLs, so it works under
 * http_base_path) once a second and draws connection, message and byte rates as inline SVG
 * charts, plus the connection, route and leafnode lists. Everything a client controls (names, subjects) goes in with textContent.
 * With a websocket listener it also has a live message view (see live.ts).
 */

import { LIVE_CSS, LIVE_JS, type LiveConfig, liveSection } from "./live.ts";

const CSS = `
:root { --bg:#f5f7fa; --card:#fff; --ink:#1f2933; --mute:#6b7785; --line:#e3e8ee;
  --a:#27aae1; --b:#34a574; --c:#375c93; --d:#e8833a; }
* { box-sizing: border-box; }
body { margin:0; font:14px/1.4 ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
  background:var(--bg); color:var(--ink); }
header { display:flex; align-items:center; gap:16px; padding:12px 24px; background:#1f2933; color:#fff; }
header h1 { margin:0; font-size:18px; font-weight:600; letter-spacing:.5px; }
header .meta { color:#c4cdd5; font-size:13px; }
header .status { margin-left:auto; font-size:13px; padding:3px 10px; border-radius:12px; background:#3e4c59; }
header .status.ok { background:#2f8f5b; } header .status.err { background:#b83232; }
main { padding:16px 24px 32px; max-width:1400px; margin:0 auto; }
.tiles { display:grid; grid-template-columns:repeat(auto-fill,minmax(150px,1fr)); gap:12px; }
.tile { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 14px; }
.tile .k { color:var(--mute); font-size:12px; text-transform:uppercase; letter-spacing:.4px; }
.tile .v { font-size:22px; font-weight:600; font-variant-numeric:tabular-nums; }
.charts { display:grid; grid-template-columns:repeat(auto-fit,minmax(300px,1fr)); gap:12px; margin-top:16px; }
.chart { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 14px; }
.chart h2, section h2 { margin:0 0 6px; font-size:13px; font-weight:600; color:var(--mute);
  text-transform:uppercase; letter-spacing:.4px; }
.chart .legend { font-size:12px; color:var(--mute); display:flex; gap:14px; margin-bottom:4px; }
.chart .legend b { font-variant-numeric:tabular-nums; color:var(--ink); }
.sw { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; vertical-align:-1px; }
svg { width:100%; height:120px; display:block; }
section { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:10px 14px; margin-top:16px; overflow-x:auto; }
table { width:100%; border-collapse:collapse; font-size:13px; font-variant-numeric:tabular-nums; }
th, td { text-align:right; padding:5px 8px; border-bottom:1px solid var(--line); white-space:nowrap; }
th { color:var(--mute); font-weight:600; font-size:12px; }
th:nth-child(-n+4), td:nth-child(-n+4) { text-align:left; }
td.empty { text-align:center; color:var(--mute); padding:14px; }
`;

const JS = `
"use strict";
const HISTORY = 60;
const hist = { t: [], conns: [], inMsgs: [], outMsgs: [], inBytes: [], outBytes: [] };
let prev = null;
const $ = (id) => document.getElementById(id);

function fmtNum(n) {
  if (!isFinite(n)) return "-";
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(2) + "G";
  if (a >= 1e6) return (n / 1e6).toFixed(2) + "M";
  if (a >= 1e4) return (n / 1e3).toFixed(1) + "K";
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}
function fmtBytes(n) {
  if (!isFinite(n)) return "-";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? Math.round(n) : n.toFixed(1)) + " " + u[i];
}
function set(id, text) { const e = $(id); if (e && e.textContent !== text) e.textContent = text; }

function push(key, v) { const a = hist[key]; a.push(v); if (a.length > HISTORY) a.shift(); }

function chart(id, series) {
  const svg = $(id);
  const W = 300, H = 120, P = 4;
  let max = 0;
  for (const s of series) for (const v of s.data) if (v > max) max = v;
  const top = max > 0 ? max * 1.15 : 1;
  const n = HISTORY - 1;
  let out = "";
  for (let g = 1; g <= 3; g++) {
    const y = (P + (H - 2 * P) * g / 4).toFixed(1);
    out += '<line x1="0" x2="' + W + '" y1="' + y + '" y2="' + y + '" stroke="#e3e8ee" stroke-width="1"/>';
  }
  for (const s of series) {
    const d = s.data;
    if (d.length === 0) continue;
    const off = HISTORY - d.length;
    const pts = d.map((v, i) => [((off + i) / n) * W, H - P - (v / top) * (H - 2 * P)]);
    const line = pts.map((p, i) => (i ? "L" : "M") + p[0].toFixed(1) + " " + p[1].toFixed(1)).join("");
    const area = line + "L" + pts[pts.length - 1][0].toFixed(1) + " " + (H - P) + "L" + pts[0][0].toFixed(1) + " " + (H - P) + "Z";
    out += '<path d="' + area + '" fill="' + s.color + '" fill-opacity="0.12"/>';
    out += '<path d="' + line + '" fill="none" stroke="' + s.color + '" stroke-width="2" vector-effect="non-scaling-stroke"/>';
  }
  out += '<text x="' + (W - 4) + '" y="14" text-anchor="end" font-size="11" fill="#6b7785">' + series[0].fmt(max) + '</text>';
  svg.innerHTML = out;
}

function cell(tr, text) { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); }

function fillTable(id, rows, cols, emptyText) {
  const body = $(id);
  const frag = document.createDocumentFragment();
  if (rows.length === 0) {
    const tr = document.createElement("tr");
    const td = document.createElement("td");
    td.colSpan = cols; td.className = "empty"; td.textContent = emptyText;
    tr.appendChild(td); frag.appendChild(tr);
  }
  for (const r of rows) {
    const tr = document.createElement("tr");
    for (const v of r) cell(tr, v);
    frag.appendChild(tr);
  }
  body.replaceChildren(frag);
}

async function getJson(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

function update(v, c, rz, lz) {
  const t = Date.parse(v.now);
  set("server-name", v.server_name);
  set("server-meta", "v" + v.version + " \\u00b7 " + v.host + ":" + v.port + " \\u00b7 up " + v.uptime);
  set("conns", fmtNum(v.connections));
  set("conns-legend", fmtNum(v.connections));
  set("total-conns", fmtNum(v.total_connections));
  set("subs", fmtNum(v.subscriptions));
  set("slow", fmtNum(v.slow_consumers));
  set("in-msgs", fmtNum(v.in_msgs));
  set("out-msgs", fmtNum(v.out_msgs));
  set("in-bytes", fmtBytes(v.in_bytes));
  set("out-bytes", fmtBytes(v.out_bytes));
  set("routes", fmtNum(v.routes));
  set("leafnodes", fmtNum(v.leafnodes));
  set("mem", fmtBytes(v.mem));
  set("cpu", v.cpu.toFixed(1) + "%");
  set("uptime", v.uptime);
  if (prev && t > prev.t) {
    const dt = (t - prev.t) / 1000;
    const rate = (k) => Math.max(0, (v[k] - prev.v[k]) / dt);
    push("inMsgs", rate("in_msgs")); push("outMsgs", rate("out_msgs"));
    push("inBytes", rate("in_bytes")); push("outBytes", rate("out_bytes"));
    set("in-msgs-rate", fmtNum(hist.inMsgs[hist.inMsgs.length - 1]));
    set("out-msgs-rate", fmtNum(hist.outMsgs[hist.outMsgs.length - 1]));
    set("in-bytes-rate", fmtBytes(hist.inBytes[hist.inBytes.length - 1]) + "/s");
    set("out-bytes-rate", fmtBytes(hist.outBytes[hist.outBytes.length - 1]) + "/s");
  }
  push("conns", v.connections);
  prev = { t, v };
  chart("chart-conns", [{ data: hist.conns, color: "#375c93", fmt: fmtNum }]);
  chart("chart-msgs", [
    { data: hist.inMsgs, color: "#27aae1", fmt: (n) => fmtNum(n) + "/s" },
    { data: hist.outMsgs, color: "#34a574", fmt: fmtNum },
  ]);
  chart("chart-bytes", [
    { data: hist.inBytes, color: "#27aae1", fmt: (n) => fmtBytes(n) + "/s" },
    { data: hist.outBytes, color: "#34a574", fmt: fmtBytes },
  ]);
  set("conn-count", c.total > c.num_connections
    ? c.num_connections + " of " + c.total : String(c.num_connections));
  fillTable("conn-rows", c.connections.map((x) => [
    String(x.cid), x.name || "", x.ip + ":" + x.port,
    x.lang ? x.lang + (x.version ? " " + x.version : "") : "",
    x.uptime, x.idle, x.rtt || "", fmtNum(x.subscriptions), fmtBytes(x.pending_bytes),
    fmtNum(x.in_msgs), fmtNum(x.out_msgs), fmtBytes(x.in_bytes), fmtBytes(x.out_bytes),
  ]), 13, "no connections");
  fillTable("route-rows", rz.routes.map((r) => [
    String(r.rid), r.remote_id, r.ip + ":" + r.port, r.did_solicit ? "yes" : "no",
    r.uptime, r.rtt || "", fmtNum(r.subscriptions), fmtNum(r.in_msgs), fmtNum(r.out_msgs),
    fmtBytes(r.in_bytes), fmtBytes(r.out_bytes),
  ]), 11, "no routes");
  fillTable("leaf-rows", (lz.leafs || []).map((l) => [
    l.account, l.ip + ":" + l.port, l.rtt || "", fmtNum(l.subscriptions),
    fmtNum(l.in_msgs), fmtNum(l.out_msgs), fmtBytes(l.in_bytes), fmtBytes(l.out_bytes),
  ]), 8, "no leafnodes");
}

async function poll() {
  try {
    const [v, c, rz, lz] = await Promise.all([
      getJson("varz"), getJson("connz?limit=200"), getJson("routez"), getJson("leafz"),
    ]);
    update(v, c, rz, lz);
    const s = $("status"); s.textContent = "live"; s.className = "status ok";
  } catch (e) {
    const s = $("status"); s.textContent = "offline"; s.className = "status err";
    s.title = String(e);
  }
  document.body.dataset.polls = String(Number(document.body.dataset.polls || 0) + 1);
  setTimeout(poll, 1000);
}
poll();
`;

function tile(id: string, label: string): string {
  return `<div class="tile"><div class="k">${label}</div><div class="v" id="${id}">-</div></div>`;
}

function legend(items: [string, string, string][]): string {
  return `<div class="legend">${
    items.map(([color, label, id]) =>
      `<span><span class="sw" style="background:${color}"></span>${label} <b id="${id}">-</b></span>`
    ).join("")
  }</div>`;
}

const CONN_HEAD = [
  "cid",
  "name",
  "address",
  "client",
  "uptime",
  "idle",
  "rtt",
  "subs",
  "pending",
  "msgs in",
  "msgs out",
  "bytes in",
  "bytes out",
];
const ROUTE_HEAD = [
  "rid",
  "remote id",
  "address",
  "solicited",
  "uptime",
  "rtt",
  "subs",
  "msgs in",
  "msgs out",
  "bytes in",
  "bytes out",
];

const LEAF_HEAD = [
  "account",
  "address",
  "rtt",
  "subs",
  "msgs in",
  "msgs out",
  "bytes in",
  "bytes out",
];

const page = (live: LiveConfig | null) =>
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>NATS dashboard</title>
<style>${CSS}${LIVE_CSS}</style>
</head>
<body>
<header>
  <h1>NATS</h1>
  <div><div id="server-name">-</div><div class="meta" id="server-meta"></div></div>
  <span class="status" id="status">connecting</span>
</header>
<main>
  <div class="tiles">
    ${tile("conns", "Connections")}
    ${tile("total-conns", "Total connections")}
    ${tile("subs", "Subscriptions")}
    ${tile("routes", "Routes")}
    ${tile("leafnodes", "Leafnodes")}
    ${tile("in-msgs", "Msgs in")}
    ${tile("out-msgs", "Msgs out")}
    ${tile("in-bytes", "Bytes in")}
    ${tile("out-bytes", "Bytes out")}
    ${tile("slow", "Slow consumers")}
    ${tile("mem", "Memory")}
    ${tile("cpu", "CPU")}
    ${tile("uptime", "Uptime")}
  </div>
  <div class="charts">
    <div class="chart"><h2>Connections</h2>${legend([["#375c93", "open", "conns-legend"]])}
      <svg id="chart-conns" viewBox="0 0 300 120" preserveAspectRatio="none"></svg></div>
    <div class="chart"><h2>Messages / s</h2>${
    legend([["#27aae1", "in", "in-msgs-rate"], ["#34a574", "out", "out-msgs-rate"]])
  }
      <svg id="chart-msgs" viewBox="0 0 300 120" preserveAspectRatio="none"></svg></div>
    <div class="chart"><h2>Bytes / s</h2>${
    legend([["#27aae1", "in", "in-bytes-rate"], ["#34a574", "out", "out-bytes-rate"]])
  }
      <svg id="chart-bytes" viewBox="0 0 300 120" preserveAspectRatio="none"></svg></div>
  </div>
  <section>
    <h2>Connections (<span id="conn-count">0</span>)</h2>
    <table><thead><tr>${CONN_HEAD.map((h) => `<th>${h}</th>`).join("")}</tr></thead>
    <tbody id="conn-rows"></tbody></table>
  </section>
  <section>
    <h2>Routes</h2>
    <table><thead><tr>${ROUTE_HEAD.map((h) => `<th>${h}</th>`).join("")}</tr></thead>
    <tbody id="route-rows"></tbody></table>
  </section>
  <section>
    <h2>Leafnodes</h2>
    <table><thead><tr>${LEAF_HEAD.map((h) => `<th>${h}</th>`).join("")}</tr></thead>
    <tbody id="leaf-rows"></tbody></table>
  </section>
  ${liveSection(live)}
</main>
<script>${JS}${LIVE_JS}</script>
</body>
</html>
`;

/** The dashboard page; `live` says where the websocket listener is, for the live view. */
export function dashboardHtml(live: LiveConfig | null = null): string {
  return page(live);
}
