// SPDX-License-Identifier: Apache-2.0
// The search page's histogram: it fetches the counts as JSON and draws them
// with uPlot; dragging across the chart, or clicking a bar, narrows the time
// range. It also switches the range to "custom" when a from/to time is
// edited. The page works without it.
(function () {
  "use strict";
  var chart = null;

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  // narrow reloads the search for [from, to), in Unix seconds.
  function narrow(from, to) {
    var form = document.getElementById("search-form");
    var params = new URLSearchParams(form ? new FormData(form) : undefined);
    params.set("range", "custom");
    params.set("from", new Date(from * 1000).toISOString());
    params.set("to", new Date(to * 1000).toISOString());
    params.delete("after");
    window.location.assign("/events?" + params.toString());
  }

  function message(el, text) {
    el.textContent = text;
    el.classList.add("histogram-message");
    el.setAttribute("aria-busy", "false");
  }

  // Axis labels in 24-hour time and year-month-day order, as the table
  // shows times: [tick step, label, label at a new year, month, day, hour,
  // minute, second, mode] as uPlot reads them.
  var timeFormats = [
    [3600 * 24 * 365, "{YYYY}", null, null, null, null, null, null, 1],
    [3600 * 24 * 28, "{YYYY}-{MM}", "\n{YYYY}", null, null, null, null, null, 1],
    [3600 * 24, "{MM}-{DD}", "\n{YYYY}", null, null, null, null, null, 1],
    [3600, "{HH}:{mm}", "\n{YYYY}-{MM}-{DD}", null, "\n{MM}-{DD}", null, null, null, 1],
    [60, "{HH}:{mm}", "\n{YYYY}-{MM}-{DD}", null, "\n{MM}-{DD}", null, null, null, 1],
    [1, "{HH}:{mm}:{ss}", "\n{YYYY}-{MM}-{DD}", null, "\n{MM}-{DD}", null, null, null, 1]
  ];

  function plot(el, d) {
    if (!d.total) { message(el, el.getAttribute("data-empty")); return; }
    var zone = el.getAttribute("data-zone") || "UTC";
    var from = Date.parse(d.from) / 1000, to = Date.parse(d.to) / 1000;
    var dragged = false;
    var style = getComputedStyle(document.documentElement);
    var accent = style.getPropertyValue("--accent").trim() || "#1d4e89";
    var fg = style.getPropertyValue("--fg").trim() || "#15181d";
    var opts = {
      width: Math.max(el.clientWidth, 280),
      height: 160,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), zone); },
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false }, y: false },
      select: { show: true },
      scales: { x: { time: true, range: [from, to] }, y: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } },
      axes: [
        { stroke: fg, grid: { stroke: "#e3e7ed" }, ticks: { stroke: "#cfd5de" }, values: timeFormats },
        { stroke: fg, grid: { stroke: "#e3e7ed" }, ticks: { stroke: "#cfd5de" }, size: 56 }
      ],
      series: [
        {},
        { fill: accent, stroke: accent, points: { show: false }, paths: uPlot.paths.bars({ size: [0.9, Infinity], align: 1 }) }
      ],
      hooks: {
        setSelect: [function (u) {
          if (u.select.width < 3) { return; }
          dragged = true;
          var a = u.posToVal(u.select.left, "x"), b = u.posToVal(u.select.left + u.select.width, "x");
          narrow(Math.max(a, from), Math.min(b, to));
        }]
      }
    };
    chart = new uPlot(opts, [d.times, d.counts], el);
    el.setAttribute("aria-busy", "false");
    chart.over.addEventListener("click", function () {
      if (dragged) { dragged = false; return; }
      var i = chart.cursor.idx;
      if (i != null && d.counts[i] > 0) { narrow(d.times[i], Math.min(d.times[i] + d.step, to)); }
    });
  }

  function draw(root) {
    var el = root && root.id === "histogram" ? root : (root || document).querySelector && (root || document).querySelector("#histogram");
    if (!el || el.getAttribute("data-drawn") || typeof uPlot === "undefined") { return; }
    el.setAttribute("data-drawn", "1");
    el.setAttribute("aria-busy", "true");
    if (chart) { chart.destroy(); chart = null; }
    fetch(el.getAttribute("data-src"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (d) { plot(el, d); })
      .catch(function () { message(el, el.getAttribute("data-failed")); });
  }

  ready(function () {
    draw(document);
    document.body.addEventListener("htmx:load", function (e) { draw(e.detail && e.detail.elt); });
    // htmx keeps a copy of the page for the back button, without the
    // chart's pixels: draw it again when that copy comes back.
    document.body.addEventListener("htmx:beforeHistorySave", function () {
      var el = document.getElementById("histogram");
      if (el) { el.removeAttribute("data-drawn"); el.textContent = ""; }
      if (chart) { chart.destroy(); chart = null; }
    });
    document.body.addEventListener("htmx:historyRestore", function () { draw(document); });
    document.addEventListener("input", function (e) {
      if (e.target.id === "from" || e.target.id === "to") {
        var r = document.getElementById("range");
        if (r) { r.value = "custom"; }
      }
    });
    window.addEventListener("resize", function () {
      var el = document.getElementById("histogram");
      if (chart && el) { chart.setSize({ width: Math.max(el.clientWidth, 280), height: 160 }); }
    });
  });
})();
