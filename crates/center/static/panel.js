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
