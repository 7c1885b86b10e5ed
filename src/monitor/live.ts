/**
 * The dashboard's live message view: a form (subject, credentials) and a table of messages as
 * they arrive. The page speaks NATS itself over the server's websocket listener with a small
 * hand-written client (no external script, as the page's CSP demands), so what it shows is what
 * any subscriber with those credentials would get: permissions and all. Memory stays bounded:
 * at most MAX_ROWS rows are kept, payload previews are cut, and rendering is batched per frame.
 */

/** Where the page finds the websocket listener (null: there is none). */
export interface LiveConfig {
  port: number;
  tls: boolean;
}

export const LIVE_CSS = `
.live-form { display:flex; flex-wrap:wrap; gap:8px; align-items:center; margin-bottom:8px; }
.live-form input { font:inherit; padding:4px 8px; border:1px solid var(--line); border-radius:6px; }
.live-form input#live-subject { min-width:220px; }
.live-form input#live-url { min-width:260px; }
.live-form button { font:inherit; padding:4px 12px; border:1px solid var(--c); border-radius:6px;
  background:var(--c); color:#fff; cursor:pointer; }
.live-form button.secondary { background:#fff; color:var(--c); }
.live-status { font-size:12px; color:var(--mute); }
.live-status.ok { color:#2f8f5b; } .live-status.err { color:#b83232; }
#live table td, #live table th { text-align:left; }
#live .live-scroll { max-height:480px; overflow-y:auto; }
#live thead th { position:sticky; top:0; background:var(--card); }
#live td.payload { white-space:pre-wrap; word-break:break-all; font-family:ui-monospace,monospace;
  font-size:12px; max-width:520px; }
#live td.hdrs { white-space:normal; font-size:12px; max-width:260px; }
`;

export const LIVE_JS = `
const live = (() => {
  const MAX_ROWS = 200, PREVIEW = 256, MAX_BUFFER = 8 * 1024 * 1024;
  const te = new TextEncoder(), td = new TextDecoder();
  const section = $("live");
  let ws = null, buf = new Uint8Array(0), greeted = false, lastError = "";
  let received = 0, shown = 0, paused = false, pending = [], scheduled = false;

  function status(text, cls) {
    const s = $("live-status"); s.textContent = text; s.className = "live-status " + (cls || "");
  }
  function counts() {
    set("live-count", received + " received" + (received > shown ? ", " + shown + " shown" : ""));
    section.dataset.received = String(received);
  }
  function send(text) { if (ws && ws.readyState === 1) ws.send(te.encode(text)); }

  function connect(ev) {
    ev.preventDefault();
    disconnect();
    const subject = $("live-subject").value.trim() || ">";
    const url = $("live-url").value.trim();
    const opts = { verbose: false, pedantic: false, headers: true, no_responders: false,
      protocol: 1, lang: "dashboard", version: "1", name: "dashboard live view" };
    const user = $("live-user").value, pass = $("live-pass").value, token = $("live-token").value;
    if (user) { opts.user = user; opts.pass = pass; }
    if (token) opts.auth_token = token;
    let sock;
    try { sock = new WebSocket(url); } catch (e) { status(String(e.message || e), "err"); return; }
    ws = sock; greeted = false; buf = new Uint8Array(0); lastError = "";
    sock.binaryType = "arraybuffer";
    status("connecting to " + url);
    sock.onmessage = (e) => {
      if (sock !== ws) return;
      const chunk = new Uint8Array(e.data);
      const next = new Uint8Array(buf.length + chunk.length);
      next.set(buf); next.set(chunk, buf.length); buf = next;
      if (buf.length > MAX_BUFFER) { status("message too large for the view", "err"); disconnect(); return; }
      parse(subject, opts);
    };
    sock.onclose = (e) => {
      if (sock !== ws) return;
      ws = null;
      // The server's -ERR says more than the close reason that follows it.
      const closed = "closed" + (e.reason ? ": " + e.reason : e.code !== 1000 ? " (" + e.code + ")" : "");
      status(lastError ? lastError + " (" + closed + ")" : closed, lastError || e.code !== 1000 ? "err" : "");
      section.dataset.state = "closed";
    };
    sock.onerror = () => { if (sock === ws) status("websocket error", "err"); };
  }

  function disconnect() {
    if (ws) { const s = ws; ws = null; try { s.close(1000); } catch (_) {} }
    section.dataset.state = "closed";
  }

  function indexOfCrlf(from) {
    for (let i = from; i + 1 < buf.length; i++) if (buf[i] === 13 && buf[i + 1] === 10) return i;
    return -1;
  }

  /** Walks the buffered bytes op by op; an unfinished op waits for more. */
  function parse(subject, opts) {
    let p = 0;
    while (p < buf.length) {
      const eol = indexOfCrlf(p);
      if (eol < 0) break;
      const line = td.decode(buf.subarray(p, eol));
      const args = line.split(/[ \\t]+/);
      const op = args[0].toUpperCase();
      if (op === "MSG" || op === "HMSG") {
        const hdr = op === "HMSG";
        const total = Number(args[args.length - 1]);
        const hlen = hdr ? Number(args[args.length - 2]) : 0;
        const start = eol + 2;
        if (start + total + 2 > buf.length) break;
        const reply = args.length === (hdr ? 6 : 5) ? args[3] : "";
        message(args[1], reply, buf.subarray(start, start + hlen), buf.subarray(start + hlen, start + total));
        p = start + total + 2;
        continue;
      }
      p = eol + 2;
      if (op === "INFO") {
        if (!greeted) {
          greeted = true;
          send("CONNECT " + JSON.stringify(opts) + "\\r\\nSUB " + subject + " 1\\r\\nPING\\r\\n");
        }
      } else if (op === "PING") {
        send("PONG\\r\\n");
      } else if (op === "PONG") {
        // The first PONG answers CONNECT+SUB: an -ERR before it means the SUB was refused.
        if (section.dataset.state === "closed") {
          section.dataset.state = lastError ? "refused" : "subscribed";
          if (!lastError) status("subscribed to " + subject, "ok");
        }
      } else if (op === "-ERR") {
        lastError = line.slice(5).replace(/^'|'$/g, "");
        status(lastError, "err");
      }
    }
    buf = buf.slice(p);
  }

  function headersOf(h) {
    if (h.length === 0) return "";
    const lines = td.decode(h).split("\\r\\n").filter((l) => l !== "");
    const code = lines[0].slice(8).trim();
    return (code ? code + "; " : "") + lines.slice(1).join("; ");
  }

  function preview(b) {
    const cut = b.subarray(0, PREVIEW);
    let text = td.decode(cut).replace(/[\\u0000-\\u0008\\u000b-\\u001f\\u007f]/g, "\\u00b7");
    if (b.length > PREVIEW) text += "\\u2026";
    return text;
  }

  function message(subj, reply, hdr, payload) {
    received++;
    if (paused) { counts(); return; }
    const t = new Date();
    pending.push([t.toTimeString().slice(0, 8) + "." + String(t.getMilliseconds()).padStart(3, "0"),
      subj, reply, String(payload.length), headersOf(hdr), preview(payload)]);
    if (pending.length > MAX_ROWS) pending.splice(0, pending.length - MAX_ROWS);
    if (!scheduled) { scheduled = true; requestAnimationFrame(render); }
  }

  function render() {
    scheduled = false;
    const body = $("live-rows");
    const empty = body.querySelector("td.empty");
    if (empty) empty.parentNode.remove();
    const frag = document.createDocumentFragment();
    for (let i = pending.length - 1; i >= 0; i--) {
      const tr = document.createElement("tr");
      pending[i].forEach((v, k) => {
        const cell = document.createElement("td");
        cell.textContent = v;
        if (k === 4) cell.className = "hdrs";
        if (k === 5) cell.className = "payload";
        tr.appendChild(cell);
      });
      frag.appendChild(tr);
    }
    shown += pending.length;
    pending = [];
    body.insertBefore(frag, body.firstChild);
    while (body.children.length > MAX_ROWS) { body.lastChild.remove(); shown--; }
    counts();
  }

  if (section.dataset.port) {
    const scheme = section.dataset.tls === "true" ? "wss" : "ws";
    $("live-url").value = scheme + "://" + (location.hostname || "127.0.0.1") + ":" + section.dataset.port;
    $("live-form").addEventListener("submit", connect);
    $("live-stop").addEventListener("click", () => { disconnect(); status("disconnected"); });
    $("live-pause").addEventListener("click", (e) => {
      paused = !paused; e.target.textContent = paused ? "Resume" : "Pause";
    });
    $("live-clear").addEventListener("click", () => {
      $("live-rows").replaceChildren(); shown = 0; received = 0; counts();
    });
  }
  return { disconnect };
})();
`;

