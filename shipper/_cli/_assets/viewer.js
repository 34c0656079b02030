// shipper serve's page: plain JavaScript, no build step, nothing loaded from elsewhere.
// Every value that comes from an event is put in the page as text (textContent, text
// nodes, SVG <title> text), never as markup: an event named "<script>" shows as that text.
"use strict";

const POLL_MS = 2000;        // how often the live feed asks for what arrived
const REFRESH_MS = 4000;     // the chart, names and sessions, at most this often when live
const PAGE = 200;            // events per page of the feed
const COLORS = ["#2563eb", "#e07a1f", "#2e9d5b", "#c2185b", "#7e57c2", "#00838f",
                "#8d6e63", "#9e9d24", "#546e7a"];

const state = {
  source: "", event: "", tool: "", session: "", range: "24h", since: "", until: "",
  tab: "feed", by: "source", group: "project", live: true,
};
let cursor = 0;              // the newest arrival the feed has (seq)
let nextPage = null;         // "ts:seq" of the feed's next (older) page
let selectedId = null;
let openSession = null;
let dirty = false;           // something arrived since the chart was drawn
let lastRefresh = 0;
let generation = 0;          // bumps when the filters change: answers to older asks are dropped
let pollTimer = null;
let lastCounts = null;

const $ = (id) => document.getElementById(id);

// -- building the page: text is always text -----------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === "class") node.setAttribute("class", v);
    else if (k === "title") node.append(svg("title", {}, String(v)));
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, String(v));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

// -- formatting ---------------------------------------------------------------------------

function pad(n, w = 2) { return String(n).padStart(w, "0"); }
function clock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}
function when(ms) {
  const d = new Date(ms);
  const today = new Date();
  const sameDay = d.toDateString() === today.toDateString();
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  return sameDay ? clock(ms) : `${day} ${clock(ms)}`;
}
function iso(ms) { return new Date(ms).toISOString(); }
function span(ms) {
  if (ms === null || ms === undefined) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
function num(n) { return (n || 0).toLocaleString(); }
function usd(n) { return n ? `$${n < 0.01 ? n.toFixed(4) : n.toFixed(2)}` : "–"; }
function short(id) { return id && id.length > 12 ? id.slice(0, 8) + "…" : (id || ""); }
function outcome(ok) { return ok === true ? "ok" : ok === false ? "failed" : ""; }

// -- the address bar keeps the filters (a reload shows the same view) ---------------------

function saveState() {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) {
    if (k === "live") continue;
    if (v !== "" && v !== defaults[k]) params.set(k, v);
  }
  const hash = params.toString();
  history.replaceState(null, "", hash ? `#${hash}` : location.pathname);
}
const defaults = { ...state };
function loadState() {
  const params = new URLSearchParams(location.hash.slice(1));
  for (const k of Object.keys(state)) {
    if (k !== "live" && params.has(k)) state[k] = params.get(k);
  }
}

// -- the API ------------------------------------------------------------------------------

class NeedKey extends Error {}

async function api(path, params) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== "" && v !== null && v !== undefined) url.searchParams.set(k, v);
  }
  const headers = {};
  const key = sessionStorage.getItem("shipper-key");
  if (key) headers.Authorization = `Bearer ${key}`;
  const answer = await fetch(url, { headers, cache: "no-store" });
  if (answer.status === 401 || answer.status === 403) {
    const body = await answer.json().catch(() => ({}));
    askForKey(body.error || "");
    throw new NeedKey();
  }
  if (!answer.ok) {
    const body = await answer.json().catch(() => ({}));
    throw new Error(body.error || `HTTP ${answer.status}`);
  }
  return answer.json();
}

function askForKey(why) {
  $("keybox").hidden = false;
  $("keyerror").textContent = sessionStorage.getItem("shipper-key") ? why : "";
}

function timeParams() {
  if (state.range === "all") return {};
  if (state.range === "custom") {
    const since = state.since ? new Date(state.since).getTime() : "";
    const until = state.until ? new Date(state.until).getTime() : "";
    return { since: Number.isFinite(since) ? since : "", until: Number.isFinite(until) ? until : "" };
  }
  return { since: state.range };
}
function filterParams() {
  return { source: state.source, event: state.event, tool: state.tool, session: state.session,
           ...timeParams() };
}

// -- the feed -----------------------------------------------------------------------------

