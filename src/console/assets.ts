/**
 * The console's only stylesheet and script, served by the gateway (no CDN). Contrast meets
 * WCAG AA on every text colour; focus is always visible; the layout folds to one column on
 * a narrow screen. The script only adds conveniences: pages work without it.
 */
export const CONSOLE_CSS = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;background:#f6f7f9}
a{color:#0b4fc2}a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f0b400;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:2}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.5rem;padding:.6rem 1.25rem;background:#16213a;color:#fff}
header.top a,header.top .who{color:#fff}.brand{font-weight:700;text-decoration:none;font-size:1.1rem}
nav ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;margin:0;padding:0}
nav a{text-decoration:none;padding:.35rem .1rem;display:inline-block}nav a[aria-current=page]{border-bottom:3px solid #f0b400;font-weight:600}
.signout{margin-left:auto}button.link{background:none;border:0;color:#fff;text-decoration:underline;cursor:pointer;font:inherit;padding:0;min-height:0}
main{max-width:72rem;margin:0 auto;padding:1rem 1.25rem 3rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
.card{background:#fff;border:1px solid #dde1e6;border-radius:10px;padding:1rem 1.25rem;margin:0 0 1rem}
.flash{padding:.6rem .9rem;border-radius:8px}.flash.ok{background:#e6f4ea;color:#14532d}.flash.error{background:#fdecec;color:#8a1c1c}
label{display:block;font-weight:600;margin:.6rem 0 .25rem}
input[type=text],input[type=email],input[type=password],input[type=number],input[type=url],select,textarea{width:100%;max-width:32rem;font:inherit;padding:.5rem .6rem;border:1px solid #8c959f;border-radius:6px;background:#fff}
button,.button{display:inline-block;min-height:40px;padding:.45rem 1rem;border:1px solid #0b4fc2;border-radius:6px;background:#0b4fc2;color:#fff;font:inherit;font-weight:600;text-decoration:none;cursor:pointer}
button.secondary,.button.secondary{background:#fff;color:#0b4fc2}button.danger{background:#b42318;border-color:#b42318}
form.inline{display:inline}
table{width:100%;border-collapse:collapse;background:#fff}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{font-size:.85rem;color:#3d4550;text-transform:uppercase;letter-spacing:.03em}
.table-wrap{overflow-x:auto}
code{font:14px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;background:#eef1f4;padding:.1rem .3rem;border-radius:4px;word-break:break-all}
.secret{font-size:1.1rem;padding:.6rem;display:block;background:#fff8e1;border:1px solid #e0b400}
.badge{display:inline-block;font-size:.8rem;font-weight:700;padding:.05rem .5rem;border-radius:999px;text-transform:uppercase}
.badge.pass,.badge.verified,.badge.delivered,.badge.ok{background:#e6f4ea;color:#14532d}.badge.warn,.badge.pending,.badge.deferred,.badge.queued{background:#fff4d6;color:#6b4a00}
.badge.fail,.badge.failed,.badge.bounced{background:#fdecec;color:#8a1c1c}.badge.info{background:#e8eefb;color:#1f3a7a}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(16rem,1fr));gap:1rem}
.muted{color:#57606a}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{color:#57606a}dd{margin:0;word-break:break-word}
svg.chart{width:100%;height:auto}svg.chart rect{fill:#0b4fc2}svg.chart text{font-size:10px;fill:#3d4550}
/* watch: dashboard, message log, timeline, DNS report, audit log */
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
ul.plain,ol.plain{list-style:none;margin:0;padding:0}
dl.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:.75rem}.stat{margin:0;display:block}.stat dt{color:#57606a}.stat strong{font-size:1.4rem}
.charts{grid-template-columns:repeat(auto-fill,minmax(20rem,1fr))}figure.chart-card{margin:0}figure.chart-card svg.chart text{font-size:13px}figure.chart-card h3{font-size:1rem;margin:0 0 .25rem}
form.search .fields{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:0 1rem}
ol.timeline{list-style:none;margin:0;padding:0 0 0 1rem;border-left:3px solid #c7ced6}ol.timeline>li{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:.5rem .9rem;margin:0 0 .75rem}
ol.timeline h3{font-size:1rem;margin:.2rem 0}ol.timeline h4{font-size:.95rem;margin:.5rem 0 .2rem}
pre.copy-block{white-space:pre-wrap;word-break:break-all;background:#eef1f4;padding:.5rem;border-radius:6px;font-size:14px}
li.finding h3{margin-top:0}.pager a{margin-right:1rem}td.detail code{word-break:break-word}code.nowrap{white-space:nowrap;word-break:normal}
.hint{margin:0 0 .25rem;color:#57606a;font-size:.9rem}.field-error{margin:.25rem 0 0;color:#8a1c1c;font-weight:600}.form-error{background:#fdecec;color:#8a1c1c;padding:.5rem .8rem;border-radius:6px}
[aria-invalid=true]{border-color:#b42318!important;border-width:2px!important}.card.warning{background:#fff8e1;border-color:#e0b400}
.checklist ol{margin:.25rem 0 0;padding-left:1.5rem}.checklist li{margin:.2rem 0}.checklist li[aria-current=step]{font-weight:600}
ul.plain{list-style:none;margin:0 0 .4rem;padding:0}form.compact label{font-weight:400;font-size:.9rem}form.compact input{max-width:18rem}
button.link-button{background:none;border:0;color:#0b4fc2;text-decoration:underline;cursor:pointer;font:inherit;padding:0;min-height:0}
.button.danger{background:#b42318;border-color:#b42318;color:#fff}ol.steps{padding-left:1.5rem}ol.steps>li{margin:0 0 .6rem}.step-name{font-weight:600}
pre.reply{white-space:pre-wrap;word-break:break-all;background:#eef1f4;padding:.4rem .6rem;border-radius:6px;font-size:14px;margin:.2rem 0}
tbody th{text-transform:none;letter-spacing:0;font-size:1rem;color:#1f2328}
pre.raw{white-space:pre-wrap;word-break:break-all;font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;max-height:40rem;overflow:auto}
@media (max-width:40rem){dl{grid-template-columns:1fr}header.top{padding:.6rem}.signout{margin-left:0}}
`;

export const CONSOLE_JS = `
document.querySelectorAll('button.copy').forEach(function (b) {
  if (!navigator.clipboard) return;
  b.hidden = false;
  b.addEventListener('click', function () {
    navigator.clipboard.writeText(b.dataset.copy || '').then(function () { b.textContent = 'Copied'; setTimeout(function () { b.textContent = 'Copy'; }, 1500); });
  });
});
document.querySelectorAll('[data-refresh]').forEach(function (el) {
  var ms = Number(el.getAttribute('data-refresh')) || 3000;
  var timer = setInterval(function () {
    fetch(location.href, { headers: { accept: 'text/html' }, credentials: 'same-origin' }).then(function (r) { return r.text(); }).then(function (t) {
      var next = new DOMParser().parseFromString(t, 'text/html').getElementById(el.id);
      if (next) el.innerHTML = next.innerHTML;
      // The page stops asking once what it waits for has settled (the fresh copy no longer asks to be refreshed).
      if (!next || !next.hasAttribute('data-refresh')) clearInterval(timer);
    });
  }, ms);
});
`;
