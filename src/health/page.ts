import { createHash } from 'node:crypto';
import { STATUS_PAGE_SCRIPT } from './page-script.js';

const STYLE = `
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #fff; --fg: #1d2330; --muted: #667085;
  --line: #e3e6eb; --ok: #137a3b; --ok-bg: #dcf5e5; --mid: #8a5a00; --mid-bg: #fdf0cf;
  --bad: #b42318; --bad-bg: #fde4e1; }
@media (prefers-color-scheme: dark) { :root { --bg: #12151b; --card: #1b2029; --fg: #e6e9ef;
  --muted: #98a2b3; --line: #2c3340; --ok: #6ee7a0; --ok-bg: #113823; --mid: #f5c46b;
  --mid-bg: #3d2f10; --bad: #ff9b91; --bad-bg: #45191a; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1000px; margin: 0 auto; padding: 16px; }
header { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
h1 { font-size: 1.35rem; margin: 0; }
h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; color: var(--muted);
  margin: 24px 0 8px; }
h3 { font-size: 1rem; margin: 0; overflow-wrap: anywhere; }
.meta { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 8px 0 0; color: var(--muted);
  font-size: .85rem; padding: 0; list-style: none; }
.meta b { color: var(--fg); font-weight: 600; }
.offline { background: var(--bad-bg); color: var(--bad); padding: 8px 12px; border-radius: 8px;
  margin: 12px 0 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 12px;
  align-items: start; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px 14px; }
.card-head { display: flex; justify-content: space-between; align-items: center; gap: 8px;
  margin-bottom: 8px; }
.pill { display: inline-block; padding: 2px 10px; border-radius: 999px; font-size: .8rem;
  font-weight: 600; white-space: nowrap; background: var(--line); color: var(--muted); }
.pill.state-connected { background: var(--ok-bg); color: var(--ok); }
.pill.state-connecting { background: var(--mid-bg); color: var(--mid); }
.pill.state-disconnected, .pill.state-failed { background: var(--bad-bg); color: var(--bad); }
.row { display: flex; gap: 8px; padding: 3px 0; border-top: 1px solid var(--line); font-size: .9rem; }
.row .label { color: var(--muted); min-width: 104px; }
.row .value { overflow-wrap: anywhere; }
.row.warn .value, .row.reason .value { color: var(--mid); }
.row.muted .value, .muted { color: var(--muted); }
.endpoints, .traffic { list-style: none; margin: 8px 0 0; padding: 0; }
.endpoint { display: grid; grid-template-columns: 14px 1fr auto; gap: 0 8px; align-items: baseline;
  padding: 5px 0; border-top: 1px solid var(--line); }
.endpoint .via { grid-column: 2; color: var(--muted); font-size: .82rem; }
.endpoint .direction { grid-column: 3; grid-row: 1; color: var(--muted); font-size: .8rem; }
.channel { overflow-wrap: anywhere; font-weight: 500; }
.via { color: var(--muted); font-size: .82rem; overflow-wrap: anywhere; }
.dot { width: 10px; height: 10px; border-radius: 50%; background: var(--muted); display: inline-block; }
.dot.state-connected { background: var(--ok); }
.dot.state-connecting { background: var(--mid); }
.dot.state-disconnected, .dot.state-failed { background: var(--bad); }
.scroll { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 10px; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { padding: 7px 12px; text-align: left; border-top: 1px solid var(--line); vertical-align: top; }
thead th { border-top: 0; color: var(--muted); font-weight: 600; font-size: .8rem; }
td.where .via { display: block; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.waiting td:nth-child(2), tr.waiting td:nth-child(3) { color: var(--mid); font-weight: 600; }
.bad { color: var(--bad); }
.traffic { background: var(--card); border: 1px solid var(--line); border-radius: 10px; margin: 0; }
.traffic li { display: flex; gap: 8px; padding: 7px 12px; border-top: 1px solid var(--line);
  align-items: baseline; flex-wrap: wrap; }
.traffic li:first-child { border-top: 0; }
.traffic .arrow { color: var(--muted); }
.traffic .count { margin-left: auto; font-weight: 600; font-variant-numeric: tabular-nums; }
footer { margin: 24px 0 8px; color: var(--muted); font-size: .8rem; }
@media (max-width: 480px) { main { padding: 12px; } .row .label { min-width: 92px; }
  th, td { padding: 6px 7px; } table { font-size: .85rem; } }
`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * Only this page's own inline style and script may run, it may only fetch from the relay, and no
 * other site may frame it (CSP Level 3: hash-source; frame-ancestors).
 */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(STATUS_PAGE_SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * GET /: the status page for the person who runs the relay (issue 10 §2). Static: the data comes
 * from /healthz, so the HTML holds no value from the config or the networks.
 */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>kosmi-relay status</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<header>
<h1>kosmi-relay</h1>
<span id="overall" class="pill" data-status="loading">loading</span>
</header>
<ul class="meta">
<li>version <b id="version">-</b></li>
<li>up <b id="uptime">-</b></li>
<li>store <b id="store">-</b></li>
<li>updated <b id="updated">-</b></li>
</ul>
<p id="offline" class="offline" hidden>Cannot reach the relay. Showing the last answer; retrying.</p>
<noscript><p class="offline">This page needs JavaScript. <a href="/healthz">/healthz</a> has the same data as JSON.</p></noscript>
<h2>Accounts</h2>
<div id="accounts" class="cards"></div>
<h2>Gateways</h2>
<div id="gateways" class="cards"></div>
<h2>Outbound queues</h2>
<div class="scroll">
<table>
<thead><tr><th>Destination</th><th class="num">Waiting</th><th class="num">Oldest</th><th class="num">Sent</th><th class="num">Dropped</th></tr></thead>
<tbody id="queue-rows"></tbody>
</table>
</div>
<h2 id="traffic-title">Relayed in the last hour</h2>
<ul id="traffic" class="traffic"></ul>
<footer>Machine-readable: <a href="/healthz">/healthz</a> (JSON, 503 when degraded),
<a href="/status.json">/status.json</a> (the same, always 200), <a href="/metrics">/metrics</a> (Prometheus).</footer>
</main>
<script>${STATUS_PAGE_SCRIPT}</script>
</body>
</html>
`;
