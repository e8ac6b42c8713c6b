/** The console's one HTML page; views are drawn by console.js from the location hash. */
export const CONSOLE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>flowd console</title>
<link rel="icon" href="/favicon.ico" type="image/svg+xml">
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/mermaid.min.js" defer></script>
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<header class="top">
  <a href="#/" class="brand">flowd</a>
  <nav><a href="#/">Flows &amp; executions</a><a href="/docs">API (Swagger UI)</a></nav>
  <form id="key-form" class="key" autocomplete="off">
    <label for="api-key">API key</label>
    <input type="password" id="api-key" placeholder="only when the service requires one">
    <button type="submit">Use</button>
  </form>
</header>
<main id="app" aria-live="polite"><p class="muted">Loading…</p></main>
<noscript><p>The flowd console needs JavaScript. The same data is in the API: <a href="/docs">/docs</a>.</p></noscript>
</body>
</html>
`;

export const CONSOLE_STYLE = `:root { --fg: #1f2937; --muted: #6b7280; --line: #e5e7eb; --accent: #1d4ed8; --ok: #059669; --bad: #dc2626; --warn: #d97706; --bg: #f9fafb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
header.top { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #111827; color: #fff; flex-wrap: wrap; }
header.top a { color: #e5e7eb; } header.top .brand { font-weight: 700; font-size: 1.1rem; color: #fff; }
header.top nav { display: flex; gap: 1rem; flex: 1; }
header.top .key { display: flex; gap: .4rem; align-items: center; } header.top .key label { color: #9ca3af; font-size: .85rem; }
header.top input { padding: .2rem .4rem; border-radius: 4px; border: 1px solid #374151; background: #1f2937; color: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 1.2rem 3rem; }
h1 { font-size: 1.5rem; margin: .5rem 0; } h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
.muted { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: .8rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; }
.card h3 { margin: 0 0 .3rem; font-size: 1.05rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
table.logs { table-layout: fixed; } table.logs th:nth-child(1) { width: 13rem; } table.logs th:nth-child(2) { width: 4.5rem; } table.logs th:nth-child(3) { width: 14rem; }
td, dd { overflow-wrap: anywhere; } table.logs td code { white-space: pre-wrap; }
th, td { text-align: left; border-bottom: 1px solid var(--line); padding: .35rem .5rem; vertical-align: top; }
th { background: #f3f4f6; font-weight: 600; }
code, pre, textarea { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: #111827; color: #e5e7eb; padding: .7rem; border-radius: 6px; overflow: auto; }
td code, p code, li code { background: #eef2ff; padding: 0 .25rem; border-radius: 3px; }
.status { display: inline-block; padding: 0 .5rem; border-radius: 999px; font-size: .8rem; font-weight: 600; background: #e5e7eb; }
.status-succeeded { background: #d1fae5; color: #065f46; } .status-failed, .status-timed_out, .status-compensation_failed { background: #fee2e2; color: #991b1b; }
.status-compensated, .status-cancelled { background: #fef3c7; color: #92400e; } .status-running, .status-queued, .status-waiting { background: #dbeafe; color: #1e40af; }
.diagram { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .8rem; overflow: auto; min-height: 80px; }
.diagram svg { max-width: 100%; height: auto; }
form.execute { display: grid; gap: .5rem; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .8rem; }
form.execute textarea { width: 100%; min-height: 180px; }
form.execute .row { display: flex; gap: .6rem; align-items: center; flex-wrap: wrap; }
button { cursor: pointer; padding: .35rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; }
button.secondary { background: #fff; color: var(--accent); }
.error { color: var(--bad); white-space: pre-wrap; }
.doc { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .5rem 1.2rem 1rem; }
.doc h1 { font-size: 1.4rem; } .doc h2 { font-size: 1.15rem; } .doc h3 { font-size: 1rem; }
.doc .admonition { border-left: 4px solid var(--accent); background: #eff6ff; padding: .4rem .8rem; }
.timeline .bar { position: relative; height: 10px; background: #f3f4f6; border-radius: 3px; min-width: 160px; }
.timeline .bar span { position: absolute; top: 0; bottom: 0; border-radius: 3px; background: var(--accent); min-width: 2px; }
.timeline tr.failed .bar span { background: var(--bad); } .timeline tr.compensated .bar span, .timeline tr.cancelled .bar span { background: var(--warn); }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: .6rem 1rem; }
.facts dt { color: var(--muted); } .facts dd { margin: 0; }
.legend span { margin-right: .8rem; }
.badge { display: inline-block; margin-left: .4rem; padding: 0 .45rem; border-radius: 999px; font-size: .75rem; border: 1px dashed var(--muted); color: var(--muted); }
.warning { color: #92400e; background: #fef3c7; border-radius: 6px; padding: .3rem .6rem; }
button.toggle { padding: 0 .35rem; margin-right: .3rem; border: 1px solid var(--line); background: #fff; color: var(--accent); font-size: .8rem; }
tr.detail > td { background: #f9fafb; padding: .5rem 1rem; }
tr.detail .call { border-left: 3px solid var(--line); padding-left: .7rem; margin-bottom: .6rem; }
tr.detail h4 { margin: .2rem 0; font-size: .9rem; } tr.detail pre.json { margin: .2rem 0 .5rem; max-height: 24rem; white-space: pre-wrap; overflow-wrap: anywhere; }
`;

/** The console's icon (served at /favicon.ico, so browsers asking for it by habit get it too). */
export const CONSOLE_ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#111827"/><circle cx="9" cy="16" r="4" fill="#60a5fa"/><circle cx="23" cy="9" r="4" fill="#34d399"/><circle cx="23" cy="23" r="4" fill="#fbbf24"/><path d="M12.5 14.5 19.5 10.5M12.5 17.5 19.5 21.5" stroke="#e5e7eb" stroke-width="2"/></svg>
`;
