// Lab Portal's own script: math rendering with the locally served KaTeX, after page load and
// after every htmx swap. No inline scripts anywhere, so this file is the one place for it.
(function () {
  "use strict";

  function renderMath(root) {
    if (typeof window.renderMathInElement !== "function") return;
    root.querySelectorAll(".math").forEach(function (element) {
      window.renderMathInElement(element, {
        delimiters: [
          { left: "$$", right: "$$", display: true },
          { left: "\\[", right: "\\]", display: true },
          { left: "$", right: "$", display: false },
          { left: "\\(", right: "\\)", display: false },
        ],
        throwOnError: false,
      });
    });
  }

  // A "Copy" button names the input it copies (data-copy); without this script it stays hidden
  // and the read-only input can still be selected and copied by hand.
  function showCopyButtons(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.hidden = false;
    });
  }

  function copyFrom(button) {
    var input = document.getElementById(button.dataset.copy);
    if (!input) return;
    input.select();
    var done = function () {
      button.textContent = button.dataset.copied || button.textContent;
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {
        if (document.execCommand("copy")) done();
      });
    } else if (document.execCommand("copy")) {
      done();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (button) copyFrom(button);
  });
  document.addEventListener("DOMContentLoaded", function () {
    renderMath(document);
    showCopyButtons(document);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    renderMath(event.detail.elt);
    showCopyButtons(document);
  });
})();
