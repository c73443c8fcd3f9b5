// Warta's only page script: a posted form's buttons are disabled once it is sent, so a double
// click does not post twice (the server refuses duplicates too; this spares the round trip).
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
