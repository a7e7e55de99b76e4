// Search and theme filter of the home page. Without JavaScript every dataset stays listed.
(function () {
  "use strict";
  var form = document.getElementById("recherche");
  var q = document.getElementById("q");
  var theme = document.getElementById("theme");
  var status = document.getElementById("resultats");
  var cards = Array.prototype.slice.call(document.querySelectorAll("#jeux > li[data-text]"));
  function fold(s) { return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }
  function apply() {
    var words = fold(q.value).split(/\s+/).filter(Boolean);
    var t = theme.value, shown = 0;
    cards.forEach(function (li) {
      var text = li.getAttribute("data-text");
      var ok = words.every(function (w) { return text.indexOf(w) !== -1; }) &&
        (!t || li.getAttribute("data-themes").split(" ").indexOf(t) !== -1);
      li.hidden = !ok;
      if (ok) { shown += 1; }
    });
    status.textContent = shown === 0 ? "Aucun jeu de données ne correspond" :
      shown + (shown > 1 ? " jeux de données" : " jeu de données");
  }
  var params = new URLSearchParams(window.location.search);
  q.value = params.get("q") || "";
  theme.value = params.get("theme") || "";
  form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
  q.addEventListener("input", apply);
  theme.addEventListener("change", apply);
  apply();
})();
