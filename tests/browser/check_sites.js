/* The browser checks of the call-stack sections (check_dashboards.js runs
 * them for every report pair): the sites and functions tables, their sort,
 * the two flame graphs and their search, the leak drill-down and, in a
 * sampled report, the error bars. Each takes the open page, the report's
 * JSON and a Diffs collector. */
"use strict";
const { group, bytes } = require("./page_text.js");

function baseName(p) { return p ? p.split("/").pop() : ""; }
function frameName(f) { return f.function ? f.function : f.module ? baseName(f.module) + "+" + f.offset : "?"; }
function frameWhere(f) { return f.file ? f.file + (f.line ? ":" + f.line : "") : ""; }
function frameModule(f) { return f.module ? baseName(f.module) + "+" + f.offset : ""; }
function siteKind(s) { return s.runtime ? "runtime" : s.suppressed ? "suppressed" : "program"; }

/* Runs in the page: a table's rows by id, each {attrs, cells [{text, title,
 * fn, badges, lo, hi}]}, text without the interval. */
function readRows(id) {
  const t = document.getElementById(id);
  if (!t) return null;
  return {
    head: Array.from(t.querySelectorAll("thead th")).map(function (th) { return th.textContent; }),
    rows: Array.from(t.querySelectorAll("tbody tr")).map(function (tr) {
      return { site: tr.getAttribute("data-site"), kind: tr.getAttribute("data-kind"), sel: tr.classList.contains("sel"),
        cells: Array.from(tr.children).map(function (c) {
          const bare = c.cloneNode(true), ci = c.querySelector(".ci"), fn = c.querySelector(".fn");
          for (const x of bare.querySelectorAll(".ci, .kind")) x.remove();
          return { text: bare.textContent, title: c.getAttribute("title"), fn: fn ? fn.textContent : null,
            badges: Array.from(c.querySelectorAll(".kind")).map(function (b) { return b.textContent; }),
            lo: ci ? Number(ci.getAttribute("data-lo")) : null, hi: ci ? Number(ci.getAttribute("data-hi")) : null, ci: ci ? ci.textContent : null };
        }) };
    }),
  };
}
function byHead(t) {
  return t.rows.map(function (r) { const o = { _site: r.site, _kind: r.kind, _sel: r.sel }; t.head.forEach(function (h, i) { o[h] = r.cells[i]; }); return o; });
}
/* The eight figures of a site or function against a row. */
function checkFigures(d, w, r, x) {
  const B = [["bytes allocated", "bytes_allocated"], ["at the peak", "peak_bytes"], ["own peak", "peak_live_bytes"], ["leaked", "leaked_bytes"]];
  const N = [["allocations", "allocations"], ["leaked blocks", "leaked_blocks"], ["temporary", "temporary"]];
  for (const [h, k] of B) {
    if (!r[h]) { d.ok(w + "no column " + h, false); continue; }
    d.eq(w + h, r[h].text, bytes(x[k]));
    if (h !== "at the peak") d.eq(w + h + " exact", r[h].title, group(x[k]) + " bytes");
  }
  for (const [h, k] of N) d.eq(w + h, r[h] && r[h].text, group(x[k]));
}
async function checkSitesTable(page, J, d) {
  const t = await page.evaluate(readRows, "sites-table");
  if (!J.sites.length) return d.ok("a sites table without sites", !t);
  if (!t) return d.ok("no sites table", false);
  const rows = byHead(t);
  d.eq("site rows", rows.length, J.sites.length);
  const by = new Map(rows.map(function (r) { return [r._site, r]; }));
  for (const s of J.sites) {
    const r = by.get(String(s.id)), w = "site " + s.id + " ";
    if (!r) { d.ok(w + "is not shown", false); continue; }
    d.eq(w + "id", r.site.text, String(s.id));
    d.eq(w + "function", r["function"].fn, frameName(s));
    d.eq(w + "badges", r["function"].badges.join(","), [s.runtime ? "runtime" : "", s.suppressed ? "suppressed" : ""].filter(Boolean).join(","));
    d.eq(w + "file:line", r["file:line"].text, frameWhere(s));
    d.eq(w + "module", r.module.text, frameModule(s));
    d.eq(w + "module path", r.module.title, s.module || "");
    checkFigures(d, w, r, s);
  }
}
async function checkFunctions(page, J, d) {
  const t = await page.evaluate(readRows, "functions-table");
  if (!J.sites.length) return d.ok("a functions table without sites", !t);
  if (!t) return d.ok("no functions table", false);
  const rows = byHead(t);
  d.eq("function rows", rows.length, J.functions.length);
  const key = function (n, wh, m) { return n + "\u0000" + wh + "\u0000" + m; };
  const by = new Map(rows.map(function (r) { return [key(r["function"].text, r["file:line"].text, r.module.text), r]; }));
  for (const f of J.functions) {
    const w = "function " + frameName(f) + " ", r = by.get(key(frameName(f), frameWhere(f), frameModule(f)));
    if (!r) { d.ok(w + "is not shown", false); continue; }
    d.eq(w + "sites", r.sites.text, String(f.sites.length));
    checkFigures(d, w, r, f);
  }
}
/* The sites in the page's order, after a click on the header h. */
async function siteOrder(page) {
  return page.evaluate(function () {
    return { order: Array.from(document.querySelectorAll("#sites-table tbody tr")).map(function (tr) { return Number(tr.getAttribute("data-site")); }),
      sort: Array.from(document.querySelectorAll("#sites-table thead th")).map(function (th) { return th.textContent + "=" + th.getAttribute("aria-sort"); }) };
  });
}
async function checkSort(page, J, d) {
  if (!J.sites.length) return d.ok("sort buttons without sites", !(await page.locator("#sites-table").count()));
  const want = function (k, dir) {
    return J.sites.slice().sort(function (a, b) { return (a[k] < b[k] ? -1 : a[k] > b[k] ? 1 : 0) * dir; }).map(function (s) { return s.id; });
  };
  let o = await siteOrder(page);
  d.eq("first order: bytes allocated, most first", o.order.join(","), want("bytes_allocated", -1).join(","));
  await page.locator("#sites-table thead th", { hasText: /^allocations$/ }).click();
  o = await siteOrder(page);
  d.eq("sorted by allocations, most first", o.order.join(","), want("allocations", -1).join(","));
  d.ok("the allocations header shows the order", o.sort.includes("allocations=descending"));
  await page.locator("#sites-table thead th", { hasText: /^allocations$/ }).click();
  o = await siteOrder(page);
  d.eq("sorted by allocations, fewest first", o.order.join(","), want("allocations", 1).join(","));
  await page.locator("button[data-sort=\"leaked\"]").click();
  o = await siteOrder(page);
  d.eq("top by leaked bytes", o.order.join(","), want("leaked_bytes", -1).join(","));
  await page.reload({ waitUntil: "load" });
  o = await siteOrder(page);
  d.eq("the sort is kept over a reload", o.order.join(","), want("leaked_bytes", -1).join(","));
  d.ok("the leaked header still shows the order", o.sort.includes("leaked=descending"));
}