function eventRow(e, fresh) {
  const failed = e.ok === false;
  const row = el("tr", {
    class: ["event-row", fresh ? "fresh" : "", failed ? "failed" : "",
            e.id === selectedId ? "selected" : ""].join(" ").trim(),
    "data-id": e.id, "data-seq": e.seq, "data-ts": e.ts,
    onclick: () => showEvent(e, row),
  },
    el("td", { title: iso(e.ts) }, when(e.ts)),
    el("td", { title: e.source }, e.source),
    el("td", { class: "name", title: e.event }, e.event),
    el("td", { class: "mono", title: e.session || "" }, short(e.session)),
    el("td", { title: e.tool || "" }, e.tool || ""),
    el("td", {}, outcome(e.ok)));
  return row;
}

async function loadFeed() {
  const mine = generation;
  const data = await api("/api/events", { ...filterParams(), limit: PAGE });
  if (mine !== generation) return;
  const body = $("feed");
  clear(body);
  for (const e of data.events) body.append(eventRow(e, false));
  cursor = data.latest;
  nextPage = data.next;
  $("more").hidden = !nextPage;
  $("feed-empty").hidden = data.events.length > 0;
}

async function olderEvents() {
  if (!nextPage) return;
  const data = await api("/api/events", { ...filterParams(), limit: PAGE, before: nextPage });
  for (const e of data.events) $("feed").append(eventRow(e, false));
  nextPage = data.next;
  $("more").hidden = !nextPage;
}

function insertByTime(body, row, ts, seq) {
  // newest first: most arrivals go on top; an event recorded earlier (synced late) finds its place
  for (const other of body.children) {
    const ots = Number(other.dataset.ts), oseq = Number(other.dataset.seq);
    if (ts > ots || (ts === ots && seq > oseq)) { body.insertBefore(row, other); return; }
  }
  if (!nextPage) body.append(row);  // older than all shown: only when nothing older is left out
}

async function poll() {
  if (!state.live) return;
  const mine = generation;
  let data;
  try {
    data = await api("/api/events", { ...filterParams(), after: cursor, limit: 500 });
  } catch (err) {
    if (!(err instanceof NeedKey)) showProblem(err);
    return;
  }
  if (mine !== generation) return;
  const body = $("feed");
  for (const e of data.events) {
    if (body.querySelector(`tr[data-seq="${e.seq}"]`)) continue;
    insertByTime(body, eventRow(e, true), e.ts, e.seq);
  }
  const seen = data.events.length ? data.events[data.events.length - 1].seq : 0;
  cursor = data.events.length === 500 ? seen : Math.max(data.latest, seen, cursor);
  if (data.events.length) {
    $("feed-empty").hidden = true;
    dirty = true;
    while (body.children.length > 2000) body.lastChild.remove();
  }
  if (dirty && Date.now() - lastRefresh > REFRESH_MS) {
    dirty = false;
    refreshOverview();
  }
}

function showEvent(e, row) {
  selectedId = e.id;
  for (const r of document.querySelectorAll("tr.selected")) r.classList.remove("selected");
  if (row) row.classList.add("selected");
  const d = $("detail");
  clear(d);
  const doc = e.doc || {};
  const fields = [["id", e.id], ["time", `${when(e.ts)}  (${iso(e.ts)})`],
    ["received", iso(e.received)], ["source", e.source], ["session", e.session],
    ["tool", e.tool], ["kind", e.kind], ["outcome", outcome(e.ok)]];
  const dl = el("dl", {});
  for (const [k, v] of fields) {
    if (v === null || v === undefined || v === "") continue;
    dl.append(el("dt", {}, k), el("dd", { class: k === "id" || k === "session" ? "mono" : "" }, v));
  }
  const actions = el("p", {},
    el("button", { type: "button", class: "quiet", onclick: () => setFilter({ event: e.event }) },
      "only this event"),
    e.session ? el("button", { type: "button", class: "quiet",
      onclick: () => openSessionView(e.session) }, "its session") : null);
  d.append(el("h2", { class: "detail-name" }, e.event), dl, actions,
    el("h3", {}, "properties"), el("pre", { class: "props" }, JSON.stringify(doc.properties ?? {}, null, 2)),
    el("h3", {}, "context"), el("pre", {}, JSON.stringify(doc.context ?? {}, null, 2)));
}

// -- the chart ----------------------------------------------------------------------------

function colorFor(names) {
  const map = new Map();
  names.forEach((n, i) => map.set(n, n === "other" ? "#9aa4b2" : COLORS[i % COLORS.length]));
  return map;
}

