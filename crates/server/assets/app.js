// signal-ledger dashboard: PRD-162's four tabs over the server's JSON API.
// Plain JavaScript, no framework, no build step. Data from the ledger is only ever put into
// the page as text (textContent, attributes), never as HTML.
"use strict";

// ---------------------------------------------------------------------------------------------
// Small helpers: DOM, formatting, the API.

const $ = (id) => document.getElementById(id);

/** An element `tag` with attributes `attrs` and children (nodes or text). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";
/** An SVG element `tag` with attributes `attrs`. */
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** `hash` as its first `head` and last 4 hex digits. */
function shortHash(hash, head = 8) {
  if (typeof hash !== "string" || hash.length <= head + 6) return hash ?? "—";
  return `${hash.slice(0, head)}…${hash.slice(-4)}`;
}

/** An RFC 3339 time as `YYYY-MM-DD HH:MM:SS.mmm` (UTC, as the ledger records it); to the
 * second only when `seconds`. */
function fmtTime(text, seconds = false) {
  if (!text) return "—";
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$/.exec(text);
  if (!m) return text;
  if (seconds || !m[3]) return `${m[1]} ${m[2]}`;
  return `${m[1]} ${m[2]}.${m[3].padEnd(3, "0").slice(0, 3)}`;
}

/** Milliseconds since the epoch of an RFC 3339 time (fraction cut to milliseconds). */
function parseTime(text) {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(text ?? "");
  if (!m) return NaN;
  const frac = m[2] ? `.${m[2].padEnd(3, "0").slice(0, 3)}` : "";
  return Date.parse(`${m[1]}${frac}${m[3]}`);
}

const nf = new Intl.NumberFormat("en-US");
const fmtInt = (n) => (typeof n === "number" ? nf.format(n) : "—");
const fmtConv = (c) => (typeof c === "number" ? c.toFixed(3) : "—");

/** Milliseconds, with a unit that keeps them readable. */
function fmtMs(ms) {
  if (typeof ms !== "number" || !isFinite(ms)) return "—";
  if (ms < 1) return `${ms.toFixed(3)} ms`;
  if (ms < 1000) return `${ms.toFixed(ms < 10 ? 2 : 1)} ms`;
  const s = ms / 1000;
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  if (s < 172800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

/** A request that failed: its status and the server's one-line error. */
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const TOKEN_KEY = "signal-ledger.token";

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") {
    const token = localStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, `the server cannot be reached (${e.message})`);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const why = json && typeof json.error === "string" ? json.error : text.slice(0, 200);
    throw new ApiError(response.status, `${response.status}: ${why || response.statusText}`);
  }
  return json;
}

const getJSON = (path) => request("GET", path);
const postJSON = (path, body) => request("POST", path, body);

