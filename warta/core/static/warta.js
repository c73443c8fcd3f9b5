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
