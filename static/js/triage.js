// Keyboard triage of a list of papers (the feed, all papers, search): j and k move between
// papers, o opens one, x shows or folds its abstract, s saves it (or removes it from the
// library), ? shows the list of keys. Each key does what a link, a <details> or a form on the
// page already does, so nothing here is the only way to do anything. The keys rest while the
// person types in a field or holds a modifier, so no shortcut of the browser is taken.
(function () {
  "use strict";

  var CURRENT = "current";

  function papers() {
    return Array.prototype.slice.call(document.querySelectorAll("article.paper"));
  }

  function current() {
    var active = document.activeElement;
    var inside = active && active.closest ? active.closest("article.paper") : null;
    return inside || document.querySelector("article.paper." + CURRENT);
  }

  function select(paper) {
    document.querySelectorAll("article.paper." + CURRENT).forEach(function (other) {
      other.classList.remove(CURRENT);
    });
    paper.classList.add(CURRENT);
    // Focus, not only a highlight: a screen reader reads the paper the keys now act on.
    paper.setAttribute("tabindex", "-1");
    paper.focus({ preventScroll: true });
    paper.scrollIntoView({ block: "nearest" });
  }

  function move(step) {
    var list = papers();
    if (!list.length) return;
    var at = list.indexOf(current());
    var next = at === -1 ? 0 : Math.min(Math.max(at + step, 0), list.length - 1);
    select(list[next]);
  }

  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable]:not([contenteditable='false'])");
  }

  function act(key) {
    var paper = current();
    if (key === "j" || key === "k") {
      move(key === "j" ? 1 : -1);
      return true;
    }
    if (key === "?") {
      var help = document.getElementById("keys-help");
      if (help && help.togglePopover) help.togglePopover();
      return Boolean(help);
    }
    if (!paper) return false;
    if (key === "o") {
      var link = paper.querySelector(".paper-title a");
      if (link) window.location.assign(link.href);
      return Boolean(link);
    }
    if (key === "x") {
      var abstract = paper.querySelector("details.abstract-box");
      if (abstract) abstract.open = !abstract.open;
      return Boolean(abstract);
    }
    if (key === "s") {
      // The bookmark form itself: htmx sends it and swaps the button, or the page posts it.
      var form = paper.querySelector("form.bookmark");
      if (form) form.requestSubmit();
      return Boolean(form);
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || event.isComposing) return;
    if (typing(event.target)) return;
    if (act(event.key)) event.preventDefault();
  });
})();
