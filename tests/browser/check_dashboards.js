#!/usr/bin/env node
/* The dashboards in a real browser: each HTML report is opened as a file in
 * Debian's headless Chromium (driven by playwright-core, no browser of its
 * own), and the figures the page shows (summary cards, the threads, tasks
 * and variables tables, the hybrid matrix, task lanes, variables by thread
 * and task, the top lists by peak) are checked against the same report's
 * JSON; the page must make no request and log no error.
 *
 * The real dashboards of a program with call stacks (--sites-prog) are also
 * checked for their sites and functions tables (figures, sorting and the
 * sort kept over a reload), the flame graphs (the root's total, a click's
 * zoom and its bytes from the JSON's sites, search), the leak drill-down (a
 * leak's site and that site's frames) and, sampled, the error bars.
 *
 * usage: check_dashboards.js [--memscope TOOL --gen-trace GEN] [--examples DIR]
 *                            [--sites-prog PROG] [--pair HTML JSON]...
 *   --memscope/--gen-trace  make reports from synthetic traces (30 threads and
 *                           100 tasks with hostile names, 40 threads and 150
 *                           tasks, no tasks at all) and check them
 *   --examples DIR          run every program in DIR (build/examples) in a
 *                           fresh directory with MEMSCOPE_AUTO_EXPORT=json,html
 *                           and check every report pair it wrote
 *   --sites-prog PROG       run PROG (tests/browser/flame_prog.c) under
 *                           `memscope run` with MEMSCOPE_STACK_DEPTH=16, once
 *                           exact and once MEMSCOPE_MODE=sampled
 *                           MEMSCOPE_SAMPLE_BYTES=16384, and check both
 *   --pair HTML JSON        check one given report pair
 *
 * Output follows Python's unittest (one case per check and report, "Ran N
 * tests", then OK or FAILED), which scripts/test.sh counts. A missing
 * Chromium or playwright-core is a failure, never a skip. */
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawnSync } = require("child_process");

const { group, bytes, dur, short } = require("./page_text.js");
const { checkSitesTable, checkFunctions, checkSort, checkFlame, checkSearch, checkLeaks, checkErrorBars } = require("./check_sites.js");

const CHROMIUM = "/usr/bin/chromium";
const HERE = __dirname;

/* ---- the case runner (unittest-style output on stderr) ---- */
const results = [];
function record(name, where, err) {
  results.push({ name, where, err });
  process.stderr.write(name + " (" + where + ") ... " + (err ? "FAIL" : "ok") + "\n");
}
function finish(t0) {
  const failed = results.filter(function (r) { return r.err; });
  for (const r of failed)
    process.stderr.write("\n" + "=".repeat(70) + "\nFAIL: " + r.name + " (" + r.where + ")\n" + "-".repeat(70) + "\n" + r.err + "\n");
  process.stderr.write("\n" + "-".repeat(70) + "\nRan " + results.length + " tests in " + ((Date.now() - t0) / 1000).toFixed(3) + "s\n\n" +
    (failed.length || !results.length ? "FAILED (failures=" + Math.max(failed.length, 1) + ")\n" : "OK\n"));
  process.exit(failed.length || !results.length ? 1 : 0);
}

/* A check's failures, collected so that one case reports all its differences
 * (the first 20). */
class Diffs {
  constructor() { this.list = []; this.n = 0; }
  eq(what, got, want) {
    this.n++;
    if (got !== want) this.list.push(what + ": page shows " + JSON.stringify(got) + ", JSON says " + JSON.stringify(want));
  }
  ok(what, cond) { this.n++; if (!cond) this.list.push(what); }
  /* The differences found, null if none. */
  text() { return this.list.length ? this.list.slice(0, 20).join("\n") + (this.list.length > 20 ? "\n... " + (this.list.length - 20) + " more" : "") : null; }
}


/* ---- what the page shows, read in the page ---- */
/* Runs in the page: every section by title, each table's head and cells
 * (text and title), the summary cards, the hybrid matrix and lanes. */
