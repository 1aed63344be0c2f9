// Small behaviours that need script; pages work without it. No inline handlers (CSP).
(function () {
  "use strict";
  function wire(root) {
    root.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
    var firstInvalid = root.querySelector(".field.invalid input, .field.invalid select");
    if (firstInvalid) { firstInvalid.focus(); }
  }
  document.addEventListener("DOMContentLoaded", function () { wire(document); });
})();