function tickLabel(ms, step) {
  const d = new Date(ms);
  if (step >= 86400000) return `${d.getMonth() + 1}/${d.getDate()}`;
  if (step >= 3600000) return `${d.getMonth() + 1}/${d.getDate()} ${pad(d.getHours())}h`;
  return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function drawChart(data) {
  lastCounts = data;
  const box = $("chart");
  clear(box);
  const legend = $("legend");
  clear(legend);
  const names = Object.keys(data.series).sort((a, b) => (a === "other") - (b === "other"));
  const colors = colorFor(names);
  const width = Math.max(320, box.clientWidth || 800), height = 160;
  const left = 44, bottom = 20, top = 8, right = 6;
  const n = data.buckets;
  const totals = new Array(n).fill(0);
  for (const name of names) data.series[name].forEach((v, i) => { totals[i] += v; });
  const max = Math.max(1, ...totals);
  const bw = (width - left - right) / n;
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const chart = svg("svg", { id: "chart-svg", viewBox: `0 0 ${width} ${height}`, width, height,
                             role: "img", "aria-label": "events over time" });
  chart.append(svg("line", { class: "axis", x1: left, x2: width - right, y1: y(0), y2: y(0) }),
    svg("text", { x: left - 6, y: y(max) + 4, "text-anchor": "end" }, num(max)),
    svg("text", { x: left - 6, y: y(0), "text-anchor": "end" }, "0"));
  for (let i = 0; i < n; i++) {
    let base = 0;
    const start = data.start + i * data.step;
    for (const name of names) {
      const v = data.series[name][i];
      if (!v) continue;
      chart.append(svg("rect", {
        x: left + i * bw + 0.5, width: Math.max(1, bw - 1), y: y(base + v), height: y(base) - y(base + v),
        fill: colors.get(name), title: `${name}: ${num(v)} (${when(start)} + ${span(data.step)})`,
      }));
      base += v;
    }
  }
  const ticks = Math.min(n, Math.max(2, Math.floor((width - left) / 110)));
  for (let t = 0; t < ticks; t++) {
    const i = Math.round(t * (n - 1) / Math.max(1, ticks - 1));
    chart.append(svg("text", { x: left + i * bw + bw / 2, y: height - 5, "text-anchor": "middle" },
                     tickLabel(data.start + i * data.step, data.step)));
  }
  box.append(chart);
  const sums = Object.fromEntries(names.map((nm) => [nm, data.series[nm].reduce((a, b) => a + b, 0)]));
  for (const name of names) {
    legend.append(el("span", { class: "legend-item" },
      el("span", { class: "swatch", "data-color": colors.get(name) }), `${name} ${num(sums[name])}`));
  }
  // the swatch colour: set through the CSSOM (the page's CSP allows no inline style attribute)
  for (const swatch of legend.querySelectorAll(".swatch")) swatch.style.background = swatch.dataset.color;
}

async function loadChart() {
  const mine = generation;
  const data = await api("/api/counts", { ...filterParams(), by: state.by, buckets: 60 });
  if (mine === generation) drawChart(data);
}

// -- the filters' choices -----------------------------------------------------------------

function fillSelect(select, values, current) {
  const keep = new Set(values);
  if (current) keep.add(current);
  clear(select);
  select.append(el("option", { value: "" }, "all"));
  for (const v of [...keep].sort()) select.append(el("option", { value: v }, v));
  select.value = current;
}

async function loadNames() {
  const data = await api("/api/names");
  fillSelect($("f-source"), data.source, state.source);
  fillSelect($("f-event"), data.event, state.event);
  fillSelect($("f-tool"), data.tool, state.tool);
  $("total").textContent = `${num(data.total)} events stored`;
}

// -- sessions -----------------------------------------------------------------------------

async function loadSessions() {
  const mine = generation;
  const t = timeParams();
  const data = await api("/api/sessions", { since: t.since, until: t.until, source: state.source,
                                            limit: 300 });
  if (mine !== generation) return;
  const list = $("sessions-list");
  clear(list);
  for (const s of data.sessions.slice(0, 50)) list.append(el("option", { value: s.session }));
  if (state.tab === "sessions") drawLanes(data.sessions, data.now);
}

function drawLanes(sessions, now) {
  const box = $("lanes");
  clear(box);
  box.className = "lanes";
  $("sessions-empty").hidden = sessions.length > 0;
  if (!sessions.length) return;
  const key = state.group === "source" ? "source" : "project";
  const groups = new Map();
  for (const s of sessions) {
    const g = s[key] || (key === "project" ? "(no project)" : "(unknown)");
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(s);
  }
  // one time axis for every group: sessions of one project (or agent) side by side
  const start = Math.min(...sessions.map((s) => s.start));
  const end = Math.max(...sessions.map((s) => s.end), start + 1000);
  const width = Math.max(360, box.clientWidth || 900);
  const label = 150, right = 10, lane = 18;
  const x = (ms) => label + (width - label - right) * (ms - start) / (end - start);
  for (const [name, group] of groups) {
    const block = el("div", { class: "lanes-group", "data-group": name });
    const cost = group.reduce((a, s) => a + (s.cost_usd || 0), 0);
    const failures = group.reduce((a, s) => a + s.failures, 0);
    block.append(el("h3", {}, el("span", {}, name),
      el("span", { class: "muted" }, `${group.length} session(s), ${num(failures)} failure(s)` +
         (cost ? `, ${usd(cost)}` : ""))));
    const height = group.length * lane + 18;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "lanes-svg" });
    group.forEach((s, i) => {
      const y0 = i * lane;
      const row = svg("g", { class: "lane-row", "data-session": s.session,
                             onclick: () => openSessionView(s.session) });
      const classes = ["lane-bar", s.failures ? "failed" : "", s.ended ? "" : "open"].join(" ");
      row.append(
        svg("text", { class: "lane-label", x: 0, y: y0 + 12 }, short(s.session)),
        svg("rect", { class: classes, x: x(s.start), y: y0 + 3, height: lane - 6, rx: 2,
                      width: Math.max(3, x(s.end) - x(s.start)),
                      title: `${s.session}\n${when(s.start)} – ${when(s.end)} (${span(s.duration_ms)})\n` +
                             `${s.prompts} prompt(s), ${s.tool_calls} tool call(s), ${s.failures} failure(s)` }));
      chart.append(row);
    });
    const axisY = group.length * lane + 13;
    chart.append(svg("text", { x: label, y: axisY }, when(start)),
                 svg("text", { x: width - right, y: axisY, "text-anchor": "end" }, when(end)));
    block.append(chart, sessionTable(group));
    box.append(block);
  }
}

