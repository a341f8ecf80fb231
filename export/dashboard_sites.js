  /* ==== Sites, functions, the leak drill-down, flame graphs and the sampled
     trace's intervals (docs/JSON.md "sites[]", "functions[]", "sampling").
     Included into dashboard.html's script by embed.py: it uses the helpers
     above (el, sv, section, table, bytes, group, showTip). Every string is
     a text node. ==== */
  const SM = D.sampling || { mode: "exact" };
  const sampled = SM.mode !== "exact";
  const SITES = D.sites || [], FUNCS = D.functions || [];
  const siteById = new Map(SITES.map(function (s) { return [s.id, s]; }));
  const peakTotal = S.peak_live_bytes;

  function baseName(p) { return p ? p.split("/").pop() : ""; }
  /* A frame's name as the folded output writes it (export/folded.c). */
  function frameName(f) {
    if (f.function) return f.function;
    if (f.module) return baseName(f.module) + "+" + f.offset;
    return "?";
  }
  function frameWhere(f) { return f.file ? f.file + (f.line ? ":" + f.line : "") : ""; }
  function frameModule(f) { return f.module ? baseName(f.module) + "+" + f.offset : ""; }
  function siteKind(s) { return s.runtime ? "runtime" : s.suppressed ? "suppressed" : "program"; }
  function pct(v, of) { return of > 0 ? (100 * v / of).toFixed(v * 1000 < of ? 2 : 1) + "%" : "\u2013"; }
  /* The 95% interval of a row's estimated figure name, or null (exact trace). */
  function est(name) { return function (r) { return r.estimate && r.estimate[name] ? r.estimate[name] : null; }; }

  /* What the trace sampled, in words; "" when exact. */
  function samplingText() {
    if (SM.mode === "bytes") return "one sample per " + bytes(SM.sample_bytes) + " allocated on average (byte sampling, seed " + SM.seed + ")";
    if (SM.mode === "rate") {
      const p = SM.sample_rate / 4294967296;
      return "one allocation in " + group(Math.round(1 / (p || 1))) + " (rate sampling, " + (100 * p).toPrecision(3) + "%, seed " + SM.seed + ")";
    }
    return "";
  }
  /* Adds the interval of an estimate to a summary card. */
  function cardInterval(c, v, ci, f, what) {
    if (!ci || !c) return;
    c.appendChild(el("div", { class: "ci", "data-lo": String(ci[0]), "data-hi": String(ci[1]) },
      [(what ? what + ": " : "") + "estimate " + f(v) + ", 95% interval " + f(ci[0]) + "\u2013" + f(ci[1])]));
  }

  /* The function cell: its name and the runtime / suppressed badges. */
  function fnCell(s, f) {
    const kids = [el("span", { class: "fn" }, [frameName(f)])];
    if (s.runtime) kids.push(el("span", { class: "badge warn kind" }, ["runtime"]));
    if (s.suppressed) kids.push(el("span", { class: "badge kind" }, ["suppressed"]));
    return el("span", null, kids);
  }

  /* The eight figures of a site or function, as table columns. */
  function figureCols() {
    const B = function (k, h, extra) {
      return Object.assign({ h: h, v: function (x) { return x[k]; }, f: function (x) { return bytes(x[k]); }, num: true,
        title: function (x) { return group(x[k]) + " bytes"; }, ci: est(k), cf: bytes }, extra || {});
    };
    const N = function (k, h) { return { h: h, v: function (x) { return x[k]; }, f: function (x) { return group(x[k]); }, num: true, ci: est(k) }; };
    return [
      N("allocations", "allocations"),
      B("bytes_allocated", "bytes allocated"),
      B("peak_bytes", "at the peak", { title: function (x) { return group(x.peak_bytes) + " bytes, " + pct(x.peak_bytes, peakTotal) + " of the peak"; } }),
      B("peak_live_bytes", "own peak"),
      B("leaked_bytes", "leaked"),
      N("leaked_blocks", "leaked blocks"),
      N("temporary", "temporary"),
    ];
  }

  /* ---- the selected site's full stack (the drill-down's end) ---- */
  const stackHost = el("div", { id: "site-stack" }, [el("p", { class: "note" }, ["Click a leak, a leaking site or a site to see its whole call stack here."])]);
  function showStack(s, tr) {
    for (const o of document.querySelectorAll("tr.sel")) o.classList.remove("sel");
    if (tr) tr.classList.add("sel");
    stackHost.textContent = "";
    stackHost.setAttribute("data-site", String(s.id));
    const own = s.stack.length ? s.stack[0] : null;
    stackHost.appendChild(el("h3", { class: "sitehead" }, ["Site #" + s.id + ": " + frameName(s) + (frameWhere(s) ? " at " + frameWhere(s) : "") + " (" + siteKind(s) + ")"]));
    stackHost.appendChild(el("p", { class: "note" }, [group(s.allocations) + " allocations, " + bytes(s.bytes_allocated) + " allocated; " +
      bytes(s.leaked_bytes) + " in " + group(s.leaked_blocks) + " blocks leaked; " + bytes(s.peak_bytes) + " live at the peak. " +
      (own ? group(s.stack.length) + " frames, innermost first:" : "No frame was recorded.")]));
    if (!own) return;
    const frames = s.stack.map(function (f, i) { return Object.assign({ i: i }, f); });
    stackHost.appendChild(table(frames, [
      { h: "#", v: function (f) { return f.i; }, num: true },
      { h: "function", v: function (f) { return frameName(f); }, mono: true },
      { h: "file:line", v: function (f) { return frameWhere(f); }, mono: true },
      { h: "module+offset", v: function (f) { return frameModule(f); }, mono: true, title: function (f) { return f.module || ""; } },
      { h: "inlined", v: function (f) { return f.inlined ? "inlined" : ""; } },
    ], 0, false, { id: "site-stack-frames" }));
    stackHost.scrollIntoView({ block: "nearest" });
  }

  /* ---- Sites and functions ---- */
  function sitesSection() {
    if (!SITES.length) {
      section("Sites", "No call stacks in this trace: record with MEMSCOPE_STACK_DEPTH=16 to see where the memory was allocated.");
      return;
    }
    const runtime = SITES.filter(function (s) { return s.runtime; }).length, supp = SITES.filter(function (s) { return s.suppressed; }).length;
    const ss = section("Sites", group(SITES.length + D.sites_omitted) + " call stacks allocated" + (D.sites_omitted ? "; the " +
      group(SITES.length) + " listed are every one that leaked or is among the largest at the peak, and those that allocated most" : "") +
      ". " + group(runtime) + " listed are the C/C++ runtime's own, " + group(supp) + " suppressed. \u201cAt the peak\u201d: bytes live at " +
      dur(S.peak_time_ns) + ", with their share of the peak in the tooltip. Click a header to sort (the order is kept), a row for its stack." +
      (sampled ? " Every figure is an estimate with its 95% interval (\u00b1 half of it, and a bar from its low to its high end)." : ""));
    const tools = el("div", { class: "tools" }, ["Top by:"]);
    ss.appendChild(tools);
    const t = table(SITES, [
      { h: "site", v: function (s) { return s.id; }, num: true },
      { h: "function", v: function (s) { return frameName(s); }, f: function (s) { return fnCell(s, s); } },
      { h: "file:line", v: function (s) { return frameWhere(s); }, nw: true },
      { h: "module", v: function (s) { return frameModule(s); }, nw: true, title: function (s) { return s.module || ""; } },
    ].concat(figureCols()), 5, true, { key: "sites", id: "sites-table", onRow: showStack, attrs: function (s) { return { "data-site": String(s.id) }; } });
    for (const [label, h] of [["bytes allocated", "bytes allocated"], ["allocations", "allocations"], ["share of the peak", "at the peak"],
      ["leaked bytes", "leaked"], ["temporaries", "temporary"]]) {
      const b = el("button", { type: "button", "data-sort": h }, [label]);
      b.addEventListener("click", function () {
        const th = Array.from(t.querySelectorAll("thead th")).find(function (x) { return x.textContent === h; });
        if (!th) return;
        th.click();
        if (th.getAttribute("aria-sort") !== "descending") th.click();
      });
      tools.appendChild(b);
    }
    ss.appendChild(t);
    const fs = section("Functions", group(FUNCS.length + D.functions_omitted) + " functions: the sites summed by their own frame (a function called from two places has two sites)." +
      (D.functions_omitted ? " " + group(D.functions_omitted) + " more are in the JSON report." : ""));
    fs.appendChild(table(FUNCS, [
      { h: "function", v: function (x) { return frameName(x); }, mono: true },
      { h: "file:line", v: function (x) { return frameWhere(x); }, nw: true },
      { h: "module", v: function (x) { return frameModule(x); }, nw: true, title: function (x) { return x.module || ""; } },
      { h: "sites", v: function (x) { return x.sites.length; }, num: true, title: function (x) { return "sites " + x.sites.join(", "); } },
    ].concat(figureCols()), 5, true, { key: "functions", id: "functions-table" }));
  }

  /* ---- the leaks by kind, by site, and the stack of one ---- */
  function leakDrill(ls) {
    const K = [
      ["program", S.leaked_program_bytes, S.leaked_program_blocks],
      ["runtime", S.leaked_runtime_bytes, S.leaked_runtime_blocks],
      ["suppressed", S.leaked_suppressed_bytes, S.leaked_suppressed_blocks],
      ["without a stack", S.leaked_bytes - S.leaked_program_bytes - S.leaked_runtime_bytes - S.leaked_suppressed_bytes,
        S.leaked_blocks - S.leaked_program_blocks - S.leaked_runtime_blocks - S.leaked_suppressed_blocks],
    ].filter(function (k) { return k[0] !== "without a stack" || k[1] > 0 || k[2] > 0; });
    const leaking = SITES.filter(function (s) { return s.leaked_blocks > 0; });
    const kinds = K.map(function (k) {
      return { kind: k[0], bytes: k[1], blocks: k[2], sites: leaking.filter(function (s) { return siteKind(s) === k[0]; }).length };
    });
    ls.appendChild(el("p", { class: "note" }, ["Leaks by kind of site (click one to list only its sites):"]));
    const host = el("div");
    let only = null;
    function list() {
      host.textContent = "";
      const rows = only ? leaking.filter(function (s) { return siteKind(s) === only; }) : leaking;
      host.appendChild(el("p", { class: "note" }, [(only ? "The " + only + "'s leaking sites" : "Every leaking site") + ", " + group(rows.length) +
        ": the leaked bytes grouped by call stack. Click a site for its stack."]));
      host.appendChild(table(rows, [
        { h: "site", v: function (s) { return s.id; }, num: true },
        { h: "function", v: function (s) { return frameName(s); }, f: function (s) { return fnCell(s, s); } },
        { h: "file:line", v: function (s) { return frameWhere(s); }, nw: true },
        { h: "kind", v: function (s) { return siteKind(s); } },
        { h: "leaked bytes", v: function (s) { return s.leaked_bytes; }, f: function (s) { return bytes(s.leaked_bytes); }, num: true,
          title: function (s) { return group(s.leaked_bytes) + " bytes, " + pct(s.leaked_bytes, S.leaked_bytes) + " of the leaked bytes"; }, ci: est("leaked_bytes"), cf: bytes },
        { h: "leaked blocks", v: function (s) { return s.leaked_blocks; }, f: function (s) { return group(s.leaked_blocks); }, num: true, ci: est("leaked_blocks") },
      ], 4, true, { key: "leaksites", id: "leak-sites", onRow: showStack, attrs: function (s) { return { "data-site": String(s.id) }; } }));
    }
    ls.appendChild(table(kinds, [
      { h: "kind", v: function (k) { return k.kind; } },
      { h: "bytes", v: function (k) { return k.bytes; }, f: function (k) { return bytes(k.bytes); }, num: true, title: function (k) { return group(k.bytes) + " bytes"; } },
      { h: "blocks", v: function (k) { return k.blocks; }, f: function (k) { return group(k.blocks); }, num: true },
      { h: "sites", v: function (k) { return k.sites; }, f: function (k) { return group(k.sites); }, num: true },
    ], -1, false, { id: "leak-kinds", attrs: function (k) { return { "data-kind": k.kind }; },
      onRow: function (k, tr) { only = only === k.kind ? null : k.kind; list(); for (const o of tr.parentNode.children) o.classList.toggle("sel", o === tr && !!only); } }));
    if (leaking.length) ls.appendChild(host);
    list();
    ls.appendChild(stackHost);
  }
  /* The site column of a block list (leaks[], the peak's largest). */
  const siteCol = { h: "site", v: function (b) { return b.site || 0; }, f: function (b) {
    const s = siteById.get(b.site);
    return b.site === undefined ? "\u2013" : "#" + b.site + (s ? " " + frameName(s) : "");
  } };
  function pickBlock(b, tr) { const s = siteById.get(b.site); if (s) showStack(s, tr); }

  /* ---- flame graphs (icicles): the sites' figure along their stacks,
     outermost frame at the top; frames merged by name as in the folded
     output. What no listed site holds is one "[no stack]" child, so that
     the root is the summary's total. ---- */
  const NOSTACK = D.sites_omitted ? "[no stack, or a site not listed]" : "[no stack]";
  function flameTree(fig, total) {
    const root = { name: "all", v: 0, kids: new Map(), where: new Set(), parent: null, depth: 0 };
    for (const s of SITES) {
      const v = s[fig];
      if (!v) continue;
      root.v += v;
      let n = root;
      const st = s.stack.length ? s.stack : [{ function: "[empty stack]", file: null, line: null, module: null, offset: null, inlined: false }];
      for (let i = st.length - 1; i >= 0; i--) {
        const f = st[i], name = frameName(f);
        let k = n.kids.get(name);
        if (!k) { k = { name: name, v: 0, kids: new Map(), where: new Set(), parent: n, depth: n.depth + 1, inlined: true }; n.kids.set(name, k); }
        k.v += v;
        if (frameWhere(f)) k.where.add(frameWhere(f));
        if (!f.inlined) k.inlined = false;
        n = k;
      }
    }
    if (total > root.v) {
      root.kids.set(NOSTACK, { name: NOSTACK, v: total - root.v, kids: new Map(), where: new Set(), parent: root, depth: 1, inlined: false });
      root.v = total;
    }
    return root;
  }
  function hue(name) {
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return h;
  }
  function flame(host, id, fig, total, what) {
    const root = flameTree(fig, total), W = 1000, RH = 18;
    const tools = el("div", { class: "tools" });
    const search = el("input", { type: "search", placeholder: "search frames", "aria-label": "search the " + what + " flame graph", id: id + "-search" });
    const reset = el("button", { type: "button", id: id + "-reset" }, ["reset zoom"]);
    const found = el("span", { class: "note", id: id + "-found" });
    tools.appendChild(search); tools.appendChild(reset); tools.appendChild(found);
    host.appendChild(tools);
    const svg = sv("svg", { class: "flame", id: id, role: "img", "aria-label": what + " flame graph" });
    host.appendChild(svg);
    const info = el("div", { class: "flameinfo", id: id + "-info" });
    host.appendChild(info);
    let focus = root, query = "";
    const describe = function (n) {
      const w = Array.from(n.where);
      return n.name + (w.length ? " \u2014 " + w[0] + (w.length > 1 ? " (+" + (w.length - 1) + " more)" : "") : "") + (n.inlined && n.parent ? " [inlined]" : "") +
        " \u2014 " + group(n.v) + " bytes, " + pct(n.v, root.v) + " of " + what;
    };
    const matches = function (n) { return query !== "" && n.name.toLowerCase().includes(query); };
    function draw() {
      svg.textContent = "";
      const up = [];
      for (let a = focus; a; a = a.parent) up.unshift(a);
      let rows = up.length;
      const put = function (n, x, w, row, anc) {
        const g = sv("g", { "data-name": n.name, "data-bytes": String(n.v), "data-depth": String(n.depth), class: (anc ? "anc" : "") + (matches(n) ? " match" : "") });
        g.appendChild(sv("rect", { x: x.toFixed(2), y: row * RH, width: Math.max(w - 0.3, 0.3).toFixed(2), height: RH - 1,
          fill: n.name === NOSTACK ? "#b8c0cc" : "hsl(" + (8 + hue(n.name) % 44) + ", " + (n.inlined && n.parent ? 55 : 78) + "%, " + (58 + hue(n.name) % 14) + "%)" }));
        if (w > 36) {
          const max = Math.floor((w - 6) / 6.6), lab = n.name.length > max ? n.name.slice(0, Math.max(max - 1, 1)) + "\u2026" : n.name;
          g.appendChild(sv("text", { x: (x + 3).toFixed(2), y: row * RH + 13 }, lab));
        }
        g.addEventListener("mousemove", function (ev) { showTip(ev, describe(n)); });
        g.addEventListener("mouseleave", hideTip);
        g.addEventListener("click", function () { focus = n; info.textContent = describe(n); draw(); });
        svg.appendChild(g);
      };
      up.forEach(function (a, i) { put(a, 0, W, i, a !== focus); });
      const walk = function (n, x, row) {
        let cx = x;
        const kids = Array.from(n.kids.values()).sort(function (a, b) { return b.v - a.v || (a.name < b.name ? -1 : 1); });
        for (const k of kids) {
          const w = W * k.v / focus.v;
          if (w >= 0.5) { put(k, cx, w, row, false); rows = Math.max(rows, row + 1); walk(k, cx, row + 1); }
          cx += w;
        }
      };
      walk(focus, 0, up.length);
      svg.setAttribute("viewBox", "0 0 " + W + " " + rows * RH);
      svg.setAttribute("data-focus", focus.name);
    }
    function find() {
      query = search.value.trim().toLowerCase();
      let sum = 0, count = 0;
      const walk = function (n, inside) {
        const m = matches(n);
        if (m) count++;
        if (m && !inside) sum += n.v;
        for (const k of n.kids.values()) walk(k, inside || m);
      };
      walk(root, false);
      found.textContent = query ? group(count) + " frames match: " + group(sum) + " bytes, " + pct(sum, root.v) + " of the total" : "";
      found.setAttribute("data-bytes", String(sum));
      draw();
    }
    search.addEventListener("input", find);
    reset.addEventListener("click", function () { focus = root; info.textContent = describe(root); draw(); });
    info.textContent = describe(root);
    draw();
  }
  function flameSection() {
    if (!SITES.length) return;
    const fl = section("Flame graphs", "Where the bytes were allocated, by call stack: each bar is a frame, its width its bytes, the outermost frame at the top, " +
      "frames of one function merged. Click a frame to zoom into it, the top bar or \u201creset zoom\u201d to zoom out; type in the box to highlight frames " +
      "and see their share." + (sampled ? " The widths are estimates (" + samplingText() + ")." : ""));
    const a = el("div"), p = el("div");
    a.appendChild(el("h3", null, ["Bytes allocated"]));
    flame(a, "flame-allocated", "bytes_allocated", S.bytes_allocated, "the bytes allocated");
    p.appendChild(el("h3", null, ["Live at the peak (" + dur(S.peak_time_ns) + ")"]));
    flame(p, "flame-peak", "peak_bytes", S.peak_live_bytes, "the peak");
    fl.appendChild(a);
    fl.appendChild(p);
  }
