// Warta's only page script (served from /static, so the Content-Security-Policy can forbid inline
// scripts altogether; see docs/security.md).

// A posted form's buttons are disabled once it is sent, so a double click does not post twice
// (the server refuses duplicates too; this spares the round trip).
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (event.defaultPrevented) return; // htmx (or a page script) handles this one itself
  if ((form.method || "").toLowerCase() !== "post" || form.hasAttribute("data-allow-resubmit")) return;
  setTimeout(function () {
    form.querySelectorAll("button[type=submit], input[type=submit], button:not([type])").forEach(function (b) {
      b.disabled = true;
    });
  }, 0);
});

// data-confirm="question" on a form or a submit button: ask first (what an inline
// onsubmit/onclick="return confirm(…)" did). Capture phase, so a refusal stops the submit before
// the button-disabling handler above sees it.
document.addEventListener("click", function (event) {
  var el = event.target && event.target.closest ? event.target.closest("button[data-confirm], input[data-confirm]") : null;
  if (el && !window.confirm(el.getAttribute("data-confirm"))) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.hasAttribute && form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// Controls marked data-autosubmit (the language switch) send their form when changed: what an
// inline onchange="this.form.submit()" did, which the CSP forbids.
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el && el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) el.form.submit();
});

// Polls (hx-trigger="every …") are not activity: they say so, and the server does not renew the
// idle timeout for them (warta/accounts/middleware.py).
document.addEventListener("htmx:configRequest", function (event) {
  var trigger = (event.detail.elt.getAttribute("hx-trigger") || "").trim();
  if (/^every\s/.test(trigger)) event.detail.headers["X-Warta-Poll"] = "1";
});

// A <select data-fill="CSS selector"> copies the chosen option's value into that field (canned
// replies), then announces the change so the composer's counter measures the new text. Here
// rather than in an inline handler: the Content Security Policy allows no inline script.
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!select.matches || !select.matches("select[data-fill]") || !select.value) return;
  var field = document.querySelector(select.getAttribute("data-fill"));
  if (!field) return;
  field.value = select.value;
  field.dispatchEvent(new Event("change", { bubbles: true }));
  field.dispatchEvent(new Event("input", { bubbles: true }));
});

// Pages may style for script-enabled browsers (the phone menu folds only when it can open again).
document.documentElement.classList.add("js");

// The phone menu: the button shows or hides the areas and says which.
document.addEventListener("click", function (event) {
  var button = event.target.closest ? event.target.closest("button.nav-toggle") : null;
  if (!button) return;
  var header = button.closest(".topbar");
  var open = !header.classList.contains("nav-open");
  header.classList.toggle("nav-open", open);
  button.setAttribute("aria-expanded", open ? "true" : "false");
});

// A table row with data-href opens that page when tapped anywhere (the row's own links,
// checkboxes and buttons keep working as themselves; a modifier click opens a new tab).
document.addEventListener("click", function (event) {
  var row = event.target.closest ? event.target.closest("tr[data-href]") : null;
  if (!row || event.target.closest("a, button, input, label, select, textarea")) return;
  if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) {
    window.open(row.getAttribute("data-href"), "_blank");
    return;
  }
  window.location.href = row.getAttribute("data-href");
});
