/**
 * The console's two HTML pages and its stylesheet. Fixed markup: nothing a caller or a request influences is
 * ever written into HTML; the app (web/console) fills the page with textContent and SVG attributes. No
 * inline script and no inline style, so the Content-Security-Policy can forbid both.
 */

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const head = (title: string, script: boolean) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title}</title>
<link rel="stylesheet" href="/console/assets/console.css">
${script ? '<script type="module" src="/console/assets/main.js"></script>\n' : ''}</head>`;

export function loginPage(failed: boolean): string {
  return `${head('Sign in · audiohook-realtime console', false)}
<body class="login">
<main>
<h1>audiohook-realtime console</h1>
<form method="post" action="/console/login" autocomplete="off">
<label for="token">Console token</label>
<input id="token" name="token" type="password" required minlength="1" maxlength="1024" autofocus>
<button type="submit">Sign in</button>
${failed ? '<p id="login-error" role="alert">That token is not valid.</p>\n' : ''}</form>
</main>
</body>
</html>
`;
}

export const APP_PAGE = `${head('audiohook-realtime console', true)}
<body>
<header>
<h1>audiohook-realtime console</h1>
<span id="connection" class="connection">connecting…</span>
<form method="post" action="/console/logout"><button type="submit">Sign out</button></form>
</header>
<section id="health" aria-label="Health over the last hour"></section>
<section id="live" aria-label="Live calls">
<h2>Live calls <span id="live-count" class="count"></span></h2>
<table id="live-calls"><thead><tr><th>Bot / Connector ID</th><th>Started</th><th>Duration</th><th>State</th><th>Barge-ins</th><th>Tool calls</th><th>Reconnects</th><th>Instance</th></tr></thead><tbody></tbody></table>
<p id="no-live" class="empty">No live calls.</p>
</section>
<section id="detail" aria-label="Call detail" hidden>
<h2 id="detail-title">Call</h2>
<div class="detail-body"><div id="timeline"></div><aside id="transcript"></aside></div>
<div id="ended-detail"></div>
</section>
<section id="ended" aria-label="Ended calls">
<h2>Ended calls</h2>
<table id="ended-calls"><thead><tr><th>Bot / Connector ID</th><th>Ended</th><th>Duration</th><th>Ending</th><th>Sentiment</th><th>Escalation</th><th>Webhook</th><th>Summary</th></tr></thead><tbody></tbody></table>
<p id="no-ended" class="empty">No ended calls yet.</p>
</section>
</body>
</html>
`;

export const STYLESHEET = `
:root { --bg: #f6f7f9; --fg: #1d2330; --muted: #667085; --line: #d0d5dd; --caller: #2e90fa; --bot: #12b76a;
  --barge: #f04438; --tool: #f79009; --dtmf: #7a5af8; --reconnect: #667085; --card: #fff; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1rem; background: var(--fg); color: #fff; }
header h1 { font-size: 1rem; margin: 0; flex: 1; }
header button { background: transparent; color: #fff; border: 1px solid #fff6; border-radius: 4px; padding: .2rem .6rem; cursor: pointer; }
.connection.live { color: #6ce9a6; } .connection.down { color: #fda29b; }
section { margin: 1rem; padding: .8rem 1rem; background: var(--card); border: 1px solid var(--line); border-radius: 6px; }
h2 { font-size: .95rem; margin: 0 0 .6rem; } .count { color: var(--muted); font-weight: normal; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: .8rem; }
tbody tr { cursor: pointer; } tbody tr:hover, tbody tr.selected { background: #eef4ff; }
td.summary { max-width: 28rem; }
.empty { color: var(--muted); }
.state { display: inline-block; padding: 0 .4rem; border-radius: 3px; background: #eaecf0; font-size: .8rem; }
.state-caller_speaking { background: #d1e9ff; } .state-bot_speaking { background: #d1fadf; }
.state-tool_running { background: #fef0c7; } .state-ending { background: #fee4e2; }
#health { display: flex; flex-wrap: wrap; gap: 1rem; }
.metric { min-width: 12rem; } .metric .label { color: var(--muted); font-size: .8rem; } .metric .value { font-size: 1.2rem; font-weight: 600; }
.spark path { fill: none; stroke: var(--caller); stroke-width: 1.5; }
.detail-body { display: flex; gap: 1rem; align-items: flex-start; }
#timeline { flex: 3; min-width: 0; } #timeline svg { width: 100%; height: auto; display: block; }
#transcript { flex: 2; max-height: 26rem; overflow: auto; font-size: .85rem; }
#transcript .turn { margin: 0 0 .4rem; } #transcript .who { font-weight: 600; margin-right: .4rem; }
#transcript .turn.caller .who { color: var(--caller); } #transcript .turn.bot .who { color: var(--bot); }
.tl-axis line, .tl-grid { stroke: var(--line); } .tl-axis text, .tl-label { fill: var(--muted); font-size: 11px; }
.band-caller { fill: var(--caller); opacity: .75; } .band-bot { fill: var(--bot); opacity: .75; }
.barge-in line { stroke: var(--barge); stroke-width: 2; } .barge-in text { fill: var(--barge); font-size: 11px; }
.tool-span rect { fill: var(--tool); opacity: .8; } .tool-span.outcome-error rect, .tool-span.outcome-timeout rect { fill: var(--barge); }
.tool-span text { font-size: 11px; fill: var(--fg); }
.dtmf circle { fill: var(--dtmf); } .dtmf text { fill: var(--dtmf); font-size: 11px; }
.reconnect line { stroke: var(--reconnect); stroke-dasharray: 3 2; stroke-width: 2; } .reconnect text { fill: var(--reconnect); font-size: 11px; }
.ending line { stroke: var(--fg); stroke-width: 2; } .ending text { fill: var(--fg); font-size: 11px; font-weight: 600; }
.now line { stroke: var(--muted); stroke-dasharray: 2 3; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .6rem 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; white-space: pre-wrap; }
body.login main { max-width: 22rem; margin: 15vh auto; padding: 1.5rem; background: var(--card); border: 1px solid var(--line); border-radius: 6px; }
body.login h1 { font-size: 1.1rem; } body.login label { display: block; margin-bottom: .3rem; }
body.login input { width: 100%; padding: .4rem; margin-bottom: .8rem; } body.login button { padding: .4rem 1rem; }
#login-error { color: var(--barge); }
`;
