// SPDX-License-Identifier: Apache-2.0
// The alert queue's "select all" box. Without script each alert is checked
// on its own.
(function () {
  "use strict";
  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }
  ready(function () {
    var all = document.getElementById("select-all");
    var form = document.getElementById("alerts-bulk");
    if (!all || !form) { return; }
    var boxes = form.querySelectorAll('input[type=checkbox][name="alert"]');
    all.hidden = false;
    all.addEventListener("change", function () {
      boxes.forEach(function (b) { b.checked = all.checked; });
    });
    form.addEventListener("change", function (e) {
      if (e.target === all) { return; }
      var n = 0;
      boxes.forEach(function (b) { if (b.checked) { n++; } });
      all.checked = n === boxes.length;
      all.indeterminate = n > 0 && n < boxes.length;
    });
  });
})();
