// Lab Portal's own script: math rendering with the locally served KaTeX, after page load and
// after every htmx swap. No inline scripts anywhere, so this file is the one place for it.
(function () {
  "use strict";

  // Macros arXiv authors use that KaTeX does not know by these names.
  var MACROS = {
    "\\mbox": "\\text{#1}",
    "\\mathbbm": "\\mathbb{#1}",
    "\\upmu": "\\mu",
    "\\Bar": "\\bar{#1}",
    "\\R": "\\mathbb{R}",
    "\\N": "\\mathbb{N}",
    "\\Z": "\\mathbb{Z}",
    "\\Q": "\\mathbb{Q}",
    "\\C": "\\mathbb{C}",
  };

  function options(extra) {
    var settings = {
      // A macro KaTeX does not know leaves its math as the author's source, plain: never red
      // error text, never a message in the console (see renderTex and errorCallback below).
      throwOnError: true,
      strict: "ignore",
      // Links in math (arXiv abstracts put code links in $\href{…}{…}$), only to the web.
      trust: function (context) {
        return (context.command === "\\href" || context.command === "\\url") &&
          (context.protocol === "http" || context.protocol === "https");
      },
      macros: Object.assign({}, MACROS),
    };
    return Object.assign(settings, extra || {});
  }

  // Titles and abstracts of papers: papers/tex.py puts each piece of math in its own
  // <span class="tex" data-tex="…">, holding the source as text until it is typeset here.
  function renderTex(root) {
    if (!window.katex) return;
    root.querySelectorAll("span.tex[data-tex]").forEach(function (element) {
      var typeset = document.createElement("span");
      try {
        window.katex.render(element.dataset.tex, typeset, options({ displayMode: element.dataset.display === "true" }));
      } catch (error) {
        element.classList.add("tex-source");
        return; // the source stays as the author wrote it
      }
      element.removeAttribute("data-tex");
      element.replaceChildren(typeset);
    });
  }

  function renderMath(root) {
    if (typeof window.renderMathInElement !== "function") return;
    root.querySelectorAll(".math").forEach(function (element) {
      try {
        window.renderMathInElement(element, options({
          delimiters: [
            { left: "$$", right: "$$", display: true },
            { left: "\\[", right: "\\]", display: true },
            { left: "$", right: "$", display: false },
            { left: "\\(", right: "\\)", display: false },
          ],
          ignoredClasses: ["tex"],
          errorCallback: function () {}, // the unreadable math stays as its source
        }));
      } catch (error) {
        // KaTeX failing in a way auto-render does not catch (a font it lacks metrics for):
        // what was not typeset stays as text.
      }
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
    renderTex(document);
    renderMath(document);
    showCopyButtons(document);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    // Typeset pieces lose their data-tex, so the whole page is cheap to look through; "load
    // more" puts its papers beside the element it swapped, not inside it.
    renderTex(document);
    renderMath(event.detail.elt);
    showCopyButtons(document);
  });
})();