function sessionTable(group) {
  const table = el("table", { class: "lanes-table" },
    el("thead", {}, el("tr", {}, ...["session", "agent", "start", "duration", "prompts", "tool calls",
      "failures", "tokens in", "tokens out", "cost", "model"].map((h) => el("th", {}, h)))));
  const body = el("tbody", {});
  for (const s of group) {
    body.append(el("tr", { class: `session-row${s.failures ? " failed" : ""}`, "data-session": s.session,
                           onclick: () => openSessionView(s.session) },
      el("td", { class: "mono", title: s.session }, short(s.session)),
      el("td", {}, s.source || ""),
      el("td", { title: iso(s.start) }, when(s.start)),
      el("td", {}, span(s.duration_ms) + (s.ended ? "" : " …")),
      el("td", {}, num(s.prompts)), el("td", {}, num(s.tool_calls)),
      el("td", { class: "failures" }, num(s.failures)),
      el("td", {}, s.tokens_in ? num(s.tokens_in) : "–"),
      el("td", {}, s.tokens_out ? num(s.tokens_out) : "–"),
      el("td", {}, usd(s.cost_usd)), el("td", {}, s.model || "")));
  }
  table.append(body);
  return table;
}

async function openSessionView(id, again) {
  openSession = id;
  if (!again) setTab("sessions");
  const data = await api(`/api/sessions/${encodeURIComponent(id)}`);
  if (openSession !== id) return;
  drawSession(data, again);
}

function card(n, k, bad) {
  return el("div", { class: `card${bad ? " bad" : ""}` }, el("div", { class: "n" }, n), el("div", { class: "k" }, k));
}