function readPage() {
  function cells(tr) {
    return Array.from(tr.children).map(function (c) {
      const bare = c.cloneNode(true);  /* the figure without its interval */
      for (const x of bare.querySelectorAll(".ci")) x.remove();
      return { text: bare.textContent, title: c.getAttribute("title"), task: c.getAttribute("data-task") };
    });
  }
  function readTable(t) {
    return { head: Array.from(t.querySelectorAll("thead th")).map(function (th) { return th.textContent; }),
             rows: Array.from(t.querySelectorAll("tbody tr")).map(cells) };
  }
  const sections = {};
  for (const s of document.querySelectorAll("main > section")) {
    const h = s.querySelector("h2");
    if (!h) continue;
    const note = s.querySelector(":scope > p.note");
    sections[h.textContent] = { note: note ? note.textContent : "", tables: Array.from(s.querySelectorAll(":scope > .scroll table")).map(readTable) };
  }
  const cards = {};
  for (const c of document.querySelectorAll(".card")) {
    const d = c.querySelector(".d");
    cards[c.querySelector(".k").textContent] = { v: c.querySelector(".v").textContent, d: d ? d.textContent : "", title: c.getAttribute("title") };
  }
  const part = function (id) { const e = document.getElementById(id); const t = e && e.querySelector("table"); return t ? readTable(t) : null; };
  const mt = document.getElementById("hybrid-matrix");
  const matrix = mt ? {
    head: Array.from(mt.querySelectorAll("thead th")).map(function (th) { return { text: th.textContent, title: th.getAttribute("title"), task: th.getAttribute("data-task") }; }),
    rows: Array.from(mt.querySelectorAll("tbody tr")).map(function (tr) { return { thread: tr.getAttribute("data-thread"), cells: cells(tr) }; }),
  } : null;
  const lanes = Array.from(document.querySelectorAll("#hybrid-lanes g[data-thread]")).map(function (g) {
    return { thread: g.getAttribute("data-thread"), label: g.querySelector("text").textContent,
             spans: Array.from(g.querySelectorAll("rect.span")).map(function (r) {
               return { task: r.getAttribute("data-task"), start: r.getAttribute("data-start"), end: r.getAttribute("data-end"),
                        x: Number(r.getAttribute("x")), w: Number(r.getAttribute("width")) };
             }) };
  });
  const injected = document.querySelectorAll("main b, main i, main img, main script, main iframe, main a").length;
  return { title: document.title, sections, cards, matrix, lanes, injected, scripts: document.querySelectorAll("script").length,
           peakTasks: part("hybrid-peak-tasks"), peakThreads: part("hybrid-peak-threads"),
           varsThreads: part("hybrid-vars-threads"), varsTasks: part("hybrid-vars-tasks") };
}

/* Rows of a read table as objects by column head. */
function rowsOf(t) {
  return t.rows.map(function (r) { const o = {}; t.head.forEach(function (h, i) { o[h] = r[i]; }); return o; });
}

/* ---- the checks: one case each (those of the call-stack sections are
 * check_sites.js's) ---- */
function checkSummary(P, J, d) {
  const S = J.summary, c = P.cards;
  d.eq("Allocations", c.Allocations && c.Allocations.v, group(S.allocations));
  d.eq("Allocations detail", c.Allocations && c.Allocations.d, group(S.reallocs) + " reallocs");
  d.eq("Frees", c.Frees && c.Frees.v, group(S.frees));
  d.eq("Bytes allocated", c["Bytes allocated"] && c["Bytes allocated"].v, bytes(S.bytes_allocated));
  d.eq("Bytes allocated, exact", c["Bytes allocated"] && c["Bytes allocated"].title, group(S.bytes_allocated) + " bytes");
  d.eq("Peak live, exact", c["Peak live"] && c["Peak live"].title, group(S.peak_live_bytes) + " bytes");
  d.eq("Peak live time", c["Peak live"] && c["Peak live"].d, "at " + dur(S.peak_time_ns));
  d.eq("Leaked, exact", c.Leaked && c.Leaked.title, group(S.leaked_bytes) + " bytes");
  d.eq("Leaked blocks", c.Leaked && c.Leaked.d, group(S.leaked_blocks) + " blocks live at the end");
  d.eq("Threads", c.Threads && c.Threads.v, group(S.threads));
  d.eq("Tasks", c.Threads && c.Threads.d, S.tasks ? group(S.tasks) + " tasks" : "");
  d.eq("Events", c.Duration && c.Duration.d, group(J.events) + " events");
  d.eq("Anomalies", c.Anomalies && c.Anomalies.v, group(J.anomalies.total));
}

