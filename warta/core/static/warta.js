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
