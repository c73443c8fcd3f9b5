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