function checkThreads(P, J, d) {
  const s = P.sections.Threads;
  if (!s || !s.tables.length) return d.ok("no Threads table", false);
  const rows = rowsOf(s.tables[0]);
  d.eq("thread rows", rows.length, Math.min(J.threads.length, 1000));
  const byId = new Map(rows.map(function (r) { return [r.id.text, r]; }));
  for (const t of J.threads) {
    const r = byId.get(String(t.id));
    if (!r) { if (J.threads.length <= 1000) d.ok("thread " + t.id + " is not shown", false); continue; }
    const w = "thread " + t.id + " ";
    d.eq(w + "tid", r.tid.text, String(t.tid));
    d.eq(w + "name", r.name.text, t.name);
    d.eq(w + "allocations", r.allocations.text, group(t.allocations));
    d.eq(w + "frees", r.frees.text, group(t.frees));
    d.eq(w + "reallocs", r.reallocs.text, group(t.reallocs));
    d.eq(w + "bytes allocated", r["bytes allocated"].title, group(t.bytes_allocated) + " bytes");
    d.eq(w + "peak live", r["peak live"].title, group(t.peak_live_bytes) + " bytes");
    d.eq(w + "live at end", r["live at end"].text, bytes(t.live_bytes));
    d.eq(w + "cross-thread frees", r["frees of others' blocks"].text, group(t.cross_thread_frees));
    d.eq(w + "temporary", r.temporary.text, group(t.temporary_allocations));
  }
}

function checkTasks(P, J, d) {
  const s = P.sections.Tasks;
  if (!J.tasks.length) return d.ok("a Tasks section without tasks", !s);
  if (!s || !s.tables.length) return d.ok("no Tasks table", false);
  const rows = rowsOf(s.tables[0]);
  d.eq("task rows", rows.length, J.tasks.length);
  const byId = new Map(rows.map(function (r) { return [r.id.text, r]; }));
  for (const t of J.tasks) {
    const r = byId.get(String(t.id)), w = "task " + t.id + " ";
    if (!r) { d.ok(w + "is not shown", false); continue; }
    d.eq(w + "name", r.name.text, t.name);
    d.eq(w + "parent", r.parent.text, t.parent ? String(t.parent) : "\u2013");
    d.eq(w + "allocations", r.allocations.text, group(t.allocations));
    d.eq(w + "bytes allocated", r["bytes allocated"].title, group(t.bytes_allocated) + " bytes");
    d.eq(w + "peak live", r["peak live"].title, group(t.peak_live_bytes) + " bytes at " + dur(t.peak_time_ns));
    d.eq(w + "live at end", r["live at end"].text, bytes(t.live_bytes));
    d.eq(w + "frees", r.frees.text, group(t.frees));
    d.eq(w + "threads", r.threads.text, t.threads.join(", ") + (t.threads_omitted ? " +" + t.threads_omitted : ""));
  }
}

