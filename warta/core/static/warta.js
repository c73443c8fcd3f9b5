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

// data-fill="field": choosing an option copies its value into the form's field of that name (the
// inbox's canned replies fill the reply text).
document.addEventListener("change", function (event) {
  var el = event.target;
  if (!el || !el.hasAttribute || !el.hasAttribute("data-fill") || !el.form || !el.value) return;
  var target = el.form.elements[el.getAttribute("data-fill")];
  if (target) target.value = el.value;
});

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
