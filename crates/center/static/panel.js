// The panel's own script, served as a file: the Content-Security-Policy allows no
// inline script. A link marked `data-back` goes back in the history when there is one
// (its href is where it goes otherwise).
document.addEventListener("click", function (e) {
  var a = e.target.closest && e.target.closest("a[data-back]");
  if (a && window.history.length > 1) {
    e.preventDefault();
    window.history.back();
  }
});

// A button marked `data-copy="ID"` copies the text of the element with that id.
document.addEventListener("click", function (e) {
  var b = e.target.closest && e.target.closest("button[data-copy]");
  if (!b) return;
  var el = document.getElementById(b.getAttribute("data-copy"));
  if (el && navigator.clipboard) {
    navigator.clipboard.writeText(el.textContent).then(function () {
      b.setAttribute("data-copied", "true");
    });
  }
});

// A form marked `data-confirm` is a dangerous action: it is sent only when the reader
// confirms the consequence the attribute states.
document.addEventListener("submit", function (e) {
  var f = e.target;
  var says = f && f.getAttribute && f.getAttribute("data-confirm");
  if (says && !window.confirm(says)) {
    e.preventDefault();
    e.stopImmediatePropagation();
  }
}, true);

// A page reached with `?done=` (the flash message of the form before it) drops it from
// the address, so that a reload or a bookmark does not say it again.
(function () {
  var u = new URL(window.location.href);
  if (u.searchParams.has("done") && window.history.replaceState) {
    u.searchParams.delete("done");
    window.history.replaceState(null, "", u.pathname + u.search + u.hash);
  }
})();