function checkVariables(P, J, d) {
  const s = P.sections.Variables;
  if (!J.variables.length) return d.ok("a Variables section without variables", !s);
  if (!s || !s.tables.length) return d.ok("no Variables table", false);
  const rows = rowsOf(s.tables[0]);
  d.eq("variable rows", rows.length, J.variables.length);
  const key = function (name, type, where) { return name + "\u0000" + type + "\u0000" + where; };
  const shown = new Map(rows.map(function (r) { return [key(r.name.text, r.type.text, r.where.text), r]; }));
  for (const x of J.variables) {
    const w = "variable " + x.name + " ";
    const r = shown.get(key(x.name, x.type, x.file ? x.file + ":" + x.line : ""));
    if (!r) { d.ok(w + "is not shown", false); continue; }
    d.eq(w + "blocks", r.blocks.text, group(x.blocks));
    d.eq(w + "bytes labelled", r["bytes labelled"].text, bytes(x.bytes_labelled));
    d.eq(w + "peak live", r["peak live"].title, group(x.peak_live_bytes) + " bytes at " + dur(x.peak_time_ns));
    d.eq(w + "live at end", r["live at end"].text, bytes(x.live_bytes) + (x.live_blocks ? " (" + group(x.live_blocks) + ")" : ""));
    d.eq(w + "frees", r.frees.text, group(x.frees));
  }
}

/* Whether the page has a Hybrid section for this report. */
function hasHybrid(J) { return J.summary.tasks > 0 || J.hybrid.variables_by_thread.length > 0; }

function names(J) {
  const th = new Map(J.threads.map(function (t) { return [t.id, t]; }));
  const tk = new Map(J.tasks.map(function (t) { return [t.id, t]; }));
  return {
    thread: function (id) { const t = th.get(id); return (t && t.name ? t.name + " " : "") + "#" + id; },
    task: function (id) { if (id === 0) return "no task"; const t = tk.get(id); return (t && t.name ? t.name + " " : "") + "#" + id; },
    threadRow: th, taskRow: tk,
  };
}

function checkMatrix(P, J, d) {
  const H = J.hybrid, N = names(J), m = P.matrix;
  if (!hasHybrid(J)) return d.ok("a hybrid matrix without tasks or variables", !m);
  if (!m) return d.ok("no hybrid matrix", false);
  const nr = H.threads.length + (H.threads_other ? 1 : 0), nc = H.tasks.length + (H.tasks_other ? 1 : 0);
  d.eq("matrix rows (and the total row)", m.rows.length, nr + 1);
  d.eq("matrix columns (corner, total)", m.head.length, nc + 2);
  for (let j = 0; j < nc && j + 1 < m.head.length; j++) {
    const other = j === H.tasks.length, h = m.head[j + 1];
    const label = other ? "other (" + group(H.tasks_other) + " tasks)" : N.task(H.tasks[j]);
    d.eq("column " + j + " task", h.task, other ? "other" : String(H.tasks[j]));
    d.eq("column " + j + " name", h.title, label);
    d.eq("column " + j + " heading", h.text, short(label));
  }
  const coltot = new Array(nc).fill(0);
  for (let i = 0; i < nr && i < m.rows.length; i++) {
    const other = i === H.threads.length, row = m.rows[i];
    const label = other ? "other (" + group(H.threads_other) + " threads)" : N.thread(H.threads[i]);
    d.eq("row " + i + " thread", row.thread, other ? "other" : String(H.threads[i]));
    d.eq("row " + i + " name", row.cells[0].title, label);
    let tot = 0;
    for (let j = 0; j < nc; j++) {
      const c = row.cells[j + 1], v = H.bytes[i][j];
      if (!c) { d.ok("row " + i + " has no cell " + j, false); break; }
      tot += v; coltot[j] += v;
      const w = "cell [" + label + "][" + (j === H.tasks.length ? "other" : N.task(H.tasks[j])) + "] ";
      d.eq(w + "bytes", c.text, v ? bytes(v) : "\u00b7");
      d.eq(w + "task", c.task, j === H.tasks.length ? "other" : String(H.tasks[j]));
      d.eq(w + "details", c.title.split("\n").slice(1).join("\n"), group(v) + " bytes allocated in " + group(H.allocations[i][j]) +
        " allocations\n" + group(H.live_bytes[i][j]) + " bytes live at the end");
    }
    const t = row.cells[nc + 1];
    d.eq("row " + i + " total", t && t.title, group(tot) + " bytes");
    if (!other) {  /* a row adds up to its thread's bytes */
      const th = N.threadRow.get(H.threads[i]);
      d.eq("row " + i + " total = threads[].bytes_allocated", t && t.title, th ? group(th.bytes_allocated) + " bytes" : null);
    }
  }
  const tr = m.rows[nr];
  for (let j = 0; tr && j < nc; j++) {
    d.eq("column " + j + " total", tr.cells[j + 1] && tr.cells[j + 1].title, group(coltot[j]) + " bytes");
    const tk = j > 0 && j < H.tasks.length ? N.taskRow.get(H.tasks[j]) : null;
    if (tk) d.eq("column " + j + " total = tasks[].bytes_allocated", tr.cells[j + 1].title, group(tk.bytes_allocated) + " bytes");
  }
  if (H.threads_other) d.ok("the section says how many threads are folded", P.sections[hybridTitle].note.includes(group(H.threads_other) + " more are added up in the last row"));
  if (H.tasks_other) d.ok("the section says how many tasks are folded", P.sections[hybridTitle].note.includes(group(H.tasks_other) + " more are added up in the last column"));
}
const hybridTitle = "Hybrid: threads \u00d7 tasks";