const LIVE_HEAD = ["time", "subject", "reply", "size", "headers", "payload"];

/** The live view's section; without a websocket listener it says how to get one. */
export function liveSection(cfg: LiveConfig | null): string {
  const attrs = cfg ? ` data-port="${cfg.port}" data-tls="${cfg.tls}"` : "";
  const form = cfg
    ? `<form id="live-form" class="live-form" autocomplete="off">
      <input id="live-subject" value=">" aria-label="subject" placeholder="subject (wildcards allowed)">
      <input id="live-user" aria-label="user" placeholder="user">
      <input id="live-pass" type="password" aria-label="password" placeholder="password">
      <input id="live-token" type="password" aria-label="token" placeholder="token">
      <input id="live-url" aria-label="websocket URL">
      <button id="live-connect" type="submit">Subscribe</button>
      <button id="live-stop" type="button" class="secondary">Stop</button>
      <button id="live-pause" type="button" class="secondary">Pause</button>
      <button id="live-clear" type="button" class="secondary">Clear</button>
      <span id="live-status" class="live-status">not connected</span>
      <span id="live-count" class="live-status">0 received</span>
    </form>`
    : `<p class="live-status">No websocket listener: add <code>websocket { port: 8080, no_tls: true }` +
      `</code> (or a <code>tls {}</code> block) to the configuration to watch messages here.</p>`;
  return `<section id="live"${attrs} data-state="closed" data-received="0">
    <h2>Live messages</h2>
    ${form}
    <div class="live-scroll"><table>
    <thead><tr>${LIVE_HEAD.map((h) => `<th>${h}</th>`).join("")}</tr></thead>
    <tbody id="live-rows"><tr><td colspan="6" class="empty">no messages</td></tr></tbody>
    </table></div>
  </section>`;
}

/**
 * The page's Content-Security-Policy: its own origin for the JSON it polls, and the websocket
 * listener's port on any host (the page may be reached by any of the server's names).
 */
export function dashboardCsp(cfg: LiveConfig | null): string {
  const ws = cfg ? ` ${cfg.tls ? "wss" : "ws"}://*:${cfg.port}` : "";
  return "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
    `connect-src 'self'${ws}; img-src data:`;
}
