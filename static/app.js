// Small progressive enhancements; every page works without this file.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (source && navigator.clipboard) {
    navigator.clipboard.writeText(source.textContent.trim()).then(() => { button.textContent = "Copied"; });
  }
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
document.addEventListener("htmx:beforeRequest", (event) => {
  const region = event.detail.elt;
  if (!region.matches("[data-live]") || !liveTrigger(event)) return;
  const busy = region.querySelector("form#details, input[type=checkbox]:checked, :focus:not(a, button)");
  if (!busy) return;
  event.preventDefault();
  if (!region.querySelector(".live-notice")) {
    const notice = document.createElement("p");
    notice.className = "notice live-notice";
    notice.setAttribute("role", "status");
    notice.innerHTML = 'Changed elsewhere since you opened this. <a href="">Reload</a> to see it.';
    region.prepend(notice);
  }
});
document.addEventListener("htmx:responseError", (event) => {
  const region = event.detail.elt;
  if (!region.matches("[data-live]") || event.detail.xhr.status !== 404) return;
  region.outerHTML = '<p class="notice" role="status">This was deleted elsewhere. <a href="/leads">Back to the list</a></p>';
});
