/// The dashboard: one self-contained page (no external assets) that polls `/api/status`,
/// `/api/rules` and `/api/incidents` every second and follows `/api/events` (`/?events=0`: the
/// kept events once, no stream).
enum Dashboard {
    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Holon</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { --bg:#0f1419; --panel:#182029; --text:#d8dee6; --dim:#7d8a99; --pass:#4fb477; --drop:#e5534b; --accent:#58a6ff; }
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
  #log { font-family:ui-monospace, monospace; font-size:12px; max-height:220px; overflow:auto; white-space:pre-wrap; color:var(--dim); }
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
  <section><h2>traffic through the filter, last 2 minutes</h2>
    <canvas id="chart" width="1200" height="160"></canvas>
    <div class="legend"><span><i class="sw" style="background:var(--pass)"></i>passed</span><span><i class="sw" style="background:var(--drop)"></i>dropped</span></div>
  </section>
  <section><h2>incidents</h2><table id="incident-table"><thead><tr><th>#</th><th>opened</th><th>attack</th><th class="num">pps</th><th class="num">sources</th><th>rules</th></tr></thead><tbody></tbody></table></section>
  <section><h2>rules in the filter</h2><table id="rule-table"><thead><tr><th>id</th><th>owner</th><th>rule</th><th class="num">hits</th><th class="num">drops</th></tr></thead><tbody></tbody></table></section>
  <section><h2>events</h2><div id="log"></div></section>
</main>
<script>
const history = [];   // {t, passed, dropped} per second
let last = null;
const fmt = n => n == null ? '–' : Math.round(n).toLocaleString('en-US');
const esc = s => String(s ?? '').replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));

async function getJSON(path) { const r = await fetch(path, {cache: 'no-store'}); return r.json(); }

async function refresh() {
  try {
    const [status, rules, incidents] = await Promise.all([getJSON('/api/status'), getJSON('/api/rules'), getJSON('/api/incidents')]);
    const f = status.filter, s = status.sidecar, now = status.uptime_s;
    if (f && last) {
      const dt = Math.max(0.001, now - last.t);
      const pps = (f.packets - last.packets) / dt, dps = (f.dropped - last.dropped) / dt;
      document.getElementById('pps').textContent = fmt(pps);
      document.getElementById('dps').textContent = fmt(dps);
      history.push({passed: Math.max(0, pps - dps), dropped: Math.max(0, dps)});
      if (history.length > 120) history.shift();
      draw();
    }
    if (f) last = {t: now, packets: f.packets, dropped: f.dropped};
    document.getElementById('incidents').textContent = `${s.openIncidents} / ${s.incidents}`;
    document.getElementById('rules').textContent = `${s.rulesInstalled} / ${status.rules}`;
    document.getElementById('uptime').textContent = `up ${Math.round(now)} s · ${fmt(s.samples)} samples`;
    const st = document.getElementById('state');
    st.textContent = !s.warmedUp ? 'learning normal traffic' : (s.openIncidents > 0 ? 'under attack: mitigating' : 'watching');
    st.className = !s.warmedUp ? '' : (s.openIncidents > 0 ? 'incident' : 'armed');
    document.querySelector('#rule-table tbody').innerHTML = rules.map(r =>
      `<tr><td>${r.id}</td><td>${r.owner}</td><td class="rule" title="${esc(r.explanation)}">${esc(r.rule)}</td><td class="num">${fmt(r.hits)}</td><td class="num">${fmt(r.drops)}</td></tr>`).join('');
    document.querySelector('#incident-table tbody').innerHTML = incidents.map(i =>
      `<tr><td>${i.id}</td><td>${new Date(i.opened_at_ns / 1e6).toLocaleTimeString()}${i.closed_at_ns ? '' : ' (open)'}</td><td>${esc(i.name ?? '…')}</td><td class="num">${fmt(i.estimated_pps)}</td><td class="num">${fmt(i.distinct_sources)}</td><td class="rule">${i.rules.map(esc).join('<br>')}${i.refused ? '<br>not installed: ' + esc(i.refused) : ''}</td></tr>`).join('');
  } catch (e) {
    console.error('refresh failed', e);
    const st = document.getElementById('state');
    st.textContent = 'disconnected'; st.className = '';
  }
}

function draw() {
  const c = document.getElementById('chart'), g = c.getContext('2d');
  const w = c.width, h = c.height, n = 120, bw = w / n;
  g.clearRect(0, 0, w, h);
  const max = Math.max(1, ...history.map(p => p.passed + p.dropped));
  history.forEach((p, i) => {
    const x = (n - history.length + i) * bw;
    const hp = p.passed / max * (h - 14), hd = p.dropped / max * (h - 14);
    g.fillStyle = '#4fb477'; g.fillRect(x, h - hp, bw - 1, hp);
    g.fillStyle = '#e5534b'; g.fillRect(x, h - hp - hd, bw - 1, hd);
  });
  g.fillStyle = '#7d8a99'; g.font = '11px sans-serif'; g.fillText(fmt(max) + ' pps', 4, 11);
}

const log = document.getElementById('log');
function showEvent(m) {
  const e = JSON.parse(m.data);
  if (e.event === 'heartbeat') return;
  const line = document.createElement('div');
  const what = e.rules ? e.rules.join('\n  ') : (e.name ?? e.reason ?? '');
  line.textContent = `${e.event}${e.incident != null ? ' #' + e.incident : ''} ${what}`;
  log.prepend(line);
}
// Events as they happen; `?events=0` polls only (an open stream keeps a headless browser's
// virtual clock from advancing).
if (new URLSearchParams(location.search).get('events') !== '0') {
  new EventSource('/api/events').onmessage = m => { showEvent(m); refresh(); };
} else {
  fetch('/api/events?follow=false').then(r => r.text()).then(t =>
    t.split('\n\n').filter(x => x.startsWith('data: ')).forEach(x => showEvent({data: x.slice(6)})));
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
"""#
}