function drawSession(data, again) {
  const s = data.session;
  const box = $("session");
  box.hidden = false;
  clear(box);
  box.dataset.session = s.session;
  box.append(el("div", { class: "panel-head" },
    el("h2", {}, "Session ", el("span", { class: "mono session-id" }, s.session)),
    el("span", {},
      el("button", { type: "button", class: "quiet", onclick: () => { setFilter({ session: s.session }); setTab("feed"); } },
        "its events in the feed"),
      el("button", { type: "button", class: "quiet", onclick: () => { box.hidden = true; openSession = null; } }, "close"))));
  box.append(el("p", { class: "muted" }, `${s.source || "unknown agent"}` + (s.project ? ` in ${s.project}` : "") +
    ` · ${when(s.start)} – ${when(s.end)}` + (s.ended ? "" : " (no end seen yet)")));
  box.append(el("div", { class: "cards" },
    card(span(s.duration_ms) || "0 s", "duration"), card(num(s.prompts), "prompts"),
    card(num(s.tool_calls), "tool calls"), card(num(s.failures), "failures", s.failures > 0),
    card(num(s.api_calls), "API calls"), card(s.tokens_in ? num(s.tokens_in) : "–", "tokens in"),
    card(s.tokens_out ? num(s.tokens_out) : "–", "tokens out"), card(usd(s.cost_usd), "cost"),
    s.model ? card(s.model, "model") : null));
  box.append(el("div", { class: "timeline" }, drawTimeline(data.timeline, s)));
  const items = el("ol", { class: "items" });
  for (const item of data.timeline) {
    const failed = item.ok === false;
    let what = item.name;
    if (item.kind === "tool") what = `${item.tool || "tool"}` + (item.end === null ? " (no end seen)" : "");
    if (item.kind === "prompt") what = `prompt${item.size !== undefined ? ` (${num(item.size)} bytes)` : ""}`;
    if (item.kind === "api") what = `${item.model || "API call"}: ${num(item.tokens_in)} in, ${num(item.tokens_out)} out` +
      (item.cost_usd ? `, ${usd(item.cost_usd)}` : "");
    const extra = [item.duration_ms !== null && item.duration_ms !== undefined ? span(item.duration_ms) : "",
                   failed ? `failed${item.error ? `: ${item.error}` : ""}` : outcome(item.ok)].filter(Boolean).join(" · ");
    items.append(el("li", { class: `tl-item kind-${item.kind}${failed ? " failed" : ""}`, title: item.name },
      el("span", { class: "when" }, `+${span(item.ts - s.start) || "0 ms"}`),
      el("span", { class: "kind" }, item.kind),
      el("span", { class: "what" }, what),
      el("span", { class: "extra" }, extra)));
  }
  box.append(el("h3", {}, `Timeline (${data.timeline.length} item(s))`), items);
  if (data.truncated) box.append(el("p", { class: "muted" }, "Only the first events of this session are shown."));
  if (!again) box.scrollIntoView({ block: "nearest" });
}

function drawTimeline(items, s) {
  const width = Math.max(360, $("session").clientWidth - 30 || 900);
  const rows = [["prompt", "prompts"], ["tool", "tools"], ["api", "API"], ["other", "other"]];
  const lane = 22, label = 70, right = 10;
  const height = rows.length * lane + 18;
  const end = Math.max(s.end, ...items.map((i) => i.end || i.ts), s.start + 1000);
  const x = (ms) => label + (width - label - right) * (ms - s.start) / (end - s.start);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "timeline-svg" });
  rows.forEach(([, name], i) => chart.append(svg("text", { x: 0, y: i * lane + 15 }, name)));
  for (const item of items) {
    const failed = item.ok === false;
    const rowIndex = item.kind === "prompt" ? 0 : item.kind === "tool" ? 1 : item.kind === "api" ? 2 : 3;
    const y0 = rowIndex * lane + 4;
    const tip = `${item.kind === "tool" ? item.tool || "tool" : item.name}\n${when(item.ts)}` +
      (item.duration_ms !== null && item.duration_ms !== undefined ? ` (${span(item.duration_ms)})` : "") +
      (failed ? `\nfailed${item.error ? `: ${item.error}` : ""}` : "");
    if (item.kind === "tool") {
      const stop = item.end !== null ? item.end : item.ts;
      chart.append(svg("rect", { class: `tl-tool${failed ? " failed" : ""}`, x: x(item.ts), y: y0,
                                 width: Math.max(2, x(stop) - x(item.ts)), height: lane - 8, rx: 2, title: tip }));
    } else {
      chart.append(svg("circle", { class: `tl-mark ${item.kind}${failed ? " failed" : ""}`,
                                   cx: x(item.ts), cy: y0 + (lane - 8) / 2, r: failed ? 5 : 4, title: tip }));
    }
  }
  chart.append(svg("text", { x: label, y: height - 3 }, when(s.start)),
               svg("text", { x: width - right, y: height - 3, "text-anchor": "end" }, `+${span(end - s.start)}`));
  return chart;
}