async function checkLanes(P, J, d, page) {
  const H = J.hybrid, N = names(J);
  if (!hasHybrid(J) || !H.lanes.length) return d.ok("lanes drawn without spans", !P.lanes.length);
  d.eq("lanes", P.lanes.length, H.lanes.length);
  for (let i = 0; i < H.lanes.length && i < P.lanes.length; i++) {
    const l = H.lanes[i], g = P.lanes[i], w = "lane of thread " + l.thread + " ";
    d.eq(w + "thread", g.thread, String(l.thread));
    d.eq(w + "label", g.label, short(N.thread(l.thread)) + (l.spans_omitted ? " (+" + group(l.spans_omitted) + ")" : ""));
    d.eq(w + "spans", g.spans.length, l.spans.length);
    let lastx = -1;
    for (let k = 0; k < l.spans.length && k < g.spans.length; k++) {
      const s = l.spans[k], r = g.spans[k];
      d.eq(w + "span " + k, [r.task, r.start, r.end].join(" "), [s.task, s.start_ns, s.end_ns].join(" "));
      d.ok(w + "span " + k + " is drawn in time order", r.x >= lastx && r.w >= 1);
      lastx = r.x;
    }
    /* the tooltip of its first and last bar */
    for (const k of [0, l.spans.length - 1]) {
      const s = l.spans[k];
      const rect = page.locator("#hybrid-lanes g[data-thread=\"" + l.thread + "\"] rect.span").nth(k);
      await rect.dispatchEvent("mousemove", { clientX: 10, clientY: 10 });
      const tip = await page.locator("#tip").textContent();
      d.eq(w + "tooltip of span " + k, tip, N.task(s.task) + " on thread " + N.thread(l.thread) + "\nfrom " + dur(s.start_ns) + " to " +
        dur(s.end_ns) + " (" + dur(s.end_ns - s.start_ns) + ")");
    }
  }
}

function checkHybridVars(P, J, d) {
  const H = J.hybrid;
  const parts = [["thread", H.variables_by_thread, P.varsThreads], ["task", H.variables_by_task, P.varsTasks]];
  for (const [key, want, got] of parts) {
    if (!want.length) { d.ok("variables by " + key + " shown without rows", !got || !got.rows.length); continue; }
    if (!got) { d.ok("no table of variables by " + key, false); continue; }
    const rows = rowsOf(got);
    d.eq("rows of variables by " + key, rows.length, want.length);
    const byId = new Map(rows.map(function (r) { return [r[key].text, r]; }));
    for (const x of want) {
      const r = byId.get(String(x[key])), w = "variables of " + key + " " + x[key] + " ";
      if (!r) { d.ok(w + "not shown", false); continue; }
      d.eq(w + "variables", r.variables.text, group(x.variables));
      d.eq(w + "blocks", r["blocks labelled"].text, group(x.blocks));
      d.eq(w + "bytes labelled", r["bytes labelled"].title, group(x.bytes_labelled) + " bytes");
      d.eq(w + "live blocks", r["live blocks"].text, group(x.live_blocks));
      d.eq(w + "live bytes", r["live bytes"].title, group(x.live_bytes) + " bytes");
    }
  }
}

