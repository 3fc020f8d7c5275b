/// `GET /`: the one self-contained page (HTML, CSS and JavaScript in this file; no CDN, no build step, works
/// offline). It shows live power from `/events`, today's energy and gas (the history's current day plus what
/// the registers rose since), the meter and its M-Bus devices, and bar charts of the last 48 hours, 14 days
/// and 24 months from the history API.
///
/// Elements tests and scripts can read: `body[data-updates]` (events received), `#power-import`,
/// `#power-export`, `#power-net` (W, with `data-value`), `#power-l1…3`, `#voltage-l1…3`, `#current-l1…3`,
/// `#today-import`, `#today-export`, `#today-gas`, `#devices[data-count]`, `#chart-hours`, `#chart-days`,
/// `#chart-months` (SVG, `data-bars` = bars drawn), `#status[data-state]` (`connecting`, `live`, `offline`).
///
/// The page's token, if the server wants one, is read from its own URL (`/?token=…`) and sent as a bearer
/// header to the API and as `?token=` to `/events`. `/?events=N` closes the event stream after N events (for
/// headless browsers, whose virtual clock stands still while a stream is open).
enum WebPage {
    /// The Content-Security-Policy of the page.
    ///
    /// The inline script and style are allowed by their SHA-256 hashes rather than `'unsafe-inline'`: with a
    /// hash, only exactly this script can run, so text from the meter that somehow ended up as markup could
    /// never run as script. A hash (unlike a nonce) needs no randomness per response and lets the page bytes
    /// be built once. Everything else is denied except fetches and the event stream to this server.
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'sha256-\(SHA256.base64(SHA256.digest(Array(script.utf8))))'; "
        + "style-src 'sha256-\(SHA256.base64(SHA256.digest(Array(style.utf8))))'; connect-src 'self'; img-src 'self' data:; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

    /// The page response, built once.
    static let response: WebResponse = {
        var response = WebResponse(status: .ok, contentType: "text/html; charset=utf-8", body: Array(html.utf8))
        response.contentSecurityPolicy = contentSecurityPolicy
        return response
    }()

    /// The whole document.
    static let html = head + "<style>" + style + "</style></head>" + body + "<script>" + script + "</script></body></html>\n"