/** Repeated values of a comma-separated field ("AAPL, MSFT" → AAPL and MSFT). */
function listOf(text) {
  return (text ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

/** A conviction field's value: a number in 0..1, null when empty, or an Error. */
function convictionOf(input) {
  const text = input.value.trim();
  if (text === "") return null;
  const x = Number(text);
  if (!Number.isFinite(x) || x < 0 || x > 1) return new Error(`${input.name || "conviction"} must be between 0 and 1`);
  return x;
}

/** The largest double below positive `x`: bounds a half-open conviction bin. */
function nextDown(x) {
  const f = new Float64Array([x]);
  const bits = new BigInt64Array(f.buffer);
  bits[0] -= 1n;
  return f[0];
}

const timers = new Map();
/** Runs `fn` after `ms`, replacing any run of the same `name` not yet started. */
function debounce(name, ms, fn) {
  clearTimeout(timers.get(name));
  timers.set(name, setTimeout(fn, ms));
}

// ---------------------------------------------------------------------------------------------
// Tabs (the location hash names the tab, so a reload or a link keeps it).

const TABS = ["feed", "ledger", "integrity", "export"];
let currentTab = null;

function showTab(name) {
  if (!TABS.includes(name)) name = "feed";
  currentTab = name;
  for (const tab of TABS) {
    const active = tab === name;
    $(`tab-${tab}`).setAttribute("aria-selected", String(active));
    $(`tab-${tab}`).classList.toggle("active", active);
    $(`panel-${tab}`).hidden = !active;
  }
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
  document.body.dataset.tab = name;
  if (name === "feed") {
    pollFeed();
    refreshCharts(true);
  } else if (name === "ledger") {
    if (!ledger.loaded) loadLedgerPage(0);
  } else if (name === "integrity") {
    refreshIntegrity();
  } else if (name === "export") {
    updateExportLinks();
  }
}

// ---------------------------------------------------------------------------------------------
// Status bar: the head and its digest, refreshed every 5 s.

const status = { headSeq: null, lastTimestamp: null, firstTimestamp: null };

async function refreshStatus() {
  const conn = $("status-connection");
  try {
    const stats = await getJSON("/v1/stats");
    $("status-records").textContent = fmtInt(stats.records);
    $("status-segments").textContent = `${fmtInt(stats.segments)} (${fmtInt(stats.sealed_segments)} sealed)`;
    $("status-last").textContent = fmtTime(stats.last_timestamp);
    status.firstTimestamp = stats.first_timestamp;
    status.lastTimestamp = stats.last_timestamp;
    status.stats = stats;
    let digest = null;
    try {
      digest = await getJSON("/v1/digest");
    } catch (e) {
      if (e.status !== 404) throw e;
    }
    const changed = status.headSeq !== (digest ? digest.seq : null);
    status.headSeq = digest ? digest.seq : null;
    status.digest = digest;
    $("status-head-seq").textContent = digest ? fmtInt(digest.seq) : "empty";
    $("status-digest").textContent = digest ? shortHash(digest.row_hash) : "—";
    $("status-digest").title = digest ? digest.row_hash : "the ledger is empty";
    conn.textContent = "connected";
    conn.dataset.state = "ok";
    if (changed && currentTab === "feed") refreshCharts(false);
    if (currentTab === "integrity") refreshIntegrity(); // scheduled checks appear too
  } catch (e) {
    conn.textContent = `server unreachable: ${e.message}`;
    conn.dataset.state = "error";
  }
}

// ---------------------------------------------------------------------------------------------
// Signal Feed: poll the newest signals (seq-desc), the new ones and those shown again.

const FEED_KEEP = 500;
const FEED_POLL_MS = 1500;
/** The feed's state: `shown` maps the seq of each row shown to its outcome (`outcomeKey`). */
const feed = { key: null, maxSeq: -1, shown: new Map(), paused: false, busy: false, timer: null };

/** The feed filters as query parameters, or an Error naming the bad field. */
function feedParams() {
  const p = new URLSearchParams();
  for (const t of listOf($("feed-ticker").value)) p.append("ticker", t);
  for (const s of listOf($("feed-source").value)) p.append("source", s);
  if ($("feed-direction").value) p.append("direction", $("feed-direction").value);
  const min = convictionOf($("feed-min-conviction"));
  if (min instanceof Error) return min;
  if (min !== null) p.append("min_conviction", String(min));
  if ($("feed-acted-upon").value) p.append("acted_upon", $("feed-acted-upon").value);
  return p;
}

function resetFeed(key) {
  feed.key = key;
  feed.maxSeq = -1;
  feed.shown.clear();
  $("feed-rows").replaceChildren();
}

/** What a record's "acted upon" cell shows: its row is built again when this changes. */
function outcomeKey(r) {
  return `${r.acted_upon}|${r.execution_id ?? ""}`;
}

function actedCell(r) {
  if (r.acted_upon === true) {
    return el("span", { class: "badge acted", title: r.execution_id ? `execution ${r.execution_id}` : "acted upon" }, "acted");
  }
  if (r.acted_upon === false) return el("span", { class: "badge dismissed" }, "dismissed");
  return el("span", { class: "muted" }, "pending");
}

function directionCell(d) {
  return el("span", { class: `dir dir-${d}` }, d);
}

function convictionCell(c) {
  const bar = el("span", { class: "conv-bar" }, el("span", { class: "conv-fill" }));
  bar.firstChild.style.width = `${Math.max(0, Math.min(1, c)) * 100}%`;
  return el("span", { class: "conv" }, bar, el("span", { class: "num" }, fmtConv(c)));
}

function feedRow(r, fresh) {
  return el(
    "tr",
    { "data-testid": "feed-row", "data-seq": r.seq, "data-ticker": r.ticker, class: fresh ? "fresh" : null },
    el("td", { class: "num mono" }, r.seq),
    el("td", { class: "mono" }, fmtTime(r.timestamp)),
    el("td", { class: "ticker", "data-col": "ticker" }, r.ticker),
    el("td", { "data-col": "source" }, r.source_module),
    el("td", { "data-col": "direction" }, directionCell(r.direction)),
    el("td", {}, r.signal_type),
    el("td", { "data-col": "conviction" }, convictionCell(r.conviction)),
    el("td", { class: "num mono" }, r.price === null ? "—" : r.price),
    el("td", { "data-col": "acted_upon" }, actedCell(r)),
  );
}

async function pollFeed() {
  clearTimeout(feed.timer);
  feed.timer = null;
  if (currentTab !== "feed") return;
  if (feed.paused || feed.busy) {
    if (!feed.paused) feed.timer = setTimeout(pollFeed, FEED_POLL_MS);
    return;
  }
  const statusLine = $("feed-status");
  const params = feedParams();
  if (params instanceof Error) {
    statusLine.textContent = params.message;
    statusLine.dataset.state = "error";
    feed.timer = setTimeout(pollFeed, FEED_POLL_MS);
    return;
  }
  const key = params.toString();
  if (key !== feed.key) resetFeed(key);
  feed.busy = true;
  try {
    // The newest page again, as many rows as shown (at least the first page's 100) plus the new
    // signals: an outcome recorded since updates its row, and a signal that has come to match
    // the filters since (its outcome recorded later) appears in its place. At most FEED_KEEP.
    const first = feed.maxSeq < 0;
    const size = Math.max(100, $("feed-rows").children.length);
    const latest = [];
    const inLatest = new Set();
    let fresh = 0;
    let caughtUp = false; // a row shown before reached: every new signal is in `latest`
    let cursor = null;
    for (;;) {
      const p = new URLSearchParams(params);
      p.set("order", "seq-desc");
      p.set("limit", String(first ? 100 : Math.min(FEED_KEEP, size + 50)));
      if (cursor) p.set("cursor", cursor);
      const page = await getJSON(`/v1/signals?${p}`);
      for (const r of page.records) {
        if (inLatest.has(r.seq)) continue;
        inLatest.add(r.seq);
        latest.push(r);
        if (r.seq > feed.maxSeq) fresh += 1;
        else caughtUp = true;
      }
      const enough = caughtUp && latest.length >= size + fresh;
      if (first || enough || !page.next_cursor || latest.length >= FEED_KEEP) break;
      cursor = page.next_cursor;
    }
    const current = feedParams();
    if (current instanceof Error || current.toString() !== key) return; // filters changed meanwhile
    const rows = $("feed-rows");
    const kept = new Map();
    for (const tr of rows.children) kept.set(Number(tr.dataset.seq), tr);
    const shown = new Map();
    const list = [];
    let added = 0;
    for (const r of latest.slice(0, Math.min(FEED_KEEP, size + fresh))) {
      const outcome = outcomeKey(r);
      const old = kept.get(r.seq);
      const isNew = !feed.shown.has(r.seq);
      if (isNew) added += 1;
      // A row is built again only when it is new or its outcome changed.
      list.push(old && feed.shown.get(r.seq) === outcome ? old : feedRow(r, !first && isNew));
      shown.set(r.seq, outcome);
    }
    rows.replaceChildren(...list);
    feed.shown = shown;
    if (list.length) feed.maxSeq = Math.max(feed.maxSeq, latest[0].seq);
    $("feed-empty").hidden = rows.children.length > 0;
    const news = first ? "" : added ? ` · ${added} new` : "";
    statusLine.textContent = `Live · ${fmtInt(rows.children.length)} shown${news} · updated ${new Date().toLocaleTimeString("en-GB", { timeZone: "UTC" })} UTC`;
    statusLine.dataset.state = "live";
    if (!first) {
      setTimeout(() => {
        for (const tr of rows.querySelectorAll("tr.fresh")) tr.classList.remove("fresh");
      }, 1200);
    }
  } catch (e) {
    statusLine.textContent = `Feed error: ${e.message}`;
    statusLine.dataset.state = "error";
  } finally {
    feed.busy = false;
    if (currentTab === "feed" && !feed.paused && feed.timer === null) {
      feed.timer = setTimeout(pollFeed, FEED_POLL_MS);
    }
  }
}

function setPaused(paused) {
  feed.paused = paused;
  const button = $("feed-pause");
  button.textContent = paused ? "Resume" : "Pause";
  button.setAttribute("aria-pressed", String(paused));
  button.classList.toggle("active", paused);
  if (paused) {
    clearTimeout(feed.timer);
    feed.timer = null;
    $("feed-status").textContent = `Paused · ${fmtInt($("feed-rows").children.length)} shown`;
    $("feed-status").dataset.state = "paused";
  } else {
    pollFeed();
  }
}

function onFeedFiltersChanged() {
  debounce("feed-filters", 300, () => {
    if (!feed.paused) pollFeed();
    refreshCharts(true);
  });
}

// ---------------------------------------------------------------------------------------------
// Charts, drawn as SVG: signals per source over time, conviction histogram, persist latency.

const PALETTE = ["#2f5d9e", "#2a9d8f", "#7b5ea7", "#c9822b", "#c0506a", "#5c6b7a"];
const TOP_SOURCES = 6;
const charts = { busy: false, last: 0 };

/** A round step for an axis reaching `max` in about `n` ticks. */
function niceStep(max, n) {
  const raw = Math.max(max, 1) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

function chartMessage(container, text) {
  container.replaceChildren(el("p", { class: "chart-empty" }, text));
}

/** The bucket width for the ledger's timestamp span: at most a few hundred buckets. */
function bucketFor(firstText, lastText) {
  const span = parseTime(lastText) - parseTime(firstText);
  if (!(span >= 0)) return { group: "day", ms: 86400e3 };
  if (span <= 3 * 3600e3) return { group: "minute", ms: 60e3 };
  if (span <= 10 * 86400e3) return { group: "hour", ms: 3600e3 };
  return { group: "day", ms: 86400e3 };
}

async function refreshCharts(force) {
  if (currentTab !== "feed" || charts.busy) return;
  const now = Date.now();
  if (!force && now - charts.last < 10000) return;
  const params = feedParams();
  if (params instanceof Error) return;
  charts.busy = true;
  charts.last = now;
  try {
    if (!status.stats) await refreshStatus();
    await Promise.all([
      drawSourcesChart(params).catch((e) => chartMessage($("chart-sources"), e.message)),
      drawConvictionChart(params).catch((e) => chartMessage($("chart-conviction"), e.message)),
      drawLatencyChart().catch((e) => chartMessage($("chart-latency"), e.message)),
    ]);
  } finally {
    charts.busy = false;
  }
}

async function drawSourcesChart(params) {
  const container = $("chart-sources");
  const bySource = await getJSON(`/v1/aggregate?group_by=source&${params}`);
  const sources = bySource.groups.filter((g) => g.count > 0).sort((a, b) => b.count - a.count);
  if (!sources.length) {
    $("chart-sources-note").textContent = "";
    return chartMessage(container, "No signal matches.");
  }
  const top = sources.slice(0, TOP_SOURCES);
  const bucket = bucketFor(status.firstTimestamp, status.lastTimestamp);
  $("chart-sources-note").textContent =
    `per ${bucket.group}${sources.length > top.length ? ` · top ${top.length} of ${sources.length} sources` : ""}`;
  // One aggregate per source, grouped by time bucket (counted from the indexes, exact).
  const series = await Promise.all(
    top.map(async (s) => {
      const p = new URLSearchParams(params);
      p.delete("source");
      p.append("source", s.key);
      p.set("group_by", bucket.group);
      const body = await getJSON(`/v1/aggregate?${p}`);
      const points = new Map();
      for (const g of body.groups) points.set(parseTime(g.key), g.count);
      return { name: s.key, total: s.count, points };
    }),
  );
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const t of s.points.keys()) {
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
  }
  const steps = Math.min(Math.round((hi - lo) / bucket.ms), 5000);
  const times = Array.from({ length: steps + 1 }, (_, i) => lo + i * bucket.ms);
  // Stacked columns: each bucket's column is its total, split by source.
  const totals = times.map((t) => series.reduce((n, s) => n + (s.points.get(t) ?? 0), 0));
  const max = Math.max(...totals, 1);

  const W = 440, H = 190, L = 40, R = 10, T = 10, B = 24;
  const step = niceStep(max, 4);
  const yMax = Math.ceil(max / step) * step || 1;
  const slot = (W - L - R) / times.length;
  const gap = slot > 6 ? Math.min(2, slot * 0.15) : 0;
  const x = (i) => L + i * slot;
  const y = (v) => T + (1 - v / yMax) * (H - T - B);
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img", "aria-label": "Signals per source over time" });
  for (let v = 0; v <= yMax + 1e-9; v += step) {
    root.append(
      svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid-line" }),
      svg("text", { x: L - 6, y: y(v) + 3, class: "axis-label", "text-anchor": "end" }, fmtInt(v)),
    );
  }
  const labelAt = (i, anchor) => {
    const d = new Date(times[i]).toISOString();
    const text = bucket.group === "day" ? d.slice(0, 10) : bucket.group === "hour" ? `${d.slice(5, 10)} ${d.slice(11, 16)}` : d.slice(11, 16);
    const at = anchor === "start" ? x(i) : anchor === "end" ? x(i) + slot : x(i) + slot / 2;
    root.append(svg("text", { x: at, y: H - 6, class: "axis-label", "text-anchor": anchor }, text));
  };
  labelAt(0, "start");
  if (times.length > 2) labelAt(Math.floor(times.length / 2), "middle");
  if (times.length > 1) labelAt(times.length - 1, "end");
  const base = times.map(() => 0);
  series.forEach((s, k) => {
    const group = svg("g", { fill: PALETTE[k % PALETTE.length], "data-source": s.name });
    times.forEach((t, i) => {
      const v = s.points.get(t) ?? 0;
      if (!v) return;
      const rect = svg("rect", {
        x: (x(i) + gap / 2).toFixed(2), width: Math.max(0.5, slot - gap).toFixed(2),
        y: y(base[i] + v).toFixed(2), height: (y(base[i]) - y(base[i] + v)).toFixed(2),
      });
      const d = new Date(t).toISOString();
      rect.append(svg("title", {}, `${s.name} · ${bucket.group === "day" ? d.slice(0, 10) : d.slice(0, 16).replace("T", " ")}: ${fmtInt(v)}`));
      group.append(rect);
      base[i] += v;
    });
    root.append(group);
  });
  const legend = el(
    "ul",
    { class: "legend", "data-testid": "chart-sources-legend" },
    series.map((s, i) => {
      const swatch = el("span", { class: "swatch" });
      swatch.style.background = PALETTE[i % PALETTE.length];
      return el("li", {}, swatch, s.name, el("span", { class: "muted" }, ` ${fmtInt(s.total)}`));
    }),
  );
  container.replaceChildren(root, legend);
}

async function drawConvictionChart(params) {
  const container = $("chart-conviction");
  const userMin = params.has("min_conviction") ? Number(params.get("min_conviction")) : 0;
  // Ten half-open bins [k/10, (k+1)/10), the last closed: one aggregate each, exact.
  const bins = Array.from({ length: 10 }, (_, k) => ({ lo: k / 10, hi: (k + 1) / 10, count: 0 }));
  await Promise.all(
    bins.map(async (b, k) => {
      const upper = k === 9 ? 1 : nextDown(b.hi);
      if (upper < userMin) return;
      const p = new URLSearchParams(params);
      p.set("min_conviction", String(Math.max(b.lo, userMin)));
      p.set("max_conviction", String(upper));
      const body = await getJSON(`/v1/aggregate?${p}`);
      b.count = body.groups.reduce((n, g) => n + g.count, 0);
    }),
  );
  const total = bins.reduce((n, b) => n + b.count, 0);
  $("chart-conviction-note").textContent = total ? `· ${fmtInt(total)} signals` : "";
  if (!total) return chartMessage(container, "No signal matches.");
  const max = Math.max(...bins.map((b) => b.count));
  const W = 440, H = 190, L = 40, R = 10, T = 10, B = 24;
  const step = niceStep(max, 4);
  const yMax = Math.ceil(max / step) * step || 1;
  const y = (v) => T + (1 - v / yMax) * (H - T - B);
  const bw = (W - L - R) / bins.length;
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img", "aria-label": "Conviction histogram" });
  for (let v = 0; v <= yMax + 1e-9; v += step) {
    root.append(
      svg("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "grid-line" }),
      svg("text", { x: L - 6, y: y(v) + 3, class: "axis-label", "text-anchor": "end" }, fmtInt(v)),
    );
  }
  bins.forEach((b, i) => {
    const rect = svg("rect", {
      x: L + i * bw + 2, y: y(b.count), width: bw - 4, height: Math.max(0, y(0) - y(b.count)),
      class: "bar", "data-testid": "conviction-bin", "data-count": b.count,
    });
    rect.append(svg("title", {}, `${b.lo.toFixed(1)}–${b.hi.toFixed(1)}: ${fmtInt(b.count)}`));
    root.append(rect);
    if (i % 2 === 0) root.append(svg("text", { x: L + i * bw, y: H - 6, class: "axis-label", "text-anchor": "start" }, b.lo.toFixed(1)));
  });
  root.append(svg("text", { x: W - R, y: H - 6, class: "axis-label", "text-anchor": "end" }, "1.0"));
  container.replaceChildren(root);
}

async function drawLatencyChart() {
  const container = $("chart-latency");
  const stats = await getJSON("/v1/stats");
  const d = stats.sink.persist_latency_ms;
  const q = stats.sink.queue_to_durable_ms;
  $("chart-latency-note").textContent = d.count ? `· ${fmtInt(d.count)} since the server started` : "";
  if (!d.count) return chartMessage(container, "No signal persisted since the server started.");
  const rows = [["p50", "p50"], ["p90", "p90"], ["p99", "p99"], ["p99.9", "p999"], ["max", "max"]];
  const TARGET = 500; // PRD-162: every signal persisted within 500 ms of creation.
  // The sink's histograms saturate at one hour (the engine's LATENCY_MAX_US).
  const CAP = 3_600_000;
  const capped = (v) => v >= CAP * 0.999;
  const label = (v) => (capped(v) ? "≥ 1 h" : fmtMs(v));
  const values = rows.flatMap(([, k]) => [d[k], q[k]]).concat([TARGET]);
  const positive = values.filter((v) => v > 0);
  const vmax = Math.max(...positive, 1);
  const vmin = Math.min(...positive, vmax);
  const log = vmax / Math.max(vmin, 1e-3) > 50;
  const W = 440, H = 190, L = 48, R = 12, T = 8, B = 30;
  const lo = log ? Math.max(Math.min(vmin, 1), 1e-3) / 2 : 0;
  const hi = vmax * 1.05;
  const x = (v) => {
    if (!log) return L + (v / hi) * (W - L - R);
    const c = Math.log10(Math.max(v, lo));
    return L + ((c - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (W - L - R);
  };
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart-svg", role: "img", "aria-label": "Persist latency percentiles" });
  const rowH = (H - T - B) / rows.length;
  // A value after its bar, or inside its end when the bar leaves no room.
  const barLabel = (end, baseline, text, light) => {
    const inside = end + 64 > W - R;
    return svg("text", {
      x: inside ? end - 4 : end + 4, y: baseline, "text-anchor": inside ? "end" : "start",
      class: inside && !light ? "value-label inside" : "value-label",
    }, text);
  };
  rows.forEach(([name, k], i) => {
    const top = T + i * rowH;
    root.append(svg("text", { x: L - 6, y: top + rowH / 2 + 3, class: "axis-label", "text-anchor": "end" }, name));
    const a = svg("rect", { x: L, y: top + 3, width: Math.max(1, x(d[k]) - L), height: rowH / 2 - 3, class: "bar", "data-testid": `latency-${name}` });
    a.append(svg("title", {}, `persist ${name}: ${label(d[k])}`));
    const b = svg("rect", { x: L, y: top + rowH / 2, width: Math.max(1, x(q[k]) - L), height: rowH / 2 - 3, class: "bar secondary" });
    b.append(svg("title", {}, `queue → durable ${name}: ${label(q[k])}`));
    root.append(a, b, barLabel(x(d[k]), top + rowH / 2 - 2, label(d[k])), barLabel(x(q[k]), top + rowH - 4, label(q[k]), true));
  });
  const tx = x(TARGET);
  root.append(
    svg("line", { x1: tx, x2: tx, y1: T, y2: H - B + 4, class: "target-line" }),
    svg("text", { x: tx, y: H - 8, class: "axis-label target", "text-anchor": "middle" }, `500 ms target${log ? " · log scale" : ""}`),
  );
  const swatch = (cls) => el("span", { class: `swatch ${cls}` });
  const legend = el("ul", { class: "legend" },
    el("li", {}, swatch("primary"), "signal time → durable"),
    el("li", {}, swatch("secondary"), "queued → durable"));
  const note = capped(d.max) || capped(q.max)
    ? el("p", { class: "chart-note muted" }, "The sink counts latencies over 1 h as 1 h: signals timestamped long before they were recorded (a backfill) reach it.")
    : null;
  container.replaceChildren(root, legend, ...(note ? [note] : []));
}

// ---------------------------------------------------------------------------------------------
// Audit Ledger: pages of records, newest seq first, with a cursor stack; a details panel.

const ledger = {
  loaded: false,
  cursors: [null], // cursors[i] fetches page i
  page: 0,
  records: [],
  below: null, // the first record of the next page, for the last row's link
  selected: null,
  busy: false,
};

function pageSize() {
  return Number($("ledger-page-size").value) || 50;
}

async function fetchPage(cursor, limit) {
  const p = new URLSearchParams({ order: "seq-desc", limit: String(limit) });
  if (cursor) p.set("cursor", cursor);
  return getJSON(`/v1/signals?${p}`);
}

/** Loads page `index` (0 = newest); `select` picks "first", "last" or a seq after loading. */
async function loadLedgerPage(index, select) {
  if (ledger.busy) return;
  ledger.busy = true;
  const range = $("ledger-range");
  try {
    if (index === 0) ledger.cursors = [null];
    const page = await fetchPage(ledger.cursors[index], pageSize());
    ledger.page = index;
    ledger.records = page.records;
    ledger.cursors[index + 1] = page.next_cursor ?? undefined;
    ledger.cursors.length = index + 2;
    ledger.below = null;
    if (page.next_cursor) {
      const next = await fetchPage(page.next_cursor, 1);
      ledger.below = next.records[0] ?? null;
    }
    ledger.loaded = true;
    renderLedger();
    if (select === "first" && ledger.records.length) selectRecord(ledger.records[0]);
    else if (select === "last" && ledger.records.length) selectRecord(ledger.records[ledger.records.length - 1]);
    else if (typeof select === "number") {
      const again = ledger.records.find((x) => x.seq === select);
      if (again) selectRecord(again);
    }
  } catch (e) {
    range.textContent = `Error: ${e.message}`;
  } finally {
    ledger.busy = false;
  }
}

/** The record just before seq `r.seq` in the loaded rows (or the first of the next page). */
function olderNeighbour(index) {
  return ledger.records[index + 1] ?? (index === ledger.records.length - 1 ? ledger.below : null);
}

/** The link of record `r` to `prev` (the signal record loaded just below it). */
function linkState(r, prev) {
  if (r.seq === 0) return { state: r.prev_hash === "0".repeat(64) ? "ok" : "bad", text: "genesis" };
  if (!prev || prev.seq !== r.seq - 1) return { state: "unknown", text: "" };
  return prev.row_hash === r.prev_hash ? { state: "ok", text: "" } : { state: "bad", text: "" };
}

function renderLedger() {
  const rows = $("ledger-rows");
  rows.replaceChildren(
    ...ledger.records.map((r, i) => {
      const link = linkState(r, olderNeighbour(i));
      const symbol = link.state === "ok" ? "✓" : link.state === "bad" ? "✗" : "○";
      const linkTitle = {
        ok: "prev_hash equals the row_hash of the entry before",
        bad: "prev_hash differs from the row_hash of the entry before",
        unknown: "the entry before is not a signal record on this page: run the Integrity Check",
      }[link.state];
      return el(
        "tr",
        {
          "data-testid": "ledger-row",
          "data-seq": r.seq,
          tabindex: 0,
          class: ledger.selected && ledger.selected.seq === r.seq ? "selected" : null,
          onclick: () => selectRecord(r),
          onkeydown: (ev) => {
            if (ev.key === "Enter") selectRecord(r);
          },
        },
        el("td", { class: "num mono" }, r.seq),
        el("td", { class: "mono", title: r.recorded_at }, fmtTime(r.recorded_at, true)),
        el("td", { class: "ticker" }, r.ticker),
        el("td", {}, r.source_module),
        el("td", {}, directionCell(r.direction)),
        el("td", { class: "num mono" }, fmtConv(r.conviction)),
        el("td", { class: "mono hash", title: r.prev_hash }, shortHash(r.prev_hash, 6)),
        el("td", { class: "mono hash", title: r.row_hash }, shortHash(r.row_hash, 6)),
        el("td", { class: `link link-${link.state}`, title: linkTitle, "data-testid": "ledger-link" }, symbol),
        el("td", {}, actedCell(r)),
      );
    }),
  );
  $("ledger-empty").hidden = ledger.records.length > 0;
  const rs = ledger.records;
  $("ledger-range").textContent = rs.length
    ? `Page ${ledger.page + 1} · seq ${fmtInt(rs[0].seq)} – ${fmtInt(rs[rs.length - 1].seq)}`
    : "No records";
  $("ledger-newer").disabled = ledger.page === 0;
  $("ledger-older").disabled = !ledger.cursors[ledger.page + 1];
}

const COLUMNS = [
  "seq", "signal_id", "source_module", "source_version", "ticker", "direction", "conviction",
  "signal_type", "timeframe", "price", "timestamp", "recorded_at", "expires_at", "strategy_id",
  "correlation_id", "parent_signal_ids", "acted_upon", "execution_id", "latency_ms",
  "payload_json", "prev_hash", "row_hash",
];

function columnValue(key, v) {
  if (v === null || v === undefined) return el("span", { class: "muted" }, "null");
  if (key === "payload_json") return el("pre", { class: "payload" }, JSON.stringify(v, null, 2));
  if (key === "parent_signal_ids") return v.length ? el("span", { class: "mono wrap" }, v.join(", ")) : el("span", { class: "muted" }, "none");
  if (typeof v === "object") return el("span", { class: "mono wrap" }, JSON.stringify(v));
  if (key === "latency_ms") return el("span", { class: "mono" }, String(v), el("span", { class: "muted" }, ` (${fmtMs(v)})`));
  if (key === "timestamp" || key.endsWith("_at")) return el("span", { class: "mono nowrap" }, String(v));
  const mono = /hash|_id|seq/.test(key);
  return el("span", { class: mono ? "mono wrap" : "" }, String(v));
}

function selectRecord(r) {
  ledger.selected = r;
  for (const tr of $("ledger-rows").children) tr.classList.toggle("selected", Number(tr.dataset.seq) === r.seq);
  $("details-placeholder").hidden = true;
  $("details-body").hidden = false;
  $("details-seq").textContent = `seq ${r.seq}`;
  $("outcome-result").textContent = "";

  const index = ledger.records.findIndex((x) => x.seq === r.seq);
  const onPage = index >= 0;
  const older = onPage ? olderNeighbour(index) : null;
  const newer = onPage && index > 0 ? ledger.records[index - 1] : null;
  // Previous / next signal record, across page boundaries.
  $("details-prev").disabled = !onPage || (!older && !ledger.cursors[ledger.page + 1]);
  $("details-next").disabled = !onPage || (index === 0 && ledger.page === 0);
  $("details-prev").title = onPage ? "" : "this record is not on the current page";
  $("details-next").title = $("details-prev").title;

  const chain = $("details-chain");
  const items = [];
  if (r.seq === 0) {
    const ok = r.prev_hash === "0".repeat(64);
    items.push(el("li", { class: ok ? "ok" : "bad", "data-testid": "chain-prev" },
      ok ? "✓ Genesis record: prev_hash is the genesis value (all zeros)." : "✗ Seq 0 should carry the genesis prev_hash (all zeros)."));
  } else if (older && older.seq === r.seq - 1) {
    const ok = older.row_hash === r.prev_hash;
    items.push(el("li", { class: ok ? "ok" : "bad", "data-testid": "chain-prev" },
      ok ? `✓ prev_hash matches the row_hash of seq ${older.seq}.` : `✗ prev_hash does NOT match the row_hash of seq ${older.seq} (${shortHash(older.row_hash)}).`));
  } else {
    items.push(el("li", { class: "unknown", "data-testid": "chain-prev" },
      `○ Seq ${r.seq - 1} is ${onPage ? "not a signal record (an outcome entry)" : "not loaded"}: the Integrity Check verifies this link.`));
  }
  if (newer && newer.seq === r.seq + 1) {
    const ok = newer.prev_hash === r.row_hash;
    items.push(el("li", { class: ok ? "ok" : "bad", "data-testid": "chain-next" },
      ok ? `✓ row_hash is the prev_hash of seq ${newer.seq}.` : `✗ row_hash differs from the prev_hash of seq ${newer.seq}.`));
  } else if (onPage && index === 0 && ledger.page === 0 && status.headSeq === r.seq) {
    items.push(el("li", { class: "ok", "data-testid": "chain-next" }, "This record is the ledger's head: its row_hash is the head digest."));
  } else {
    items.push(el("li", { class: "unknown", "data-testid": "chain-next" },
      `○ Seq ${r.seq + 1} is not shown here${newer ? " (an outcome entry comes between)" : ""}.`));
  }
  chain.replaceChildren(...items);

  const body = $("details-columns").tBodies[0];
  body.replaceChildren(
    ...COLUMNS.map((key) => el("tr", { "data-column": key }, el("th", {}, key), el("td", {}, columnValue(key, r[key])))),
  );
  loadLineage(r);
}

function lineageNode(n) {
  const r = n.record;
  const label = r
    ? el("button", { type: "button", class: "linklike", onclick: () => selectRecord(r) },
      `seq ${r.seq} · ${r.ticker} · ${r.source_module} · ${r.signal_type}`)
    : el("span", { class: "muted" }, "not in the ledger");
  const item = el("li", { "data-testid": "lineage-node", "data-signal-id": n.signal_id },
    el("code", { class: "mono" }, n.signal_id), " ", label);
  if (n.links && n.links.length) item.append(el("ul", {}, n.links.map(lineageNode)));
  return item;
}

async function loadLineage(r) {
  const box = $("details-lineage");
  box.replaceChildren(el("p", { class: "muted" }, "Loading lineage…"));
  try {
    const body = await getJSON(`/v1/lineage/${encodeURIComponent(r.signal_id)}?depth=16&max_nodes=200`);
    if (ledger.selected !== r) return;
    const tree = (title, t, testid) =>
      el("div", { class: "lineage-tree", "data-testid": testid },
        el("h4", {}, `${title} (${t.node_count}${t.truncated ? ", truncated" : ""})`),
        t.nodes.length ? el("ul", {}, t.nodes.map(lineageNode)) : el("p", { class: "muted" }, "none"));
    box.replaceChildren(tree("Ancestors", body.ancestors, "lineage-ancestors"), tree("Descendants", body.descendants, "lineage-descendants"));
  } catch (e) {
    if (ledger.selected === r) box.replaceChildren(el("p", { class: "error" }, `Lineage: ${e.message}`));
  }
}

async function stepSelection(direction) {
  const r = ledger.selected;
  if (!r) return;
  const index = ledger.records.findIndex((x) => x.seq === r.seq);
  if (index < 0) return;
  if (direction === "older") {
    if (index + 1 < ledger.records.length) selectRecord(ledger.records[index + 1]);
    else if (ledger.cursors[ledger.page + 1]) await loadLedgerPage(ledger.page + 1, "first");
  } else if (index > 0) {
    selectRecord(ledger.records[index - 1]);
  } else if (ledger.page > 0) {
    await loadLedgerPage(ledger.page - 1, "last");
  }
}

async function submitOutcome(ev) {
  ev.preventDefault();
  const r = ledger.selected;
  if (!r) return;
  const form = ev.target;
  const result = $("outcome-result");
  const body = { signal_id: r.signal_id, acted_upon: form.acted_upon.value === "true" };
  if (form.execution_id.value.trim()) body.execution_id = form.execution_id.value.trim();
  if (form.reason.value.trim()) body.reason = form.reason.value.trim();
  result.className = "form-result";
  result.textContent = "Recording…";
  try {
    const answer = await postJSON("/v1/outcomes", body);
    const seqs = answer && Array.isArray(answer.outcomes) ? answer.outcomes.map((o) => o.seq) : [];
    // The page again: the record's outcome column now shows the decision.
    await loadLedgerPage(ledger.page, r.seq);
    refreshStatus();
    result.className = "form-result ok";
    result.textContent = `Outcome recorded${seqs.length ? ` as seq ${seqs.join(", ")}` : ""}.`;
  } catch (e) {
    result.classList.add("error");
    result.textContent = e.status === 401 ? `${e.message} — set the API token at the top right.` : e.message;
  }
}

// ---------------------------------------------------------------------------------------------
// Integrity Check: run a verification, the check log, the head digest.

async function refreshIntegrity() {
  renderDigest();
  const statusLine = $("checks-status");
  try {
    const body = await getJSON("/v1/checks");
    const checks = body.checks.slice().reverse();
    $("checks-rows").replaceChildren(...checks.map(checkRow));
    $("checks-empty").hidden = checks.length > 0;
    const failed = body.checks.filter((c) => !c.chain_valid).length;
    statusLine.textContent = `${fmtInt(body.checks.length)} recorded · ${fmtInt(failed)} failed · newest first`;
    const damage = $("checks-damage");
    damage.hidden = !body.check_log_damage;
    if (body.check_log_damage) damage.textContent = `The check log itself is damaged: ${body.check_log_damage.message}`;
  } catch (e) {
    statusLine.textContent = `Check history: ${e.message}`;
  }
}

function checkRow(c) {
  let errors = c.errors;
  if (Array.isArray(errors)) errors = errors.join("; ");
  else if (errors && typeof errors === "object") errors = JSON.stringify(errors);
  return el(
    "tr",
    { "data-testid": "check-row", "data-check-id": c.check_id, "data-result": c.chain_valid ? "pass" : "fail" },
    el("td", { class: "num mono" }, c.check_id),
    el("td", { class: "mono" }, fmtTime(c.checked_at)),
    el("td", {}, c.mode),
    el("td", {}, el("span", { class: `badge ${c.chain_valid ? "pass" : "fail"}` }, c.chain_valid ? "PASS" : "FAIL")),
    el("td", { class: "mono" }, `${c.range_start} – ${c.range_end}`),
    el("td", { class: "num" }, fmtInt(c.expected_count)),
    el("td", { class: "num" }, fmtInt(c.actual_count)),
    el("td", { class: "mono hash", title: c.head_row_hash }, shortHash(c.head_row_hash)),
    el("td", { class: "num" }, fmtMs(c.duration_ms)),
    el("td", { class: "errors", title: errors || "" }, errors || el("span", { class: "muted" }, "none")),
  );
}

function renderDigest() {
  const d = status.digest;
  $("digest-seq").textContent = d ? fmtInt(d.seq) : status.headSeq === null ? "empty ledger" : "—";
  $("digest-time").textContent = d ? fmtTime(d.timestamp) : "—";
  $("digest-hash").textContent = d ? d.row_hash : "—";
}

function setVerdict(state, word, detail, problem) {
  const box = $("verdict");
  box.dataset.state = state;
  $("verdict-word").textContent = word;
  $("verdict-detail").textContent = detail;
  const p = $("verdict-problem");
  p.hidden = !problem;
  p.replaceChildren(...(problem ? [problem] : []));
}

async function runVerify(ev) {
  ev.preventDefault();
  const from = $("verify-from").value.trim();
  const to = $("verify-to").value.trim();
  const p = new URLSearchParams();
  if (from) p.set("from_seq", from);
  if (to) p.set("to_seq", to);
  const button = $("verify-run");
  button.disabled = true;
  setVerdict("running", "CHECKING…", from || to ? `Verifying seq ${from || "first"} – ${to || "head"}…` : "Verifying the whole ledger…");
  try {
    const v = await postJSON(`/v1/verify${p.toString() ? `?${p}` : ""}`);
    const range = v.head_seq === null ? "empty ledger" : `seq ${fmtInt(v.from_seq)} – ${fmtInt(v.head_seq)}`;
    const detail = `${fmtInt(v.records_checked)} entries checked (${range}) in ${fmtMs(v.elapsed_ms)} · recorded as check #${v.check_id}`;
    if (v.intact) {
      setVerdict("pass", "PASS", `Chain intact: ${detail}. Head row hash ${shortHash(v.head_hash)}.`);
    } else {
      const f = v.first_failure;
      const problem = el("div", {},
        el("div", { class: "problem-kind", "data-testid": "verdict-problem-kind" }, f.problem),
        el("div", { class: "problem-message", "data-testid": "verdict-problem-message" }, f.message),
        el("div", { class: "problem-where mono" }, `file ${f.file} · byte ${f.offset}${f.seq === null ? "" : ` · seq ${f.seq}`}`));
      setVerdict("fail", "FAIL", `Damage found: ${detail}.`, problem);
    }
  } catch (e) {
    const hint = e.status === 401 ? " — set the API token at the top right." : "";
    setVerdict("error", "ERROR", `The check could not be run: ${e.message}${hint}`);
  } finally {
    button.disabled = false;
    refreshIntegrity();
    refreshStatus();
  }
}

// ---------------------------------------------------------------------------------------------
// Export & Replay: links built from the form; a replay over server-sent events.

/** The export form as query parameters, or an Error naming the bad field. */
function exportParams() {
  const form = $("export-form");
  const p = new URLSearchParams();
  const when = (name) => {
    const v = form[name].value;
    if (!v) return null;
    // datetime-local gives "YYYY-MM-DDTHH:MM[:SS]": read as UTC.
    return `${v.length === 16 ? `${v}:00` : v}Z`;
  };
  const from = when("from");
  const to = when("to");
  if (from) p.append("from", from);
  if (to) p.append("to", to);
  if (from && to && parseTime(from) >= parseTime(to)) return new Error("From must be before To.");
  for (const t of listOf(form.ticker.value)) p.append("ticker", t);
  for (const s of listOf(form.source.value)) p.append("source", s);
  if (form.direction.value) p.append("direction", form.direction.value);
  if (form.type.value) p.append("type", form.type.value);
  for (const name of ["min_conviction", "max_conviction"]) {
    const x = convictionOf(form[name]);
    if (x instanceof Error) return x;
    if (x !== null) p.append(name, String(x));
  }
  if (form.acted_upon.value) p.append("acted_upon", form.acted_upon.value);
  return p;
}

function updateExportLinks() {
  const params = exportParams();
  const error = $("export-form-error");
  error.hidden = !(params instanceof Error);
  if (params instanceof Error) {
    error.textContent = params.message;
    for (const f of ["csv", "ndjson", "bundle"]) $(`export-${f}`).classList.add("disabled");
    return;
  }
  for (const format of ["csv", "ndjson", "bundle"]) {
    const p = new URLSearchParams({ format });
    for (const [k, v] of params) p.append(k, v);
    const link = $(`export-${format}`);
    link.href = `/v1/export?${p}`;
    link.classList.remove("disabled");
    if (format === "csv") $("export-url").textContent = `GET /v1/export?${p}`;
  }
  debounce("export-count", 250, () => countExport(params.toString()));
}

/** How many signals the export form selects (one aggregate over the indexes). */
async function countExport(query) {
  const out = $("export-count");
  try {
    const body = await getJSON(`/v1/aggregate${query ? `?${query}` : ""}`);
    const current = exportParams();
    if (current instanceof Error || current.toString() !== query) return;
    const n = body.groups.reduce((sum, g) => sum + g.count, 0);
    out.textContent = `${fmtInt(n)} signal${n === 1 ? "" : "s"} match this window and these filters.`;
  } catch (e) {
    out.textContent = `Count: ${e.message}`;
  }
}

const replay = { source: null, signals: 0, outcomes: 0, ended: false };
const REPLAY_KEEP = 200;

function setReplayStatus(state, text) {
  const s = $("replay-status");
  s.dataset.state = state;
  s.textContent = text;
  $("replay-start").disabled = state === "running";
  $("replay-stop").disabled = state !== "running";
}

function stopReplay(state, text) {
  if (replay.source) replay.source.close();
  replay.source = null;
  setReplayStatus(state, text);
}

function replayCounts() {
  const outcomes = replay.outcomes ? ` and ${fmtInt(replay.outcomes)} outcomes` : "";
  return `${fmtInt(replay.signals)} signals${outcomes}`;
}

/** Why the replay request failed: the server's error line, asked for once more. */
async function replayFailure(url) {
  const abort = new AbortController();
  try {
    const response = await fetch(url, { signal: abort.signal, headers: { Accept: "text/event-stream" } });
    if (response.ok) return "the connection was lost";
    const text = await response.text();
    try {
      return `${response.status}: ${JSON.parse(text).error}`;
    } catch {
      return `${response.status}: ${text.slice(0, 200)}`;
    }
  } catch (e) {
    return e.message;
  } finally {
    abort.abort();
  }
}

function addReplayRow(row) {
  const rows = $("replay-rows");
  rows.prepend(row);
  while (rows.children.length > REPLAY_KEEP) rows.lastElementChild.remove();
  $("replay-count").textContent = fmtInt(replay.signals);
}

function startReplay() {
  const params = exportParams();
  if (params instanceof Error) return setReplayStatus("error", params.message);
  stopReplay("idle", "");
  const p = new URLSearchParams({ speed: $("replay-speed").value });
  for (const [k, v] of params) p.append(k, v);
  const url = `/v1/replay?${p}`;
  replay.signals = 0;
  replay.outcomes = 0;
  replay.ended = false;
  $("replay-count").textContent = "0";
  $("replay-rows").replaceChildren();
  const source = new EventSource(url);
  replay.source = source;
  setReplayStatus("running", `Replaying at ${$("replay-speed").selectedOptions[0].textContent}…`);
  const parse = (ev) => {
    try {
      return JSON.parse(ev.data);
    } catch {
      return null;
    }
  };
  source.addEventListener("signal", (ev) => {
    const r = parse(ev);
    if (!r) return;
    replay.signals += 1;
    addReplayRow(el("tr", { "data-testid": "replay-row", "data-seq": r.seq ?? ev.lastEventId },
      el("td", { class: "num mono" }, r.seq ?? ev.lastEventId),
      el("td", { class: "mono" }, fmtTime(r.timestamp)),
      el("td", { class: "ticker" }, r.ticker),
      el("td", {}, r.source_module),
      el("td", {}, directionCell(r.direction)),
      el("td", {}, fmtConv(r.conviction))));
  });
  source.addEventListener("outcome", (ev) => {
    const o = parse(ev);
    if (!o) return;
    replay.outcomes += 1;
    addReplayRow(el("tr", { "data-testid": "replay-outcome", "data-seq": o.seq ?? ev.lastEventId, class: "outcome-row" },
      el("td", { class: "num mono" }, o.seq ?? ev.lastEventId),
      el("td", { class: "mono" }, fmtTime(o.at)),
      el("td", { colspan: 4 }, `outcome of ${o.signal_id}: `, o.acted_upon ? "acted upon" : "dismissed",
        o.execution_id ? ` (execution ${o.execution_id})` : "")));
  });
  source.addEventListener("end", (ev) => {
    replay.ended = true;
    const summary = parse(ev);
    const stopped = summary && summary.stopped ? " (stopped early)" : "";
    stopReplay("done", `Replay complete: ${replayCounts()}${stopped}.`);
  });
  // Both a failed connection and the server's own `event: error` (data: {"error": ...}).
  source.addEventListener("error", async (ev) => {
    if (replay.source !== source || replay.ended) return;
    // Never let the browser reconnect on its own: a replay restarted would repeat events.
    source.close();
    replay.source = null;
    if (typeof ev.data === "string") {
      const body = parse(ev);
      const why = body && typeof body.error === "string" ? body.error : ev.data;
      return setReplayStatus("error", `Replay failed after ${replayCounts()}: ${why}`);
    }
    setReplayStatus("error", `Replay stopped after ${replayCounts()}: checking…`);
    const why = await replayFailure(url);
    setReplayStatus("error", `Replay stopped after ${replayCounts()}: ${why}`);
  });
}

// ---------------------------------------------------------------------------------------------
// Wiring.

function init() {
  for (const tab of TABS) $(`tab-${tab}`).addEventListener("click", () => showTab(tab));
  window.addEventListener("hashchange", () => showTab(location.hash.slice(1)));

  const token = $("token-input");
  token.value = localStorage.getItem(TOKEN_KEY) ?? "";
  token.addEventListener("input", () => {
    const v = token.value.trim();
    if (v) localStorage.setItem(TOKEN_KEY, v);
    else localStorage.removeItem(TOKEN_KEY);
  });

  const filters = $("feed-filters");
  filters.addEventListener("input", onFeedFiltersChanged);
  filters.addEventListener("change", onFeedFiltersChanged);
  filters.addEventListener("reset", () => setTimeout(onFeedFiltersChanged, 0));
  filters.addEventListener("submit", (ev) => ev.preventDefault());
  $("feed-pause").addEventListener("click", () => setPaused(!feed.paused));

  $("ledger-newest").addEventListener("click", () => loadLedgerPage(0));
  $("ledger-newer").addEventListener("click", () => ledger.page > 0 && loadLedgerPage(ledger.page - 1));
  $("ledger-older").addEventListener("click", () => ledger.cursors[ledger.page + 1] && loadLedgerPage(ledger.page + 1));
  $("ledger-page-size").addEventListener("change", () => loadLedgerPage(0));
  $("details-prev").addEventListener("click", () => stepSelection("older"));
  $("details-next").addEventListener("click", () => stepSelection("newer"));
  $("outcome-form").addEventListener("submit", submitOutcome);

  $("verify-form").addEventListener("submit", runVerify);
  $("digest-copy").addEventListener("click", async () => {
    if (!status.digest) return;
    try {
      await navigator.clipboard.writeText(JSON.stringify(status.digest));
      $("digest-copy").textContent = "Copied";
    } catch {
      $("digest-copy").textContent = "Copy failed";
    }
    setTimeout(() => ($("digest-copy").textContent = "Copy digest JSON"), 1500);
  });

  const exportForm = $("export-form");
  exportForm.addEventListener("input", updateExportLinks);
  exportForm.addEventListener("change", updateExportLinks);
  exportForm.addEventListener("submit", (ev) => ev.preventDefault());
  for (const f of ["csv", "ndjson", "bundle"]) {
    $(`export-${f}`).addEventListener("click", (ev) => {
      if ($(`export-${f}`).classList.contains("disabled")) ev.preventDefault();
    });
  }
  $("replay-start").addEventListener("click", startReplay);
  $("replay-stop").addEventListener("click", () => stopReplay("stopped", `Stopped after ${replayCounts()}.`));

  refreshStatus();
  setInterval(refreshStatus, 5000);
  setInterval(() => refreshCharts(false), 15000);
  showTab(location.hash.slice(1));
  document.body.dataset.ready = "true";
}

init();
