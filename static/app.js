// Small progressive enhancements; every page works without this file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent.trim()).then(() => { button.textContent = "Copied"; });
  }
});
// A plain form that asks first (data-confirm): no inline handler, the Content-Security-Policy allows none.
document.addEventListener("submit", (event) => {
  const question = event.target.dataset && event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
// htmx 2 does not swap 4xx answers by default; our forms answer 422 with inline errors to show.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 422) { event.detail.shouldSwap = true; event.detail.isError = false; }
});
// "Select all on this page" for bulk actions.
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (!all) return;
  document.querySelectorAll(`input[name="${all.dataset.selectAll}"]`).forEach((box) => { box.checked = all.checked; });
});
// Live updates (SSE): a region marked data-live redraws itself when an event about it arrives, unless the
// person is in the middle of something there (a form open, boxes ticked, a field focused): then it says so.
function liveTrigger(event) {
  const cause = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
  return cause && String(cause.type).startsWith("sse:");
}
function busyIn(region) {
  // A form open, boxes ticked, a field in use or typed in and not sent yet, a card being dragged, or a request of
  // the person's own still on its way (a card loading itself after a redraw, hx-trigger="load", is not one).
  if (region.querySelector(
    "form#details, form#deal-edit, input[type=checkbox]:checked, textarea:focus, input:focus:not([type=checkbox]):not([type=radio]), .htmx-request:not([data-live]):not([hx-trigger=load]), .sortable-chosen"
  )) return true;
  return [...region.querySelectorAll("textarea, input:not([type=checkbox]):not([type=radio]):not([type=hidden])")]
    .some((field) => field.value !== field.defaultValue);
}
function sayChanged(region) {
  if (region.querySelector(".live-notice")) return;
  const notice = document.createElement("p");
  notice.className = "notice live-notice";
  notice.setAttribute("role", "status");
  notice.innerHTML = 'Changed elsewhere since you opened this. <a href="">Reload</a> to see it.';
  region.prepend(notice);
}
document.addEventListener("htmx:beforeRequest", (event) => {
  const region = event.detail.elt;
  if (!region.matches("[data-live]") || !liveTrigger(event)) return;
  // An event of the person's own change, whose answer drew this region (X-Live-Own, below): it shows it already,
  // and redrawing it would only wipe what the answer said ("Saved", "Paid in full").
  const message = event.detail.requestConfig.triggeringEvent.detail;
  const id = message && message.lastEventId;
  if (id && (region.dataset.liveOwn || "").split(",").includes(id)) { event.preventDefault(); return; }
  if (!busyIn(region)) return;
  event.preventDefault();
  sayChanged(region);
});
// An event arriving while its region's redraw is on its way is queued by htmx (`queue last`) on that element, and
// htmx drops the queued request when the redraw replaces the element (an outerHTML swap): the later change would
// never show (two leads created in a row: only the first appeared). Such an event is remembered by the region's id,
// and the region that replaced the old one redraws once more, for that event. The sse extension fires
// htmx:sseMessage after the trigger, so an event that started a redraw itself (marked in htmx:beforeRequest) is told
// apart from one that was queued behind another.
const liveStarted = new WeakSet();
const liveAgain = new Map();
document.addEventListener("htmx:beforeRequest", (event) => {
  if (!liveTrigger(event)) return;
  const region = event.detail.elt;
  const again = liveAgain.get(region.id);
  if (again && again.old === region) liveAgain.delete(region.id);  // its queue ran: nothing was dropped
  const message = event.detail.requestConfig.triggeringEvent.detail;
  if (message && typeof message === "object") liveStarted.add(message);
});
document.addEventListener("htmx:sseMessage", (event) => {
  const region = event.target;
  if (liveStarted.has(event.detail)) return;
  if (region.id && region.classList && region.classList.contains("htmx-request")) {
    liveAgain.set(region.id, { old: region, type: event.detail.type, message: event.detail });
  }
});
document.addEventListener("htmx:afterSettle", () => {
  for (const [id, again] of liveAgain) {
    const region = document.getElementById(id);
    if (!region) { liveAgain.delete(id); continue; }
    if (region.classList.contains("htmx-request")) continue;  // a redraw (the old region's, or its own) on its way
    liveAgain.delete(id);
    if (region === again.old) continue;  // not replaced: its own queue redrew it
    htmx.trigger(region, `sse:${again.type}`, again.message);
  }
});
// An answer to the person's own change names the events it wrote (X-Live-Own): the live regions it drew show them.
document.addEventListener("htmx:afterSwap", (event) => {
  if (liveTrigger(event) || !event.detail.xhr) return;
  const own = event.detail.xhr.getResponseHeader("X-Live-Own");
  const root = event.target;
  if (!own || !root.querySelectorAll) return;
  for (const region of [root, ...root.querySelectorAll("[data-live]")]) {
    if (region.matches && region.matches("[data-live]")) region.dataset.liveOwn = own;
  }
});
// The person may have started something while the redraw was on its way: then it is not swapped in.
// A redraw that comes back after the person's own request has replaced the region is stale: it is dropped.
document.addEventListener("htmx:beforeSwap", (event) => {
  const region = event.detail.elt;
  if (!region.matches("[data-live]") || !liveTrigger(event)) return;
  if (!region.isConnected) { event.detail.shouldSwap = false; return; }
  if (!busyIn(region)) return;
  event.detail.shouldSwap = false;
  sayChanged(region);
});
document.addEventListener("htmx:responseError", (event) => {
  const region = event.detail.elt;
  if (!region.matches("[data-live]") || event.detail.xhr.status !== 404) return;
  region.outerHTML = '<p class="notice" role="status">This was deleted elsewhere. <a href="/leads">Back to the list</a></p>';
});
// No silent failure: a refused or failed htmx request says so next to what the person did, in the
// server's words (its error fragment), and a select or checkbox goes back to what it was.
document.addEventListener("focusin", (event) => {
  const control = event.target;
  if (control.matches && control.matches("select, input[type=checkbox], input[type=radio]")) {
    control.dataset.before = control.type === "checkbox" || control.type === "radio" ? String(control.checked) : control.value;
  }
});
function restore(control) {
  if (!control || control.dataset.before === undefined) return;
  if (control.type === "checkbox" || control.type === "radio") control.checked = control.dataset.before === "true";
  else control.value = control.dataset.before;
}
function sayFailed(elt, text) {
  const anchor = elt.closest("form") || elt.closest("td") || elt.closest(".card, section") || elt.parentElement;
  let box = anchor.querySelector(":scope > .inline-error");
  if (!box) {
    box = document.createElement("p");
    box.className = "inline-error";
    box.setAttribute("role", "alert");
    anchor.prepend(box);
  }
  box.textContent = text;
}
function serverWords(xhr) {
  const html = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
  const fragment = html.querySelector(".error-message");
  if (fragment) {
    const title = fragment.querySelector("h1");
    const message = fragment.querySelector("p");
    return [title && title.textContent.trim(), message && message.textContent.trim()].filter(Boolean).join(": ");
  }
  return `The request failed (HTTP ${xhr.status}). Nothing was changed; try again.`;
}
document.addEventListener("htmx:responseError", (event) => {
  const elt = event.detail.elt;
  if (elt.matches("[data-live]")) return;  // a live region says it itself (above)
  restore(elt);
  sayFailed(elt, serverWords(event.detail.xhr));
});
for (const name of ["htmx:sendError", "htmx:timeout"]) {
  document.addEventListener(name, (event) => {
    const elt = event.detail.elt;
    restore(elt);
    sayFailed(elt, "Atrium could not be reached, so nothing was saved. Check your connection and try again.");
  });
}
document.addEventListener("htmx:afterRequest", (event) => {
  if (!event.detail.successful) return;
  const elt = event.detail.elt;
  const anchor = elt.closest("form") || elt.closest("td") || elt.closest(".card, section");
  const box = anchor && anchor.querySelector(":scope > .inline-error");
  if (box) box.remove();
});
// Confirmations (hx-confirm): cancelling puts the control back, so the screen never shows an unsaved choice.
document.addEventListener("htmx:confirm", (event) => {
  const question = event.detail.question;
  if (!question) return;
  event.preventDefault();
  if (window.confirm(question)) event.detail.issueRequest(true);
  else restore(event.detail.elt);
});
// Focus follows what opens and closes (keyboard and screen-reader users never land on <body>): a form
// swapped in takes the focus (its first invalid field, else its first field); a form that closes gives it
// back to the control that opens it (data-opens="<form id>"); any other swap that took the focused element
// away focuses the new region itself.
const FIELDS = "input:not([type=hidden]), select, textarea";
let focusLeft = null;  // {target, form}: the swap is about to remove the focused element
document.addEventListener("htmx:beforeSwap", (event) => {
  const active = document.activeElement;
  const target = event.detail.target;
  const form = active && active.closest ? active.closest("form[id]") : null;
  focusLeft = target && active && active !== document.body && target.contains(active) && !liveTrigger(event)
    ? { target: target.id, form: form ? form.id : "" } : null;
});
document.addEventListener("htmx:afterSwap", () => {
  const left = focusLeft;
  focusLeft = null;
  const active = document.activeElement;
  if (!left || (active && active !== document.body && active.isConnected)) return;
  const form = left.form && document.getElementById(left.form);
  const region = left.target && document.getElementById(left.target);
  const opened = region && region.tagName === "FORM" ? region : form && form.tagName === "FORM" ? form : null;
  const place = opened
    ? opened.querySelector("[aria-invalid=true]") || opened.querySelector(FIELDS)
    : (left.form && document.querySelector(`[data-opens="${left.form}"]`)) || region;
  if (!place) return;
  if (!place.matches("a[href], button, " + FIELDS) && !place.hasAttribute("tabindex")) place.setAttribute("tabindex", "-1");
  place.focus({ preventScroll: !opened });
});
// A region that is redrawn comes back with its lazy cards (hx-trigger="load") as placeholders that load again: each
// keeps showing what it showed, dimmed and inert, until its fresh content replaces it. The page does not flash its
// placeholders at every redraw, nor move what is below them under the person's pointer.
let shownCards = null;  // id → the content of each card in the region about to be swapped
document.addEventListener("htmx:beforeSwap", (event) => {
  const target = event.detail.target;
  if (!target || !target.querySelectorAll) { shownCards = null; return; }
  const cards = target.querySelectorAll("section.card[id]:not([hx-trigger='load'])");
  shownCards = new Map([...cards].map((card) => [card.id, card.innerHTML]));
});
document.addEventListener("htmx:afterSwap", () => {
  const shown = shownCards;
  shownCards = null;
  if (!shown || !shown.size) return;
  for (const [id, html] of shown) {
    const card = document.getElementById(id);
    if (!card || card.getAttribute("hx-trigger") !== "load") continue;
    card.innerHTML = html;
    card.inert = true;
    card.classList.add("reloading");
    card.setAttribute("aria-busy", "true");
  }
});
// A board (the deals' pipeline, the properties' stages): cards are dragged (SortableJS) between and within columns,
// or moved from the keyboard (Alt + arrows on a card's link). Every move is asked of the server, whose answer (the
// whole board) replaces the board: a refused move comes back as the board as it was, with the reason above it.
// The board says where moves go (`data-move-url`, `{id}` for the card's `data-card`); `data-reorder="false"` keeps
// the server's order within a column (only moves between columns).
let focusCard = null;  // the card to focus once the board the move answered with is in place
function moveCard(card, stageId, position) {
  const board = card.closest("[data-board]");
  const values = Object.fromEntries(new FormData(document.getElementById("move-form")));
  values.stage_id = stageId;
  values.position = position;
  focusCard = card.id;
  htmx.ajax("POST", board.dataset.moveUrl.replace("{id}", card.dataset.card), { source: card, target: "#board", swap: "outerHTML", values });
}
function reorders(board) { return board.dataset.reorder !== "false"; }
function initBoard(root) {
  if (typeof Sortable === "undefined") return;
  root.querySelectorAll("[data-board] .cards").forEach((list) => {
    if (list.dataset.sortable) return;
    list.dataset.sortable = "1";
    const board = list.closest("[data-board]");
    Sortable.create(list, {
      group: board.dataset.board || "cards", sort: reorders(board), animation: 120,
      draggable: ".board-card[data-movable]", filter: ".more-cards", preventOnFilter: false,
      forceFallback: true,  // pointer events rather than HTML5 drag and drop: the same on touch screens and in every browser
      onEnd: (evt) => {
        if (evt.from === evt.to && evt.oldIndex === evt.newIndex) return;
        // The place is told by the card it now follows (cards carry their true positions, also on a filtered board).
        const item = evt.item;
        let before = item.previousElementSibling;
        while (before && !before.matches(".board-card")) before = before.previousElementSibling;
        const after = before ? Number(before.dataset.position) : 0;
        const movingDown = evt.from === evt.to && after > Number(item.dataset.position);
        moveCard(item, evt.to.dataset.stage, movingDown ? after : after + 1);
      },
    });
  });
}
if (window.htmx) htmx.onLoad(initBoard);
document.addEventListener("keydown", (event) => {
  if (!event.altKey || !["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(event.key)) return;
  const card = event.target.closest && event.target.closest("[data-board] .board-card[data-movable]");
  if (!card) return;
  event.preventDefault();
  const column = card.closest(".column");
  const position = Number(card.dataset.position);
  if (event.key === "ArrowUp" || event.key === "ArrowDown") {
    const next = position + (event.key === "ArrowUp" ? -1 : 1);
    if (next >= 1 && reorders(card.closest("[data-board]"))) moveCard(card, column.dataset.stage, next);
    return;
  }
  const columns = [...card.closest("[data-board]").querySelectorAll(".column")];
  const target = columns[columns.indexOf(column) + (event.key === "ArrowLeft" ? -1 : 1)];
  if (target) moveCard(card, target.dataset.stage, 1);
});
// A refused move (a full stage, someone else's deal, one deleted meanwhile) still redraws the board: the answer is
// the board as it is, with the reason.
document.addEventListener("htmx:beforeSwap", (event) => {
  const status = event.detail.xhr.status;
  if (status >= 400 && status < 500 && event.detail.target && event.detail.target.id === "board") {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});
document.addEventListener("htmx:afterSwap", (event) => {
  if (!focusCard || !event.detail.target || event.detail.target.id !== "board") return;
  const card = document.getElementById(focusCard);
  focusCard = null;
  const link = card && card.querySelector("a");
  if (link) link.focus();
  else { const refusal = document.querySelector(".board-refusal"); if (refusal) { refusal.setAttribute("tabindex", "-1"); refusal.focus(); } }
});
// A lead's matching property, one click from a viewing: the lead's booking form is filled with it (type, place,
// property) and the person only picks the time.
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest("[data-book-property]");
  const form = button && document.getElementById("book-appointment");
  if (!form) return;
  event.preventDefault();
  form.elements.type.value = "viewing";
  form.elements.location.value = button.dataset.location;
  form.elements.property_id.value = button.dataset.bookProperty;
  const note = form.querySelector(".booking-property");
  if (note) note.textContent = `Viewing of ${button.dataset.location}`;
  form.scrollIntoView({ block: "center" });
  form.elements.starts_at.focus();
});
// The invoice editor: "Remove" takes a line row away (the totals are worked out again); without JavaScript, a row
// whose description and price are emptied is left out when the invoice is saved.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-remove-row]");
  if (!button) return;
  const row = button.closest("tr");
  const rows = row && row.parentElement;
  if (!rows) return;
  const next = row.nextElementSibling || row.previousElementSibling;
  row.remove();
  if (window.htmx) htmx.trigger(rows, "line-removed");
  const focus = next && next.querySelector("input");
  if (focus) focus.focus();
});
// The bell: every live stream also carries the person's own notifications; one arriving redraws the badge.
const notifiedSources = new WeakSet();
function ringOn(source) {
  if (!source || notifiedSources.has(source)) return;
  notifiedSources.add(source);
  source.addEventListener("notification.created", () => {
    const badge = document.getElementById("notifications-badge");
    if (badge && window.htmx) htmx.trigger(badge, "refresh");
  });
}
document.addEventListener("htmx:sseOpen", (event) => ringOn(event.detail && event.detail.source));
// A page with no live region of its own (a form, settings, an account page) opens a stream for the bell alone, so
// the bell rings on every page; one is enough: a page with live regions already hears notifications on theirs.
let bellSource = null;
function bellOnly() {
  const badge = document.getElementById("notifications-badge");
  if (!badge || bellSource || document.querySelector("[sse-connect]") || typeof EventSource === "undefined") return;
  bellSource = new EventSource("/events/stream?topic=notification");
  ringOn(bellSource);
  bellSource.addEventListener("open", () => {  // what came while it was away (the badge redraws itself: find it anew)
    const current = document.getElementById("notifications-badge");
    if (current && window.htmx) htmx.trigger(current, "refresh");
  });
}
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", bellOnly);
else bellOnly();
window.addEventListener("pagehide", () => { if (bellSource) { bellSource.close(); bellSource = null; } });
window.addEventListener("pageshow", (event) => { if (event.persisted) bellOnly(); });  // back from the page cache