    private static let head = #"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width,initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <title>p1mqtt</title>
        """#

    static let style = #"""
        :root{--bg:#f5f6f8;--card:#fff;--fg:#1b1f24;--muted:#667085;--line:#e4e7ec;--imp:#d94841;--exp:#2f9e44;--gas:#e8a317;--net:#3568d4}
        @media (prefers-color-scheme:dark){:root{--bg:#111418;--card:#1b2027;--fg:#e6e8eb;--muted:#98a2b3;--line:#2c333d}}
        *{box-sizing:border-box}
        body{margin:0;font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--fg)}
        header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.4em 1em;padding:.8em 1em;border-bottom:1px solid var(--line);background:var(--card)}
        header h1{font-size:1.2em;margin:0}
        #status{font-size:.85em;padding:.1em .6em;border-radius:1em;background:var(--line)}
        #status[data-state=live]{background:var(--exp);color:#fff}
        #status[data-state=offline]{background:var(--imp);color:#fff}
        #updated{color:var(--muted);font-size:.85em}
        main{max-width:1100px;margin:0 auto;padding:1em;display:grid;gap:1em}
        .cards{display:grid;gap:1em;grid-template-columns:repeat(auto-fit,minmax(100px,1fr))}
        .cards.wide{grid-template-columns:repeat(auto-fit,minmax(250px,1fr))}
        .card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:.8em 1em;min-width:0}
        .card h2{font-size:.8em;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);margin:0 0 .3em}
        .big{white-space:nowrap;font-size:clamp(1.4em,7vw,2em);font-weight:600;font-variant-numeric:tabular-nums}
        .big small{font-size:.45em;color:var(--muted);font-weight:400}
        #card-import .big{color:var(--imp)}#card-export .big{color:var(--exp)}#card-net .big{color:var(--net)}
        table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
        th,td{padding:.25em .4em;text-align:right;border-bottom:1px solid var(--line)}
        th:first-child{text-align:left;color:var(--muted);font-weight:400}
        dl{display:grid;grid-template-columns:auto auto;gap:.2em 1em;margin:0}
        dt{color:var(--muted)}dd{margin:0;text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        th{white-space:nowrap}
        ul{list-style:none;margin:0;padding:0}
        li{padding:.35em 0;border-bottom:1px solid var(--line);overflow-wrap:anywhere}
        li:last-child{border:0}
        .muted{color:var(--muted);font-size:.85em}
        .charthead{display:flex;justify-content:space-between;align-items:baseline;gap:1em;flex-wrap:wrap}
        .modes button{font:inherit;font-size:.85em;border:1px solid var(--line);background:var(--card);color:var(--fg);padding:.2em .7em;border-radius:1em;cursor:pointer}
        .modes button[aria-pressed=true]{background:var(--net);color:#fff;border-color:var(--net)}
        svg.chart{width:100%;height:180px;display:block}
        svg .imp{fill:var(--imp)}svg .exp{fill:var(--exp)}svg .gas{fill:var(--gas)}svg .cur{opacity:.55}
        svg .axis{stroke:var(--line);stroke-width:1}
        svg text{fill:var(--muted);font-size:10px}
        footer{color:var(--muted);font-size:.8em;text-align:center;padding:1em}
        """#

    private static let body = #"""
        <body data-updates="0">
        <header><h1>p1mqtt</h1><span id="status" data-state="connecting">connecting…</span><span id="updated"></span></header>
        <main>
        <section class="cards">
        <div class="card" id="card-import"><h2>Import</h2><div class="big"><span id="power-import">–</span> <small>W</small></div></div>
        <div class="card" id="card-export"><h2>Export</h2><div class="big"><span id="power-export">–</span> <small>W</small></div></div>
        <div class="card" id="card-net"><h2>Net</h2><div class="big"><span id="power-net">–</span> <small>W</small></div></div>
        </section>
        <section class="cards wide">
        <div class="card"><h2>Per phase</h2><table><thead><tr><th></th><th>L1</th><th>L2</th><th>L3</th></tr></thead><tbody>
        <tr><th>Power W</th><td id="power-l1">–</td><td id="power-l2">–</td><td id="power-l3">–</td></tr>
        <tr><th>Voltage V</th><td id="voltage-l1">–</td><td id="voltage-l2">–</td><td id="voltage-l3">–</td></tr>
        <tr><th>Current A</th><td id="current-l1">–</td><td id="current-l2">–</td><td id="current-l3">–</td></tr>
        </tbody></table></div>
        <div class="card"><h2>Today</h2><dl>
        <dt>Import</dt><dd><span id="today-import">–</span> kWh</dd>
        <dt>Export</dt><dd><span id="today-export">–</span> kWh</dd>
        <dt>Gas</dt><dd><span id="today-gas">–</span> m³</dd>
        </dl><div class="muted" id="today-note"></div></div>
        <div class="card"><h2>Registers</h2><dl>
        <dt>Import</dt><dd><span id="total-import">–</span> kWh</dd>
        <dt>Export</dt><dd><span id="total-export">–</span> kWh</dd>
        <dt>Tariff</dt><dd id="tariff">–</dd>
        </dl></div>
        </section>
        <section class="card"><div class="charthead"><h2>History</h2><div class="modes">
        <button type="button" data-mode="energy" aria-pressed="true">Electricity</button>
        <button type="button" data-mode="gas" aria-pressed="false">Gas</button></div></div>
        <h2>Last 48 hours</h2><svg class="chart" id="chart-hours" data-bars="0" role="img" aria-label="Energy per hour, last 48 hours"></svg>
        <h2>Last 14 days</h2><svg class="chart" id="chart-days" data-bars="0" role="img" aria-label="Energy per day, last 14 days"></svg>
        <h2>Last 24 months</h2><svg class="chart" id="chart-months" data-bars="0" role="img" aria-label="Energy per month, last 24 months"></svg>
        <div class="muted" id="history-note"></div></section>
        <section class="card"><h2>Meter and devices</h2><ul id="devices" data-count="0"><li class="muted">waiting for the first telegram…</li></ul></section>
        </main>
        <footer>p1mqtt · <span id="footer-text">API under /api/v1/ · metrics at /metrics</span></footer>
        """#

    static let script = #"""
        (function () {
          'use strict';
          var params = new URLSearchParams(location.search);
          var token = params.get('token'), stopAfter = parseInt(params.get('events') || '0', 10);
          var updates = 0, mode = 'energy', history = {}, latest = null, baseline = null;
          function $(id) { return document.getElementById(id); }
          function api(path) {
            var headers = {};
            if (token) headers.Authorization = 'Bearer ' + token;
            return fetch(path, { headers: headers, cache: 'no-store' }).then(function (r) {
              if (!r.ok) { var e = new Error(path + ': ' + r.status); e.status = r.status; throw e; }
              return r.json();
            });
          }
          function show(id, text, value) {
            var el = $(id);
            if (!el) return;
            el.textContent = text;
            if (value !== undefined) el.setAttribute('data-value', String(value));
          }
          function index(doc) {
            var map = {};
            doc.readings.forEach(function (r) { map[r.path] = r; });
            return map;
          }
          function watts(r) {
            if (!r || typeof r.value !== 'number') return null;
            if (r.unit === 'kW') return r.value * 1000;
            if (r.unit === 'W') return r.value;
            return null;
          }
          function num(r) { return r && typeof r.value === 'number' ? r.value : null; }
          function fixed(v, digits) { return v === null || v === undefined || isNaN(v) ? '–' : v.toFixed(digits); }
          function gasReading(map) {
            for (var path in map) {
              if (/^gas_\d+\/reading$/.test(path)) return num(map[path]);
            }
            return null;
          }
          function totals(map) {
            return { imp: num(map.energy_import_total), exp: num(map.energy_export_total), gas: gasReading(map) };
          }
          function render(doc) {
            latest = doc;
            var m = index(doc);
            var imp = watts(m.power_import), exp = watts(m.power_export);
            var net = watts(m.power_net);
            if (net === null && imp !== null && exp !== null) net = imp - exp;
            show('power-import', fixed(imp, 0), imp);
            show('power-export', fixed(exp, 0), exp);
            show('power-net', fixed(net, 0), net);
            for (var p = 1; p <= 3; p++) {
              var pn = watts(m['power_net_l' + p]);
              if (pn === null) {
                var pi = watts(m['power_import_l' + p]), pe = watts(m['power_export_l' + p]);
                if (pi !== null) pn = pi - (pe || 0);
              }
              show('power-l' + p, fixed(pn, 0), pn);
              show('voltage-l' + p, fixed(num(m['voltage_l' + p]), 1));
              show('current-l' + p, fixed(num(m['current_l' + p]), 0));
            }
            var t = totals(m);
            show('total-import', fixed(t.imp, 3));
            show('total-export', fixed(t.exp, 3));
            show('tariff', m.tariff_indicator ? String(m.tariff_indicator.value) : '–');
            show('updated', 'updated ' + new Date(doc.received_at_unix * 1000).toLocaleTimeString());
            renderToday();
          }
          function renderToday() {
            var days = history.days;
            if (!days || !days.length || !latest) {
              if (history.off) show('today-note', 'history is off');
              return;
            }
            var today = days[days.length - 1], now = totals(index(latest));
            if (!baseline) baseline = now;
            function part(recorded, live, base) {
              if (recorded === null || recorded === undefined) return null;
              return recorded + (live !== null && base !== null ? Math.max(0, live - base) : 0);
            }
            show('today-import', fixed(part(today.energy_import_kwh.total, now.imp, baseline.imp), 3));
            show('today-export', fixed(part(today.energy_export_kwh.total, now.exp, baseline.exp), 3));
            show('today-gas', fixed(part(today.gas_m3, now.gas, baseline.gas), 3));
            show('today-note', 'since ' + today.start.slice(0, 10) + ' 00:00');
          }
          var SVG = 'http://www.w3.org/2000/svg';
          function node(name, attrs, parent) {
            var el = document.createElementNS(SVG, name);
            for (var k in attrs) el.setAttribute(k, String(attrs[k]));
            if (parent) parent.appendChild(el);
            return el;
          }
          function label(kind, start) {
            if (kind === 'hours') return start.slice(11, 13);
            if (kind === 'days') return start.slice(8, 10);
            return start.slice(5, 7);
          }
          function drawChart(kind) {
            var svg = $('chart-' + kind), records = history[kind] || [];
            while (svg.firstChild) svg.removeChild(svg.firstChild);
            // Drawn in the element's own pixels, so text is not stretched; redrawn when the window resizes.
            var width = Math.max(200, Math.round(svg.getBoundingClientRect().width) || 600), height = 180, top = 18, bottom = 16;
            svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
            var up = records.map(function (r) { return mode === 'gas' ? (r.gas_m3 || 0) : r.energy_import_kwh.total; });
            var down = records.map(function (r) { return mode === 'gas' ? 0 : r.energy_export_kwh.total; });
            var maxUp = Math.max.apply(null, up.concat([0])), maxDown = Math.max.apply(null, down.concat([0]));
            var scale = (maxUp + maxDown) || 1, usable = height - top - bottom;
            var axis = top + usable * maxUp / scale;
            var slot = width / Math.max(records.length, 1), bar = Math.max(1, slot * 0.8), bars = 0;
            var every = Math.ceil(records.length / Math.max(4, Math.floor(width / 50))) || 1;
            records.forEach(function (r, i) {
              var x = i * slot + (slot - bar) / 2, current = r.complete ? '' : ' cur';
              var unit = mode === 'gas' ? ' m³' : ' kWh';
              var h = usable * up[i] / scale;
              var rect = node('rect', { x: x.toFixed(1), y: (axis - h).toFixed(1), width: bar.toFixed(1), height: Math.max(h, 0.5).toFixed(1),
                'class': (mode === 'gas' ? 'gas' : 'imp') + current, 'data-value': up[i] }, svg);
              node('title', {}, rect).textContent = r.start.replace('T', ' ').slice(0, 16) + ': ' + up[i].toFixed(3) + unit + (mode === 'gas' ? '' : ' imported');
              bars++;
              if (down[i] > 0) {
                var d = usable * down[i] / scale;
                var rd = node('rect', { x: x.toFixed(1), y: axis.toFixed(1), width: bar.toFixed(1), height: d.toFixed(1), 'class': 'exp' + current }, svg);
                node('title', {}, rd).textContent = r.start.replace('T', ' ').slice(0, 16) + ': ' + down[i].toFixed(3) + ' kWh exported';
              }
              if (i % every === 0) {
                node('text', { x: (x + bar / 2).toFixed(1), y: height - 4, 'text-anchor': 'middle' }, svg).textContent = label(kind, r.start);
              }
            });
            node('line', { x1: 0, x2: width, y1: axis.toFixed(1), y2: axis.toFixed(1), 'class': 'axis' }, svg);
            node('text', { x: 2, y: top - 6 }, svg).textContent = maxUp.toFixed(maxUp < 10 ? 2 : 0) + (mode === 'gas' ? ' m³' : ' kWh');
            svg.setAttribute('data-bars', String(bars));
          }
          function loadHistory() {
            ['hours', 'days', 'months'].forEach(function (kind) {
              api('/api/v1/history/' + kind).then(function (records) {
                history[kind] = records;
                history.off = false;
                if (kind === 'days') { baseline = latest ? totals(index(latest)) : null; renderToday(); }
                drawChart(kind);
                show('history-note', '');
              }).catch(function (e) {
                if (e.status === 404) { history.off = true; show('history-note', 'The history is off.'); renderToday(); }
                else show('history-note', 'History not available (' + e.message + ').');
              });
            });
          }
          function loadDevices() {
            api('/api/v1/devices').then(function (d) {
              var list = $('devices');
              while (list.firstChild) list.removeChild(list.firstChild);
              var items = [];
              var m = d.meter;
              items.push(['meter', (m.manufacturer || 'Meter') + ' · ' + m.variant_name + (m.p1_version ? ' · P1 ' + m.p1_version : '') +
                (m.equipment_id ? ' · ' + m.equipment_id : '')]);
              d.mbus.forEach(function (b) {
                items.push([b.kind, b.kind + ' (channel ' + b.channel + ')' + (b.equipment_id ? ' · ' + b.equipment_id : '') +
                  (b.value !== null ? ' · ' + b.value + (b.unit ? ' ' + b.unit : '') : '') + (b.timestamp ? ' at ' + b.timestamp.replace('T', ' ').slice(0, 16) : '')]);
              });
              items.forEach(function (it) {
                var li = document.createElement('li');
                li.setAttribute('data-kind', it[0]);
                li.textContent = it[1];
                list.appendChild(li);
              });
              list.setAttribute('data-count', String(items.length));
            }).catch(function () {});
          }
          document.querySelectorAll('.modes button').forEach(function (b) {
            b.addEventListener('click', function () {
              mode = b.getAttribute('data-mode');
              document.querySelectorAll('.modes button').forEach(function (o) { o.setAttribute('aria-pressed', String(o === b)); });
              ['hours', 'days', 'months'].forEach(drawChart);
            });
          });
          var resizeTimer = null;
          window.addEventListener('resize', function () {
            clearTimeout(resizeTimer);
            resizeTimer = setTimeout(function () { ['hours', 'days', 'months'].forEach(drawChart); }, 200);
          });
          function connect() {
            var source = new EventSource('/events' + (token ? '?token=' + encodeURIComponent(token) : ''));
            source.onopen = function () { var s = $('status'); s.setAttribute('data-state', 'live'); s.textContent = 'live'; };
            source.onerror = function () { var s = $('status'); s.setAttribute('data-state', 'offline'); s.textContent = 'reconnecting…'; };
            source.onmessage = function (e) {
              var doc;
              try { doc = JSON.parse(e.data); } catch (err) { return; }
              updates++;
              document.body.setAttribute('data-updates', String(updates));
              if (!latest) loadDevices();
              render(doc);
              // ?events=N: stop listening after N events, so a headless browser's virtual clock can run out
              // (an open stream holds it) and the page can be captured (scripts/screenshot.sh, tests).
              if (stopAfter && updates >= stopAfter) source.close();
            };
          }
          api('/api/v1/readings').then(function (doc) { if (!latest) { render(doc); } }).catch(function () {});
          loadDevices();
          loadHistory();
          connect();
          setInterval(loadHistory, 300000);
          setInterval(loadDevices, 60000);
        })();
        """#
}