function checkPeaks(P, J, d) {
  if (!hasHybrid(J)) return d.ok("top lists without a Hybrid section", !P.peakTasks && !P.peakThreads);
  const parts = [["tasks", J.tasks, P.peakTasks], ["threads", J.threads, P.peakThreads]];
  for (const [what, list, got] of parts) {
    if (!list.length) continue;
    if (!got) { d.ok("no top " + what + " by peak", false); continue; }
    const top = list.slice().sort(function (a, b) { return b.peak_live_bytes - a.peak_live_bytes || a.id - b.id; }).slice(0, 10);
    const rows = rowsOf(got);
    d.eq("top " + what + " by peak: rows", rows.length, top.length);
    top.forEach(function (x, k) {
      const r = rows[k];
      if (!r) return;
      const w = "top " + what + " #" + (k + 1) + " ";
      d.eq(w + "id", r.id.text, String(x.id));
      d.eq(w + "peak", r["peak live"].title, group(x.peak_live_bytes) + " bytes");
      d.eq(w + "at", r.at.text, dur(x.peak_time_ns));
      d.eq(w + "live at end", r["live at end"].title, group(x.live_bytes) + " bytes");
    });
  }
}

/* ---- sites, functions, flame graphs, leaks, intervals ---- */
/* ---- one report pair ---- */
async function checkPair(chromium, html, jsonPath, args) {
  const where = path.basename(html);
  const J = JSON.parse(fs.readFileSync(jsonPath, "utf8"));
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "memscope-chromium-"));
  const url = "file://" + path.resolve(html);
  let ctx;
  try {
    ctx = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: args });  /* a fresh --user-data-dir: profile */
    const requests = [], errors = [];
    await ctx.route("**/*", function (route) {
      const u = route.request().url();
      if (u === url) return route.continue();
      requests.push(u);
      return route.abort();
    });
    ctx.on("request", function (r) { if (r.url() !== url && !requests.includes(r.url())) requests.push(r.url()); });
    const page = await ctx.newPage();
    page.setDefaultTimeout(15000);  /* a bar that is not drawn fails soon, not after 30 s */
    page.setDefaultNavigationTimeout(120000);  /* a loaded machine (the sanitizer builds beside) */
    page.on("console", function (m) { if (m.type() === "error" || m.type() === "warning") errors.push(m.type() + ": " + m.text()); });
    page.on("pageerror", function (e) { errors.push("page error: " + e.message); });
    await page.goto(url, { waitUntil: "load" });
    const P = await page.evaluate(readPage);
    const cases = [
      ["test_summary", function (d) { checkSummary(P, J, d); }],
      ["test_threads", function (d) { checkThreads(P, J, d); }],
      ["test_tasks", function (d) { checkTasks(P, J, d); }],
      ["test_variables", function (d) { checkVariables(P, J, d); }],
      ["test_hybrid_matrix", function (d) { checkMatrix(P, J, d); }],
      ["test_hybrid_lanes", async function (d) { await checkLanes(P, J, d, page); }],
      ["test_hybrid_variables", function (d) { checkHybridVars(P, J, d); }],
      ["test_top_by_peak", function (d) { checkPeaks(P, J, d); }],
      ["test_sites_table", async function (d) { await checkSitesTable(page, J, d); }],
      ["test_functions_table", async function (d) { await checkFunctions(page, J, d); }],
      ["test_flame_graphs", async function (d) { await checkFlame(page, J, d); }],
      ["test_flame_search", async function (d) { await checkSearch(page, J, d); }],
      ["test_leak_drilldown", async function (d) { await checkLeaks(page, J, d); }],
      ["test_error_bars", async function (d) { await checkErrorBars(page, J, d); }],
      ["test_sites_sort", async function (d) { await checkSort(page, J, d); }],  /* last: it reloads the page */
      ["test_strings_are_text", function (d) {
        d.eq("script elements (the page's own two)", P.scripts, 2);
        d.eq("elements made from data (b, i, img, script, iframe, a)", P.injected, 0);
      }],
    ];
    for (const [name, fn] of cases) {
      const d = new Diffs();
      try { await fn(d); } catch (e) { d.list.push("exception: " + (e && e.stack || e)); }
      if (!d.n) d.list.push("the case checked nothing");
      record(name, where, d.text());
    }
    record("test_no_request", where, requests.length ? "the page asked for: " + requests.join(", ") : null);
    record("test_no_console_error", where, errors.length ? errors.join("\n") : null);
  } catch (e) {
    record("test_open_page", where, String(e && e.stack || e));
  } finally {
    if (ctx) await ctx.close().catch(function () {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

/* ---- making the reports ---- */
function run(cmd, argv, opts) {
  const r = spawnSync(cmd, argv, Object.assign({ encoding: "utf8", timeout: 300000 }, opts || {}));
  if (r.status !== 0)
    throw new Error(cmd + " " + argv.join(" ") + ": exit " + r.status + (r.signal ? " (" + r.signal + ")" : "") + "\n" + (r.stderr || "") + (r.error ? String(r.error) : ""));
  return r;
}

/* Synthetic traces through the memscope tool: [name, gen_trace arguments]. */
const SYNTHETIC = [
  ["threads30_tasks100_hostile", ["--threads", "30", "--events", "60000", "--tasks", "100", "--vars", "--hostile", "--seed", "7"]],
  ["threads40_tasks150", ["--threads", "40", "--events", "40000", "--tasks", "150", "--vars", "--seed", "3"]],
  ["no_tasks", ["--threads", "4", "--events", "20000", "--seed", "5"]],
];

function syntheticPairs(tool, gen, dir) {
  const pairs = [];
  for (const [name, argv] of SYNTHETIC) {
    const trace = path.join(dir, name + ".msgpack"), json = path.join(dir, name + ".json"), html = path.join(dir, name + ".html");
    run(gen, [trace].concat(argv));
    run(tool, ["report", "-q", trace, "--json", json, "--html", html]);
    pairs.push([html, json]);
  }
  return pairs;
}

/* Runs every program of dir (the examples) in a directory of its own and
 * returns the report pairs they wrote. */
function examplePairs(dir, tool, work) {
  const pairs = [];
  if (!fs.existsSync(dir)) throw new Error(dir + ": no examples directory");
  for (const name of fs.readdirSync(dir).sort()) {
    const exe = path.resolve(dir, name);
    const st = fs.statSync(exe);
    if (!st.isFile() || !(st.mode & 0o111)) continue;
    const cwd = fs.mkdtempSync(path.join(work, name + "-"));
    const out = path.join(cwd, "MemoryAnalysis");
    const env = Object.assign({}, process.env, { MEMSCOPE_OUTPUT: out, MEMSCOPE_AUTO_EXPORT: "json,html" });
    if (tool) env.MEMSCOPE_TOOL = path.resolve(tool);
    run(exe, [], { cwd, env });
    const found = fs.existsSync(out) ? fs.readdirSync(out).filter(function (f) { return f.endsWith(".json"); }) : [];
    if (!found.length) throw new Error(exe + " wrote no JSON report in " + out);
    for (const f of found.sort()) {
      const html = path.join(out, f.replace(/\.json$/, ".html"));
      if (!fs.existsSync(html)) throw new Error(exe + " wrote " + f + " but no " + path.basename(html));
      pairs.push([html, path.join(out, f)]);
    }
  }
  return pairs;
}

/* Runs prog under `memscope run` with call stacks, exact and sampled, and
 * returns the two report pairs. */
function sitesPairs(tool, prog, work) {
  const pairs = [];
  const modes = [["exact", {}], ["sampled", { MEMSCOPE_MODE: "sampled", MEMSCOPE_SAMPLE_BYTES: "16384", MEMSCOPE_SAMPLE_SEED: "11" }]];
  for (const [name, extra] of modes) {
    const out = fs.mkdtempSync(path.join(work, "sites-" + name + "-"));
    const env = {};
    for (const k in process.env) if (!k.startsWith("MEMSCOPE_") && k !== "LD_PRELOAD") env[k] = process.env[k];
    Object.assign(env, { MEMSCOPE_STACK_DEPTH: "16" }, extra);
    run(path.resolve(tool), ["run", "-q", "-o", out, "--formats", "json,html", "--", path.resolve(prog)], { env });
    const found = fs.readdirSync(out).filter(function (f) { return f.endsWith(".json"); });
    if (found.length !== 1) throw new Error(prog + " (" + name + ") wrote " + found.length + " JSON reports in " + out);
    const json = path.join(out, found[0]), J = JSON.parse(fs.readFileSync(json, "utf8"));
    if (!J.sites.length) throw new Error(prog + " (" + name + "): no sites in " + json);
    if ((J.sampling.mode !== "exact") !== (name === "sampled")) throw new Error(json + ": sampling mode " + J.sampling.mode);
    const html = path.join(out, found[0].replace(/\.json$/, ".html")), named = path.join(out, "flame_" + name + ".html");
    fs.renameSync(html, named);
    pairs.push([named, json]);
  }
  return pairs;
}

/* playwright-core from tests/browser/node_modules, installed by `npm ci`
 * (scripts/deps.sh runs it; so does this test when it is missing). */
function loadPlaywright() {
  const mod = path.join(HERE, "node_modules", "playwright-core");
  if (!fs.existsSync(mod)) run("npm", ["ci", "--no-audit", "--no-fund", "--prefix", HERE]);
  return require(mod).chromium;
}

async function main() {
  const t0 = Date.now();
  const a = process.argv.slice(2);
  let tool = null, gen = null, examples = null, sitesProg = null;
  const pairs = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === "--memscope") tool = a[++i];
    else if (a[i] === "--gen-trace") gen = a[++i];
    else if (a[i] === "--examples") examples = a[++i];
    else if (a[i] === "--sites-prog") sitesProg = a[++i];
    else if (a[i] === "--pair") { pairs.push([a[i + 1], a[i + 2]]); i += 2; }
    else { process.stderr.write("check_dashboards.js: bad argument " + a[i] + "\n"); process.exit(2); }
  }
  const args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "memscope-browser-"));
  try {
    let chromium = null;
    try {
      if (!fs.existsSync(CHROMIUM)) throw new Error(CHROMIUM + " is missing: scripts/deps.sh installs Debian's chromium");
      chromium = loadPlaywright();
      record("test_browser_available", "setup", null);
    } catch (e) {
      record("test_browser_available", "setup", String(e && e.message || e));
    }
    try {
      if (tool && gen) pairs.push.apply(pairs, syntheticPairs(tool, gen, work));
      record("test_make_synthetic_reports", "setup", null);
    } catch (e) {
      record("test_make_synthetic_reports", "setup", String(e && e.message || e));
    }
    if (examples) {
      try {
        pairs.push.apply(pairs, examplePairs(examples, tool, work));
        record("test_run_examples", "setup", null);
      } catch (e) {
        record("test_run_examples", "setup", String(e && e.message || e));
      }
    }
    if (sitesProg) {
      try {
        if (!tool) throw new Error("--sites-prog needs --memscope");
        pairs.push.apply(pairs, sitesPairs(tool, sitesProg, work));
        record("test_run_sites_program", "setup", null);
      } catch (e) {
        record("test_run_sites_program", "setup", String(e && e.message || e));
      }
    }
    if (chromium)
      for (const [html, json] of pairs) await checkPair(chromium, html, json, args);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  finish(t0);
}

main().catch(function (e) { record("test_main", "setup", String(e && e.stack || e)); finish(Date.now()); });
