/** The console's one stylesheet, served from /console/assets (the CSP allows no inline style). */
export const CONSOLE_CSS = `
:root {
  --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #ffffff; --panel: #f6f8fa;
  --accent: #0b5cad; --ok: #1a7f37; --bad: #b42318; --warn: #9a6700;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible {
  outline: 3px solid #f0b400; outline-offset: 2px;
}
.skip { position: absolute; left: -999px; }
.skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px 8px; z-index: 1; }
header.top {
  display: flex; flex-wrap: wrap; align-items: center; gap: 4px 24px;
  padding: 8px 24px; background: #0d1b2a; color: #fff;
}
header.top .brand { font-weight: 700; letter-spacing: .02em; color: #fff; text-decoration: none; }
header.top nav ul { display: flex; flex-wrap: wrap; gap: 4px 16px; list-style: none; margin: 0; padding: 0; }
header.top nav a { color: #d8e6f5; text-decoration: none; padding: 4px 0; }
header.top nav a[aria-current="page"] { color: #fff; border-bottom: 2px solid #f0b400; }
header.top .who { margin-left: auto; display: flex; gap: 12px; align-items: center; color: #d8e6f5; }
header.top .who button { background: transparent; color: #fff; border: 1px solid #8aa4c0; }
main { padding: 16px 24px 48px; max-width: 1280px; }
h1 { font-size: 1.5rem; margin: 8px 0 16px; }
h2 { font-size: 1.15rem; margin: 24px 0 8px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
pre { background: var(--panel); border: 1px solid var(--line); padding: 12px; overflow: auto; max-height: 32rem; white-space: pre-wrap; word-break: break-all; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); gap: 16px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; }
.card h2 { margin-top: 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-all; }
form.filters { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: flex-end; background: var(--panel); padding: 12px; border-radius: 6px; }
form.filters label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: 2px; }
input, select, button { font: inherit; padding: 5px 8px; border: 1px solid #8c959f; border-radius: 4px; background: #fff; color: var(--ink); }
button { cursor: pointer; background: var(--accent); color: #fff; border-color: var(--accent); }
button.secondary { background: #fff; color: var(--accent); }
.status-ok, .status-accepted, .status-delivered, .status-acknowledged { color: var(--ok); font-weight: 600; }
.status-rejected, .status-failed, .status-dead, .status-bad { color: var(--bad); font-weight: 600; }
.status-retry, .status-pending, .status-queued, .status-replayed, .status-running { color: var(--warn); font-weight: 600; }
.notice { border-left: 4px solid var(--accent); background: #eef5fc; padding: 8px 12px; margin: 8px 0; }
.notice.bad { border-color: var(--bad); background: #fdf0ef; }
.notice.good { border-color: var(--ok); background: #eef8f0; }
.muted { color: var(--muted); }
.pager { margin: 12px 0; }
.login { max-width: 26rem; margin: 10vh auto; border: 1px solid var(--line); border-radius: 8px; padding: 24px; }
.login label { display: block; margin: 12px 0 4px; }
.login input { width: 100%; }
.login button { margin-top: 16px; width: 100%; }
form.inline { display: inline; margin: 0; }
`;
