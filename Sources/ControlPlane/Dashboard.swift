import Foundation

/// The dashboard: one self-contained page (no external assets). The server puts the current
/// state (``ControlServer/Snapshot``, the same object as `/api/snapshot`) into the page, and the
/// page renders it before it asks for anything, so a headless screenshot of `/` shows numbers,
/// rules and the chart at once. Then it follows `/api/events` and polls `/api/snapshot` every
/// second (`/?events=0`: polling only, no stream).
enum Dashboard {
    /// The minutes of history the chart shows (the page's `windowMs`).
    static let chartMinutes = 5.0
    /// The rules the page lists at most (``RuleSelection``): a table of a million would cost the
    /// server seconds and the browser far more, every second.
    static let ruleLimit = 100

    /// The page with `snapshot` in it.
    static func page(snapshot: ControlServer.Snapshot) -> String {
        // JSON cannot hold "<" outside strings and \u003c means the same inside them: so the
        // text cannot end the script element it sits in, whatever a rule or event says.
        let data = (try? ControlServer.encoded(snapshot)) ?? Data("null".utf8)
        let json = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
        return html.replacingOccurrences(of: "/*SNAPSHOT*/null", with: json)
    }

    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Holon</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { color-scheme: dark; --bg:#0f1419; --panel:#182029; --text:#d8dee6; --dim:#7d8a99; --pass:#4fb477; --drop:#e5534b; --accent:#58a6ff; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.4 system-ui, sans-serif; background:var(--bg); color:var(--text); }
  header { display:flex; align-items:baseline; gap:1em; padding:12px 20px; border-bottom:1px solid #263241; }
  header h1 { font-size:18px; margin:0; }
  #state { padding:2px 8px; border-radius:10px; background:#263241; color:var(--dim); }
  #state.armed { background:#1e3a2a; color:var(--pass); }
  #state.incident { background:#472222; color:var(--drop); }
  main { padding:16px 20px; display:grid; gap:16px; grid-template-columns: repeat(4, 1fr); }
  .card, section { background:var(--panel); border-radius:8px; padding:12px 14px; }
  .card .label { color:var(--dim); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
  .card .value { font-size:26px; font-variant-numeric:tabular-nums; }
  section { grid-column: 1 / -1; }
  section h2 { font-size:13px; color:var(--dim); margin:0 0 8px; text-transform:uppercase; letter-spacing:.04em; }
  canvas { width:100%; height:160px; display:block; }
  table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
  th, td { text-align:left; padding:4px 8px; border-bottom:1px solid #263241; vertical-align:top; }
  th { color:var(--dim); font-weight:normal; font-size:12px; }
  td.rule { font-family:ui-monospace, monospace; font-size:12px; }
  td.num { text-align:right; }
  .note { color:var(--dim); font-size:12px; }
  #log { font-family:ui-monospace, monospace; font-size:12px; max-height:220px; overflow:auto; white-space:pre-wrap; color:var(--dim); }
  button { background:#263241; color:var(--text); border:1px solid #34465a; border-radius:4px; font-size:12px; padding:1px 6px; cursor:pointer; }
  .legend span { margin-right:1em; } .sw { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:4px; }
</style>
</head>
<body>
<header><h1>Holon</h1><span id="state">connecting…</span><span id="uptime" style="color:var(--dim)"></span></header>
<main>
  <div class="card"><div class="label">packets / s</div><div class="value" id="pps">–</div></div>
  <div class="card"><div class="label">dropped / s</div><div class="value" id="dps">–</div></div>
  <div class="card"><div class="label">incidents open / total</div><div class="value" id="incidents">–</div></div>
  <div class="card"><div class="label">rules (sidecar / all)</div><div class="value" id="rules">–</div></div>
  <section><h2>traffic through the filter, last 5 minutes</h2>
    <canvas id="chart" width="1200" height="160"></canvas>
    <div class="legend"><span><i class="sw" style="background:var(--pass)"></i>passed</span><span><i class="sw" style="background:var(--drop)"></i>dropped</span><span id="chart-span" class="note"></span></div>
  </section>
  <section><h2>incidents</h2><table id="incident-table"><thead><tr><th>#</th><th>opened</th><th>attack</th><th class="num">pps</th><th class="num">sources</th><th>rules</th></tr></thead><tbody></tbody></table></section>
  <section><h2>rules in the filter</h2><table id="rule-table"><thead><tr><th>id</th><th>owner</th><th>incident</th><th>rule</th><th class="num">age</th><th class="num">expires in</th><th class="num">hits</th><th class="num">drops</th><th></th></tr></thead><tbody></tbody></table></section>
  <section><h2>impact on legitimate traffic</h2>
    <div id="impact-summary"></div>
    <table id="destination-table"><thead><tr><th>destination</th><th class="num">drops</th><th>rules</th></tr></thead><tbody></tbody></table>
    <div id="false-positives" class="note"></div>
  </section>
  <section><h2>events <button id="capture" title="the loop's next samples, as a pcap file (GET /api/capture)">capture 10 s (pcap)</button></h2><div id="log"></div></section>
</main>
<script id="snapshot" type="application/json">/*SNAPSHOT*/null</script>
<script>
const fmt = n => n == null ? '–' : Math.round(n).toLocaleString('en-US');
const esc = s => String(s ?? '').replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
const $ = id => document.getElementById(id);
// What an authenticating action does, said beside the rule (its counters count the drops).
const AUTH_NOTE = {"syn-auth": "authenticates connection requests: a first SYN is dropped, its retransmission passes", "flow-check": "passes only packets of connections the host has"};
const span = s => s == null ? '–' : s < 90 ? `${Math.round(s)} s` : s < 5400 ? `${Math.round(s / 60)} min`
  : s < 172800 ? `${(s / 3600).toFixed(1)} h` : `${Math.round(s / 86400)} d`;
const clock = ms => new Date(ms).toLocaleTimeString('en-GB');
const windowMs = 5 * 60 * 1000;
let history = [];   // TrafficPoint, oldest first

// The whole page from one snapshot (the server's, then /api/snapshot's).
function render(snap) {
  const status = snap.status, s = status.sidecar;
  history = snap.history.filter(p => p.time_ms >= status.time_ms - windowMs);
  const last = history[history.length - 1];
  $('pps').textContent = fmt(last ? last.pps : s.filterPps);
  $('dps').textContent = fmt(last ? last.drop_pps : s.filterDropPps);
  $('incidents').textContent = `${s.openIncidents} / ${s.incidents}`;
  $('rules').textContent = `${fmt(s.rulesInstalled)} / ${fmt(status.rules)}`;
  $('uptime').textContent = `up ${span(status.uptime_s)} · ${fmt(s.samples)} samples`
    + (s.unexplainedCrossings ? ` · ${fmt(s.unexplainedCrossings)} drift crossing(s) with nothing to blame` : '');
  const st = $('state');
  // A filter whose link went (its interface deleted) enforces nothing, whatever the loop does.
  const gone = status.enforcing === false;
  // Observe mode counts what it would drop and drops nothing: never "mitigating".
  const observing = status.observe === true;
  st.textContent = gone ? 'filter not attached: nothing is enforced' : !s.warmedUp ? 'learning normal traffic'
    : s.openIncidents > 0 ? (observing ? 'under attack: observe mode, nothing dropped' : 'under attack: mitigating')
    : (observing ? 'watching (observe mode: nothing dropped)' : 'watching');
  st.className = gone ? 'incident' : !s.warmedUp ? '' : (s.openIncidents > 0 ? 'incident' : 'armed');
  const none = (cols, text) => `<tr><td colspan="${cols}" class="note">${text}</td></tr>`;
  // The interface of a rule, when the run protects several: its buttons change that filter.
  const on = r => r.interface ? ` data-if="${esc(r.interface)}"` : '';
  document.querySelector('#rule-table tbody').innerHTML = !snap.rules.length ? none(9, 'no rules: the filter passes everything it does not allowlist') : snap.rules.map(r =>
    `<tr><td>${r.interface ? esc(r.interface) + ' ' : ''}${r.id}</td><td>${r.owner}${r.pinned ? ' (pinned)' : ''}</td><td>${r.incident == null ? '' : '#' + r.incident}</td>`
    + `<td class="rule" title="${esc(r.explanation)}">${esc(r.rule)}${AUTH_NOTE[r.action] ? `<br><span class="note">${AUTH_NOTE[r.action]}</span>` : ''}${r.bgp ? `<br><span class="note" title="${esc(r.bgp_detail)}">BGP Flowspec: ${esc(r.bgp)}${r.bgp === 'announced' ? '' : ' — ' + esc(r.bgp_detail)}</span>` : ''}</td><td class="num">${span(r.age_s)}</td>`
    + `<td class="num">${r.expires_in_s == null ? 'no TTL' : r.expires_in_s === 0 ? 'expired' : span(r.expires_in_s)}</td><td class="num">${fmt(r.hits)}</td><td class="num">${fmt(r.drops)}</td>`
    + `<td>${r.owner === 'sidecar' ? `<button data-id="${r.id}"${on(r)} data-do="release">release</button>${r.pinned ? '' : ` <button data-id="${r.id}"${on(r)} data-do="pin">pin</button>`}` : ''}</td></tr>`).join('')
    + (snap.rules_omitted > 0 ? none(9, `and ${fmt(snap.rules_omitted)} more rules: this page lists the live loop's and those that dropped most; holon rules list or /api/rules has them all`) : '');
  document.querySelector('#incident-table tbody').innerHTML = !snap.incidents.length ? none(6, 'none yet') : snap.incidents.map(i =>
    `<tr><td>${i.interface ? esc(i.interface) + ' ' : ''}${i.id}</td><td>${clock(i.opened_at_ns / 1e6)}${i.closed_at_ns ? '' : ' (open)'}</td><td>${esc(i.name ?? '…')}${i.false_positive ? ' (false positive)' : ''}</td>`
    + `<td class="num">${fmt(i.estimated_pps)}</td><td class="num">${fmt(i.distinct_sources)}</td>`
    + `<td class="rule">${i.rules.map(esc).join('<br>')}${i.refused ? '<br>not installed: ' + esc(i.refused) : ''}</td></tr>`).join('');
  const im = snap.impact;
  $('impact-summary').textContent = im.dropped_share == null ? 'no packets seen yet'
    : `${(im.dropped_share * 100).toFixed(2)} % of all packets dropped · ${im.false_positives} incident(s) found hitting legitimate users and released`;
  document.querySelector('#destination-table tbody').innerHTML = !im.drops_by_destination.length ? none(3, 'no rule has dropped anything') : im.drops_by_destination.map(d =>
    `<tr><td>${esc(d.destination)}</td><td class="num">${fmt(d.drops)}</td><td>${d.rules.join(', ')}${d.rule_count > d.rules.length ? ` and ${fmt(d.rule_count - d.rules.length)} more` : ''}</td></tr>`).join('');
  $('false-positives').innerHTML = im.false_positive_incidents.map(f => `false positive #${f.incident}: ${esc(f.reason)}`)
    .concat(im.known_source_shares.map(k => `incident #${k.incident}: ${(k.share * 100).toFixed(1)} % of what its rules dropped came from sources seen in normal traffic`)).join('<br>');
  draw(status.time_ms);
  snap.events.forEach(showEvent);
}

function draw(now) {
  const c = $('chart'), g = c.getContext('2d');
  const w = c.width, h = c.height;
  g.clearRect(0, 0, w, h);
  const max = Math.max(1, ...history.map(p => p.pps));
  const bw = Math.max(1, w / (windowMs / 1000));
  for (const p of history) {
    const x = w - (now - p.time_ms) / windowMs * w - bw;
    const dropped = Math.min(p.drop_pps, p.pps), passed = Math.max(0, p.pps - dropped);
    const hp = passed / max * (h - 14), hd = dropped / max * (h - 14);
    g.fillStyle = '#4fb477'; g.fillRect(x, h - hp, bw, hp);
    g.fillStyle = '#e5534b'; g.fillRect(x, h - hp - hd, bw, hd);
  }
  g.fillStyle = '#7d8a99'; g.font = '11px sans-serif'; g.fillText(fmt(max) + ' pps', 4, 11);
  $('chart-span').textContent = history.length ? `since ${clock(history[0].time_ms)}` : 'no heartbeat yet';
}

const seen = new Set();   // event lines already shown (the stream replays the kept ones)
function showEvent(text) {
  if (seen.has(text)) return;
  seen.add(text);
  const e = JSON.parse(text);
  if (e.event === 'heartbeat') return;
  const line = document.createElement('div');
  const what = e.rules ? e.rules.join('\n  ') : (e.name ?? e.message ?? e.reason ?? '');
  line.textContent = `${e.time_ms ? clock(e.time_ms) + ' ' : ''}${e.interface ? '[' + e.interface + '] ' : ''}${e.event}${e.incident != null ? ' #' + e.incident : ''} ${what}`;
  $('log').prepend(line);
}

// Release (a false positive: out now, not derived again for a while) or pin (kept past its TTL,
// the operator's from then on): POST /api/rules/{id}/release|pin, with the token if the server
// asks for one.
document.querySelector('#rule-table').addEventListener('click', async ev => {
  const b = ev.target.closest('button[data-do]');
  if (!b) return;
  const id = b.dataset.id, action = b.dataset.do, where = b.dataset.if ? `?interface=${encodeURIComponent(b.dataset.if)}` : '';
  if (!confirm(action === 'release' ? `Release rule ${id} now? Its match is not derived again for a while.`
                                    : `Pin rule ${id}? It stays until removed with holon rules del ${id}.`)) return;
  const post = token => fetch(`/api/rules/${id}/${action}${where}`, {method: 'POST', headers: token ? {Authorization: 'Bearer ' + token} : {}});
  let r = await post(sessionStorage.getItem('holon-token'));
  if (r.status === 401) {
    const token = prompt('Token (holon run --http-token):');
    if (token) { sessionStorage.setItem('holon-token', token); r = await post(token); }
  }
  if (!r.ok) alert(`${action} ${id}: ${(await r.json().catch(() => ({}))).error ?? r.status}`);
  refresh();
});

// The loop's next samples as a pcap file (GET /api/capture), with the token if the server asks
// for one, and the interface if the run protects several.
$('capture').addEventListener('click', async () => {
  const b = $('capture');
  b.disabled = true; b.textContent = 'capturing 10 s…';
  let where = '';
  const get = () => {
    const token = sessionStorage.getItem('holon-token');
    return fetch(`/api/capture?count=100000&seconds=10${where}`, {headers: token ? {Authorization: 'Bearer ' + token} : {}});
  };
  let r = await get();
  if (r.status === 401) {
    const token = prompt('Token (holon run --http-token):');
    if (token) { sessionStorage.setItem('holon-token', token); r = await get(); }
  }
  if (r.status === 400) {
    const name = prompt(`${(await r.json().catch(() => ({}))).error ?? ''}\nInterface:`);
    if (name) { where = `&interface=${encodeURIComponent(name)}`; r = await get(); }
  }
  if (r.ok) {
    const a = document.createElement('a');
    a.href = URL.createObjectURL(await r.blob());
    a.download = `holon-${new Date().toISOString().replace(/[:.]/g, '-')}.pcap`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  } else if (r.status !== 400) {
    alert(`capture: ${(await r.json().catch(() => ({}))).error ?? r.status}`);
  }
  b.disabled = false; b.textContent = 'capture 10 s (pcap)';
});

async function refresh() {
  try {
    const r = await fetch(`/api/snapshot?minutes=${windowMs / 60000}${streaming ? '&events=false' : ''}`, {cache: 'no-store'});
    render(await r.json());
  } catch (e) {
    console.error('refresh failed', e);
    $('state').textContent = 'disconnected'; $('state').className = '';
  }
}

const initial = JSON.parse($('snapshot').textContent);
if (initial) render(initial);
// Events as they happen; `?events=0` polls only (and then the poll brings the events).
const streaming = new URLSearchParams(location.search).get('events') !== '0';
if (streaming) new EventSource('/api/events').onmessage = m => showEvent(m.data);
setInterval(refresh, 1000);
</script>
</body>
</html>
"""#
}
