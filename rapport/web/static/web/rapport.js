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
// The deal board: drag a card onto another column to move the deal. The move POSTs the stage and
// the version the card shows (the server refuses a stale one: someone else moved the deal) with
// the CSRF token; a lost column first asks for the lost reason in a dialog (the server's form).
// Both columns are reloaded afterwards, and a refusal is shown in the board's status line.
// Without script each card's "Move to…" form does the same.
(function () {
  "use strict";
  var dragged = null;
  var pending = null;
  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; } catch (e) { return ""; }
  }
  function say(text, ok) {
    var box = document.getElementById("board-status");
    if (!box) { return; }
    box.textContent = text;
    box.className = "flash board-status " + (ok ? "flash-success" : "flash-error");
    box.setAttribute("role", ok ? "status" : "alert");
    box.hidden = !text;
  }
  function reload(column) {
    var board = document.querySelector("[data-board]");
    if (!column || !board || !window.htmx) { return null; }
    var query = board.getAttribute("data-query");
    var url = column.getAttribute("data-column-url") + (query ? "?" + query : "");
    return window.htmx.ajax("GET", url, { target: "#" + column.id, swap: "outerHTML" });
  }
  function move(card, column, lostReason) {
    var body = new URLSearchParams();
    body.set("stage", column.getAttribute("data-stage-id"));
    body.set("version", card.getAttribute("data-version"));
    if (lostReason !== undefined) { body.set("lost_reason", lostReason); }
    var source = card.closest(".board-column");
    var name = card.querySelector(".deal-card-name").textContent;
    var stageName = column.querySelector("h2").textContent;
    var list = column.querySelector(".board-cards");
    if (list) { list.insertBefore(card, list.firstChild); }
    return fetch(card.getAttribute("data-move-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "HX-Request": "true" }
    }).then(function (response) {
      return response.text().then(function (text) {
        if (response.ok) { say("“" + name + "” moved to " + stageName + ".", true); } else {
          say(text || "“" + name + "” could not be moved (error " + response.status + ").", false);
        }
        reload(source);
        reload(column);
      });
    }, function () {
      say("The server could not be reached: “" + name + "” was not moved.", false);
      reload(source);
      reload(column);
    });
  }
  function askLostReason(card, column) {
    var dialog = document.getElementById("lost-dialog");
    var url = card.getAttribute("data-move-url") + "?stage=" + encodeURIComponent(column.getAttribute("data-stage-id"));
    fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } }).then(function (response) {
      return response.text().then(function (html) {
        if (!response.ok || !dialog) { say("This deal cannot be moved now; reload the page.", false); return; }
        pending = { card: card, column: column };
        dialog.innerHTML = html;
        dialog.showModal();
        var input = dialog.querySelector("[name=lost_reason]");
        if (input) { input.required = true; input.focus(); }
      });
    });
  }
  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card[draggable=true]");
    if (!card) { return; }
    dragged = card;
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-deal-id"));
  });
  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("is-dragging"); }
    dragged = null;
    document.querySelectorAll(".board-column.is-drop-target").forEach(function (c) { c.classList.remove("is-drop-target"); });
  });
  document.addEventListener("dragover", function (event) {
    var column = dragged && event.target.closest && event.target.closest(".board-column");
    if (!column) { return; }
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("is-drop-target");
  });
  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("is-drop-target"); }
  });
  document.addEventListener("drop", function (event) {
    var column = dragged && event.target.closest && event.target.closest(".board-column");
    if (!column) { return; }
    event.preventDefault();
    var card = dragged;
    column.classList.remove("is-drop-target");
    if (column === card.closest(".board-column")) { return; }
    if (column.getAttribute("data-stage-kind") === "lost") { askLostReason(card, column); } else { move(card, column); }
  });
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var dialog = form.closest && form.closest("#lost-dialog");
    if (!dialog || !pending || !form.hasAttribute("data-board-move")) { return; }
    event.preventDefault();
    var reason = form.querySelector("[name=lost_reason]").value.trim();
    if (!reason) { form.querySelector("[name=lost_reason]").focus(); return; }
    dialog.close();
    move(pending.card, pending.column, reason);
    pending = null;
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-close-dialog]")) {
      var dialog = event.target.closest("dialog");
      if (dialog) { dialog.close(); }
      pending = null;
    }
  });
}());
