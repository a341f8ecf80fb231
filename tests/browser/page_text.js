/* How the dashboard writes figures, restated for the browser checks
 * (check_dashboards.js, check_sites.js): the page's own rules, so that a
 * check compares the text the page shows with the JSON's number. */
"use strict";
function group(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ","); }
function bytes(n) {
  if (n < 1024) return group(n) + " B";
  const u = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + " " + u[i];
}
function dur(ns) {
  if (ns < 1e3) return ns + " ns";
  if (ns < 1e6) return (ns / 1e3).toFixed(ns < 1e4 ? 2 : 1) + " \u00b5s";
  if (ns < 1e9) return (ns / 1e6).toFixed(ns < 1e7 ? 2 : 1) + " ms";
  if (ns < 60e9) return (ns / 1e9).toFixed(ns < 1e10 ? 3 : 2) + " s";
  const m = Math.floor(ns / 60e9);
  return m + " min " + ((ns - m * 60e9) / 1e9).toFixed(1) + " s";
}
function short(s) { return s.length > 18 ? s.slice(0, 17) + "\u2026" : s; }

module.exports = { group, bytes, dur, short };