// -- wiring -------------------------------------------------------------------------------

function showProblem(err) {
  $("total").textContent = `cannot reach the server: ${err.message}`;
}

async function refreshOverview() {
  lastRefresh = Date.now();
  try {
    const open = state.tab === "sessions" && openSession && !$("session").hidden;
    await Promise.all([loadChart(), loadNames(), loadSessions(),
                       open ? openSessionView(openSession, true) : null]);
  } catch (err) {
    if (!(err instanceof NeedKey)) showProblem(err);
  }
}

async function reloadAll() {
  generation += 1;
  saveState();
  try {
    await Promise.all([loadFeed(), loadChart(), loadNames(), loadSessions()]);
    lastRefresh = Date.now();
    if (state.tab === "sessions" && state.session && !openSession) openSessionView(state.session);
  } catch (err) {
    if (!(err instanceof NeedKey)) showProblem(err);
  }
}

function setFilter(changes) {
  Object.assign(state, changes);
  syncInputs();
  reloadAll();
}

function setTab(tab) {
  state.tab = tab;
  for (const b of document.querySelectorAll(".tabs button")) b.classList.toggle("on", b.dataset.tab === tab);
  $("tab-feed").hidden = tab !== "feed";
  $("tab-sessions").hidden = tab !== "sessions";
  saveState();
  if (tab === "sessions") loadSessions().catch(() => {});
}

function syncInputs() {
  $("f-source").value = state.source;
  $("f-event").value = state.event;
  $("f-tool").value = state.tool;
  $("f-session").value = state.session;
  $("f-range").value = state.range;
  $("custom-range").hidden = state.range !== "custom";
  $("f-since").value = state.since;
  $("f-until").value = state.until;
  for (const b of document.querySelectorAll("[data-by]")) b.classList.toggle("on", b.dataset.by === state.by);
  for (const b of document.querySelectorAll("[data-group]")) b.classList.toggle("on", b.dataset.group === state.group);
}

function setLive(on) {
  state.live = on;
  $("live").classList.toggle("on", on);
  $("live").textContent = on ? "live" : "resume";
  if (on) poll();
}

function start() {
  loadState();
  for (const [id, key] of [["f-source", "source"], ["f-event", "event"], ["f-tool", "tool"]]) {
    for (const name of [state[key]]) if (name) $(id).append(el("option", { value: name }, name));
    $(id).addEventListener("change", () => setFilter({ [key]: $(id).value }));
  }
  $("f-session").addEventListener("change", () => setFilter({ session: $("f-session").value.trim() }));
  $("f-range").addEventListener("change", () => {
    const range = $("f-range").value;
    $("custom-range").hidden = range !== "custom";
    if (range !== "custom") setFilter({ range });
    else state.range = range;
  });
  for (const id of ["f-since", "f-until"]) {
    $(id).addEventListener("change", () => setFilter({ range: "custom", since: $("f-since").value, until: $("f-until").value }));
  }
  $("f-clear").addEventListener("click", () => setFilter({ source: "", event: "", tool: "", session: "", range: "24h", since: "", until: "" }));
  $("filters").addEventListener("submit", (ev) => ev.preventDefault());
  for (const b of document.querySelectorAll("[data-by]")) {
    b.addEventListener("click", () => { state.by = b.dataset.by; syncInputs(); saveState(); loadChart().catch(() => {}); });
  }
  for (const b of document.querySelectorAll("[data-group]")) {
    b.addEventListener("click", () => { state.group = b.dataset.group; syncInputs(); saveState(); loadSessions().catch(() => {}); });
  }
  for (const b of document.querySelectorAll(".tabs button")) b.addEventListener("click", () => setTab(b.dataset.tab));
  $("more").addEventListener("click", () => olderEvents().catch(showProblem));
  $("live").addEventListener("click", () => setLive(!state.live));
  $("keysave").addEventListener("click", () => {
    sessionStorage.setItem("shipper-key", $("key").value.trim());
    $("keybox").hidden = true;
    reloadAll();
  });
  let resizing = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizing);
    resizing = setTimeout(() => { if (lastCounts) drawChart(lastCounts); loadSessions().catch(() => {}); }, 200);
  });
  syncInputs();
  setTab(state.tab);
  reloadAll();
  pollTimer = setInterval(poll, POLL_MS);
}

document.addEventListener("DOMContentLoaded", start);
