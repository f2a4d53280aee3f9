// 关爱档案: small helpers (no inline script anywhere: the CSP forbids it).
(function () {
  "use strict";
  // repeatable rows in document forms: a <template> row with __i__ placeholders
  document.addEventListener("click", function (ev) {
    var add = ev.target.closest("[data-add-row]");
    if (add) {
      var id = add.getAttribute("data-add-row");
      var table = document.getElementById(id);
      var tpl = document.getElementById(id + "-tpl");
      if (!table || !tpl) return;
      var body = table.tBodies[0];
      var next = Number(table.getAttribute("data-next") || body.rows.length);
      table.setAttribute("data-next", String(next + 1));
      var row = tpl.content.firstElementChild.cloneNode(true);
      row.querySelectorAll("[name]").forEach(function (el) {
        el.name = el.name.replace("__i__", String(next));
      });
      body.appendChild(row);
      var first = row.querySelector("input, select");
      if (first) first.focus();
      return;
    }
    var rm = ev.target.closest("[data-remove-row]");
    if (rm) {
      var tr = rm.closest("tr");
      if (tr) tr.remove();
    }
  });
  // after a form comes back with errors, bring the first one into view and focus its input
  document.addEventListener("htmx:afterSwap", function (ev) {
    var target = ev.detail && ev.detail.target;
    if (!target || !target.querySelector) return;
    var bad = target.querySelector(".has-error");
    var alert = target.querySelector(".alert-error");
    if (alert) alert.scrollIntoView({block: "start"});
    if (bad) {
      var input = bad.querySelector("input, select, textarea");
      if (input) input.focus({preventScroll: !!alert});
    }
  });
  // keyboard: "/" focuses the page's search or filter box
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "/" || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
    var box = document.querySelector("#q, #f-q");
    if (box) { ev.preventDefault(); box.focus(); }
  });
})();