/* The JSON's flame tree value of a path of frame names (outermost first). */
function pathBytes(J, fig, p) {
  let v = 0;
  for (const s of J.sites) {
    const st = s.stack.slice().reverse().map(frameName);
    if (p.every(function (n, i) { return st[i] === n; })) v += s[fig];
  }
  return v;
}
function readFlame(id) {
  const svg = document.getElementById(id);
  if (!svg) return null;
  return { focus: svg.getAttribute("data-focus"), info: document.getElementById(id + "-info").textContent,
    found: document.getElementById(id + "-found").textContent, foundBytes: document.getElementById(id + "-found").getAttribute("data-bytes"),
    frames: Array.from(svg.querySelectorAll("g")).map(function (g) {
      const r = g.querySelector("rect");
      return { name: g.getAttribute("data-name"), bytes: Number(g.getAttribute("data-bytes")), depth: Number(g.getAttribute("data-depth")),
        cls: g.getAttribute("class"), x: Number(r.getAttribute("x")), w: Number(r.getAttribute("width")), y: Number(r.getAttribute("y")) };
    }) };
}
function pctText(v, of) { return of > 0 ? (100 * v / of).toFixed(v * 1000 < of ? 2 : 1) + "%" : "\u2013"; }
async function checkFlame(page, J, d) {
  const S = J.summary;
  for (const [id, fig, total] of [["flame-allocated", "bytes_allocated", S.bytes_allocated], ["flame-peak", "peak_bytes", S.peak_live_bytes]]) {
    let F = await page.evaluate(readFlame, id);
    if (!J.sites.length) { d.ok(id + " drawn without sites", !F); continue; }
    if (!F) { d.ok("no " + id, false); continue; }
    const sum = J.sites.reduce(function (a, s) { return a + s[fig]; }, 0);
    const root = F.frames.find(function (f) { return f.depth === 0; });
    d.eq(id + " root = the JSON total", root && root.bytes, Math.max(total, sum));
    const kids = F.frames.filter(function (f) { return f.depth === 1; });
    d.eq(id + " the root's children add up", kids.reduce(function (a, f) { return a + f.bytes; }, 0), root && root.bytes);
    /* zoom: the widest frame below main's children, or the deepest with bytes */
    /* zoom into the largest frame below main that has frames below it */
    const under = function (f) { return F.frames.some(function (k) { return k.depth === f.depth + 1 && k.x >= f.x - 0.01 && k.x < f.x + f.w; }); };
    const deep = F.frames.filter(function (f) { return f.depth >= 3 && under(f); }).sort(function (a, b) { return b.bytes - a.bytes || a.depth - b.depth; });
    d.ok(id + " has a frame with callees below main", deep.length > 0);
    const pick = deep.length ? deep[0] : F.frames[F.frames.length - 1];
    const g = page.locator("#" + id + " g[data-depth=\"" + pick.depth + "\"][data-name=\"" + pick.name.replace(/["\\]/g, "\\$&") + "\"]").first();
    await g.click();
    F = await page.evaluate(readFlame, id);
    const anc = F.frames.filter(function (f) { return f.cls.includes("anc"); }).sort(function (a, b) { return a.depth - b.depth; });
    const focus = F.frames.find(function (f) { return f.depth === anc.length && !f.cls.includes("anc") && f.y === anc.length * 18; });
    d.eq(id + " zoomed into the clicked frame", F.focus, pick.name);
    d.ok(id + " the clicked frame fills the width", focus && focus.x === 0 && focus.w > 999);
    const p = anc.slice(1).map(function (f) { return f.name; }).concat([pick.name]);
    const want = pathBytes(J, fig, p);
    d.eq(id + " the zoomed frame's bytes = the JSON's sites under " + p.join(";"), focus && focus.bytes, want);
    d.eq(id + " the line below names it", F.info.split(" \u2014 ")[0], pick.name);
    d.ok(id + " the line below gives its bytes and share (" + F.info + ")", F.info.endsWith(group(want) + " bytes, " + pctText(want, Math.max(total, sum)) + " of " +
      (fig === "peak_bytes" ? "the peak" : "the bytes allocated")));
    for (const k of F.frames.filter(function (f) { return focus && f.depth === focus.depth + 1; })) {
      d.eq(id + " child " + k.name + " of the zoomed frame", k.bytes, pathBytes(J, fig, p.concat([k.name])));
      const wide = 1000 * k.bytes / focus.bytes;  /* drawn 0.3 narrower, to two decimals */
      d.ok(id + " child " + k.name + " is " + wide.toFixed(2) + " wide of 1000, not " + k.w, Math.abs(Math.max(wide - 0.3, 0.3) - k.w) < 0.006);
    }
    await page.locator("#" + id + "-reset").click();
    F = await page.evaluate(readFlame, id);
    d.eq(id + " reset zooms out", F.focus, "all");
  }
}
async function checkSearch(page, J, d) {
  const F0 = await page.evaluate(readFlame, "flame-allocated");
  if (!J.sites.length) return d.ok("a flame search without sites", !F0);
  /* the name drawn most often (a recursive function: nested matches count once) */
  const nested = function (n) {
    return F0.frames.some(function (a) {
      return a.name === n && F0.frames.some(function (b) { return b.name === n && b.depth > a.depth && b.x >= a.x - 0.01 && b.x < a.x + a.w; });
    });
  };
  const seen = new Map();
  for (const f of F0.frames) if (f.depth > 0) seen.set(f.name, (seen.get(f.name) || 0) + 1);
  const names = Array.from(seen.entries()).sort(function (a, b) { return b[1] - a[1] || (a[0] < b[0] ? -1 : 1); }).map(function (e) { return e[0]; });
  const name = names.find(nested) || names[0];
  d.ok("a function is drawn inside itself (recursion)", nested(name));
  const q = name.slice(0, 7).toUpperCase();  /* case does not matter */
  await page.locator("#flame-allocated-search").fill(q);
  const F = await page.evaluate(readFlame, "flame-allocated");
  const hit = F.frames.filter(function (f) { return (f.cls || "").includes("match"); });
  d.ok("frames are highlighted for " + q, hit.length > 0);
  for (const f of hit) d.ok("highlighted " + f.name + " matches " + q, f.name.toLowerCase().includes(q.toLowerCase()));
  for (const f of F.frames.filter(function (f) { return !(f.cls || "").includes("match"); }))
    d.ok("not highlighted " + f.name + " does not match", !f.name.toLowerCase().includes(q.toLowerCase()));
  const want = J.sites.filter(function (s) { return s.stack.some(function (f) { return frameName(f).toLowerCase().includes(q.toLowerCase()); }); })
    .reduce(function (a, s) { return a + s.bytes_allocated; }, 0);
  const total = Math.max(J.summary.bytes_allocated, J.sites.reduce(function (a, s) { return a + s.bytes_allocated; }, 0));
  d.eq("matched bytes", Number(F.foundBytes), want);
  d.ok("the share is said (" + F.found + ")", F.found.endsWith(": " + group(want) + " bytes, " + pctText(want, total) + " of the total"));
  await page.locator("#flame-allocated-search").fill("");
}
async function checkLeaks(page, J, d) {
  const S = J.summary;
  const kinds = await page.evaluate(readRows, "leak-kinds");
  if (!J.sites.length) return d.ok("a leak drill-down without sites", !kinds);
  if (!kinds) return d.ok("no leaks by kind", false);
  const K = byHead(kinds), k = new Map(K.map(function (r) { return [r._kind, r]; }));
  for (const [name, b, n] of [["program", S.leaked_program_bytes, S.leaked_program_blocks], ["runtime", S.leaked_runtime_bytes, S.leaked_runtime_blocks],
    ["suppressed", S.leaked_suppressed_bytes, S.leaked_suppressed_blocks]]) {
    const r = k.get(name);
    if (!r) { d.ok("no leak row " + name, false); continue; }
    d.eq(name + " leaked bytes", r.bytes.title, group(b) + " bytes");
    d.eq(name + " leaked blocks", r.blocks.text, group(n));
    d.eq(name + " leaking sites", r.sites.text, group(J.sites.filter(function (s) { return s.leaked_blocks && siteKind(s) === name; }).length));
  }
  const leaking = J.sites.filter(function (s) { return s.leaked_blocks > 0; });
  let L = byHead(await page.evaluate(readRows, "leak-sites"));
  d.eq("every leaking site is listed", L.map(function (r) { return Number(r._site); }).sort(function (a, b) { return a - b; }).join(","),
    leaking.map(function (s) { return s.id; }).sort(function (a, b) { return a - b; }).join(","));
  const lb = new Map(leaking.map(function (s) { return [String(s.id), s]; }));
  for (const r of L) {
    const s = lb.get(r._site);
    if (!s) continue;
    d.eq("leaking site " + s.id + " bytes", r["leaked bytes"].text, bytes(s.leaked_bytes));
    d.eq("leaking site " + s.id + " blocks", r["leaked blocks"].text, group(s.leaked_blocks));
    d.eq("leaking site " + s.id + " kind", r.kind.text, siteKind(s));
  }
  /* by kind: the runtime's, then all again */
  await page.locator("#leak-kinds tbody tr[data-kind=\"runtime\"]").click();
  L = byHead(await page.evaluate(readRows, "leak-sites"));
  d.eq("runtime leaking sites", L.map(function (r) { return r._site; }).sort().join(","), leaking.filter(function (s) { return s.runtime; }).map(function (s) { return String(s.id); }).sort().join(","));
  await page.locator("#leak-kinds tbody tr[data-kind=\"runtime\"]").click();
  /* a leak -> its site -> its stack, and a leaking site -> its stack */
  const withSite = J.leaks.filter(function (b) { return b.site; });
  d.ok("leaks with a site", withSite.length > 0);
  const targets = [];
  if (withSite.length) targets.push(["#leaks-table tbody tr[data-site=\"" + withSite[withSite.length - 1].site + "\"]", withSite[withSite.length - 1].site]);
  if (leaking.length) targets.push(["#leak-sites tbody tr[data-site=\"" + leaking[0].id + "\"]", leaking[0].id]);
  for (const [sel, id] of targets) {
    await page.locator(sel).first().click();
    const shown = await page.evaluate(function () { const h = document.getElementById("site-stack"); return { site: h.getAttribute("data-site"), head: (h.querySelector("h3") || {}).textContent }; });
    const s = J.sites.find(function (x) { return x.id === id; });
    d.eq("the stack shown for " + sel, shown.site, String(id));
    d.ok("the stack's heading names site " + id + " (" + shown.head + ")", shown.head && shown.head.startsWith("Site #" + id + ": " + frameName(s)));
    const F = byHead(await page.evaluate(readRows, "site-stack-frames"));
    d.eq("frames of site " + id, F.length, s.stack.length);
    s.stack.forEach(function (f, i) {
      const r = F[i], w = "site " + id + " frame " + i + " ";
      if (!r) return;
      d.eq(w + "#", r["#"].text, String(i));
      d.eq(w + "function", r["function"].text, frameName(f));
      d.eq(w + "file:line", r["file:line"].text, frameWhere(f));
      d.eq(w + "module+offset", r["module+offset"].text, frameModule(f));
      d.eq(w + "inlined", r.inlined.text, f.inlined ? "inlined" : "");
    });
  }
}
async function checkErrorBars(page, J, d) {
  const S = J.summary, sampled = J.sampling.mode !== "exact";
  const n = await page.locator(".ci").count();
  if (!sampled) return d.eq("intervals in an exact trace", n, 0);
  const note = await page.locator("section.sampled > p.note").textContent().catch(function () { return ""; });
  d.ok("the page says the trace is sampled, and at what rate (" + note + ")", note.startsWith("A sampled trace: " +
    (J.sampling.mode === "bytes" ? "one sample per " + bytes(J.sampling.sample_bytes) + " allocated on average" : "one allocation in ")));
  const cards = await page.evaluate(function () {
    const o = {};
    for (const c of document.querySelectorAll(".card")) o[c.querySelector(".k").textContent] = Array.from(c.querySelectorAll(".ci")).map(function (x) {
      return { lo: Number(x.getAttribute("data-lo")), hi: Number(x.getAttribute("data-hi")), text: x.textContent };
    });
    return o;
  });
  for (const [k, name, f, i, what] of [["Allocations", "allocations", group, 0, ""], ["Bytes allocated", "bytes_allocated", bytes, 0, ""],
    ["Peak live", "peak_live_bytes", bytes, 0, ""], ["Leaked", "leaked_bytes", bytes, 0, ""], ["Leaked", "leaked_blocks", group, 1, "blocks: "]]) {
    const c = cards[k] && cards[k][i], e = S.estimate[name];
    if (!c) { d.ok("no interval on the " + k + " card", false); continue; }
    d.eq(k + " card interval " + name, [c.lo, c.hi].join("\u2013"), e.join("\u2013"));
    d.eq(k + " card text " + name, c.text, what + "estimate " + f(S[name]) + ", 95% interval " + f(e[0]) + "\u2013" + f(e[1]));
  }
  const t = await page.evaluate(readRows, "sites-table");
  if (!t) return d.ok("no sites table", false);
  const rows = byHead(t), by = new Map(J.sites.map(function (s) { return [String(s.id), s]; }));
  const cols = [["allocations", "allocations", group], ["bytes allocated", "bytes_allocated", bytes], ["at the peak", "peak_bytes", bytes],
    ["own peak", "peak_live_bytes", bytes], ["leaked", "leaked_bytes", bytes], ["leaked blocks", "leaked_blocks", group], ["temporary", "temporary", group]];
  for (const r of rows) {
    const s = by.get(r._site);
    if (!s) continue;
    for (const [h, k, f] of cols) {
      const c = r[h], e = s.estimate[k], w = "site " + s.id + " " + h + " ";
      d.eq(w + "interval", c && [c.lo, c.hi].join("\u2013"), e.join("\u2013"));
      d.eq(w + "\u00b1", c && c.ci, " \u00b1 " + f(Math.round((e[1] - e[0]) / 2)));
    }
  }
  const th = await page.evaluate(readRows, "threads-table");
  if (th) for (const r of byHead(th)) {
    const x = J.threads.find(function (t) { return String(t.id) === r.id.text; });
    if (x) d.eq("thread " + x.id + " bytes allocated interval", [r["bytes allocated"].lo, r["bytes allocated"].hi].join("\u2013"), x.estimate.bytes_allocated.join("\u2013"));
  }
}

module.exports = { checkSitesTable, checkFunctions, checkSort, checkFlame, checkSearch, checkLeaks, checkErrorBars };
