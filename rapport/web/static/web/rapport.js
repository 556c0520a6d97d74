// Rapport's own small behaviours: the phone menu, "/" to search, closing menus with Escape,
// inline-edit refusals, fields shown for some choices only, the filter row's conditions.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-toggle=nav]");
    if (toggle) {
      var nav = document.getElementById(toggle.getAttribute("aria-controls"));
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      return;
    }
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.removeAttribute("open"); }
    });
  });
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
    if (event.key === "/" && !typing) {
      var palette = document.querySelector("[data-palette]");
      if (palette) { event.preventDefault(); palette.focus(); }
    }
    if (event.key === "Escape") {
      document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
        menu.removeAttribute("open");
        menu.querySelector("summary").focus();
      });
    }
  });
  // Inline-edit sections (marked data-swap-errors) show their refusals — form errors (400, 422),
  // "someone else changed this" (409, 412), "not allowed" (403) — instead of htmx dropping them.
  // Those answers are fragments; a 404 is a whole page and is not swapped in.
  var SWAPPED_ERRORS = [400, 403, 409, 412, 422];
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    var target = event.detail.target;
    if (SWAPPED_ERRORS.indexOf(status) !== -1 && target && target.closest("[data-swap-errors]")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  // A block marked data-shown-for="<select id>:<value>,<value>" shows only while that select has one of
  // those values (the options of a new custom field appear for choice types only). Without script all show.
  function syncShownFor() {
    document.querySelectorAll("[data-shown-for]").forEach(function (block) {
      var spec = block.getAttribute("data-shown-for").split(":");
      var select = document.getElementById(spec[0]);
      if (select) { block.hidden = spec[1].split(",").indexOf(select.value) === -1; }
    });
  }
  // The filter row offers only the conditions the chosen field supports (its option's data-ops).
  function syncFilterOps(select) {
    var ops = document.getElementById(select.getAttribute("data-filter-field"));
    var chosen = select.options[select.selectedIndex];
    if (!ops || !chosen) { return; }
    var allowed = (chosen.getAttribute("data-ops") || "").split(" ");
    var firstAllowed = null;
    Array.prototype.forEach.call(ops.options, function (option) {
      var ok = allowed.indexOf(option.value) !== -1;
      option.hidden = !ok;
      option.disabled = !ok;
      if (ok && firstAllowed === null) { firstAllowed = option; }
    });
    if (ops.selectedOptions.length === 0 || ops.selectedOptions[0].disabled) {
      if (firstAllowed) { firstAllowed.selected = true; }
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("select")) { syncShownFor(); }
    if (event.target.matches("[data-filter-field]")) { syncFilterOps(event.target); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    syncShownFor();
    document.querySelectorAll("[data-filter-field]").forEach(syncFilterOps);
  });
  // When a section's edit form is swapped in, put the cursor in its first field.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    // outerHTML swaps replace the target: look it up again by its id.
    var section = target && target.id ? document.getElementById(target.id) : null;
    if (!section || !section.hasAttribute("data-swap-errors")) { return; }
    var field = section.querySelector("form input:not([type=hidden]), form select, form textarea");
    if (field && !section.querySelector("[role=alert]")) { field.focus(); }
  });
}());
