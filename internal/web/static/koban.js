// SPDX-License-Identifier: Apache-2.0
// koban's only script of its own: a menu toggle for small screens, copy
// buttons, confirmation before destructive actions, and focus on the error
// summary. Everything works without it.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var toggle = document.getElementById("menu-toggle");
    var nav = document.getElementById("nav");
    if (toggle && nav) {
      document.body.classList.add("js");
      toggle.addEventListener("click", function () {
        var open = toggle.getAttribute("aria-expanded") === "true";
        toggle.setAttribute("aria-expanded", open ? "false" : "true");
        nav.classList.toggle("open", !open);
      });
    }
    document.addEventListener("click", function (e) {
      var b = e.target.closest("button.copy");
      if (!b) { return; }
      var src = document.getElementById(b.getAttribute("data-copy"));
      if (src && navigator.clipboard) {
        navigator.clipboard.writeText(src.textContent.trim()).then(function () { b.classList.add("done"); });
      }
    });
    document.addEventListener("submit", function (e) {
      var b = e.submitter || e.target.querySelector("[data-confirm]");
      if (b && b.hasAttribute("data-confirm") && !window.confirm(b.getAttribute("data-confirm"))) {
        e.preventDefault();
      }
    });
    var summary = document.getElementById("error-summary");
    if (summary) { summary.focus(); }
  });
})();
