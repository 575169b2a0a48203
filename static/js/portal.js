// Cirrostack web UI: small progressive enhancements only; every page works without JavaScript.
(function () {
  "use strict";

  var root = document.documentElement;
  var THEME_COOKIE = "theme";
  var YEAR = 365 * 24 * 60 * 60;

  // Forms with data-confirm (e.g. Destroy) ask before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // --- dark mode -------------------------------------------------------------------------------------
  // The server renders the chosen theme into <html data-theme> from the cookie, so it is there before the
  // first paint; without a choice the CSS follows prefers-color-scheme.
  var systemDark = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;

  function effectiveTheme() {
    var chosen = root.getAttribute("data-theme");
    if (chosen === "dark" || chosen === "light") {
      return chosen;
    }
    return systemDark && systemDark.matches ? "dark" : "light";
  }

  function showThemeState() {
    var dark = effectiveTheme() === "dark";
    document.querySelectorAll("[data-theme-toggle]").forEach(function (button) {
      button.setAttribute("aria-pressed", dark ? "true" : "false");
    });
  }

  function chooseTheme(theme) {
    root.setAttribute("data-theme", theme);
    document.cookie = THEME_COOKIE + "=" + theme + "; path=/; max-age=" + YEAR + "; samesite=lax";
    showThemeState();
  }

  document.querySelectorAll("[data-theme-toggle]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      chooseTheme(effectiveTheme() === "dark" ? "light" : "dark");
    });
  });
  if (systemDark && systemDark.addEventListener) {
    systemDark.addEventListener("change", showThemeState);
  }
  showThemeState();

  // --- phone menu ------------------------------------------------------------------------------------
  // Below the phone breakpoint the sidebar is a top bar whose menu button opens the navigation.
  var menuButton = document.querySelector(".menu-toggle");
  var sidebar = menuButton && menuButton.closest(".sidebar");

  function setMenu(open) {
    sidebar.classList.toggle("menu-open", open);
    menuButton.setAttribute("aria-expanded", open ? "true" : "false");
  }

  if (menuButton && sidebar) {
    menuButton.addEventListener("click", function () {
      setMenu(!sidebar.classList.contains("menu-open"));
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && sidebar.classList.contains("menu-open")) {
        setMenu(false);
        menuButton.focus();
      }
    });
  }
})();
