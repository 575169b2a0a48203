// Cirrostack web UI: small progressive enhancements only; every page works without JavaScript.
(function () {
  "use strict";
  // Forms with data-confirm (e.g. Destroy) ask before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
