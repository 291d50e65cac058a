// The spec editor, enhanced: a section with unsaved typing warns before the page is left, and ticking
// "Chinese reviewed" is undone when the Chinese is emptied. The forms work the same without this script.
(function () {
  "use strict";
  var dirty = new Set();
  document.querySelectorAll("form.sf-form").forEach(function (form) {
    form.addEventListener("input", function () { dirty.add(form); });
    form.addEventListener("submit", function () { dirty.clear(); });
  });
  document.querySelectorAll(".sf-text").forEach(function (box) {
    var zh = box.querySelector("[name$='.zh']");
    var check = box.querySelector("[name$='.reviewed']");
    if (!zh || !check) return;
    zh.addEventListener("input", function () { if (!zh.value.trim()) check.checked = false; });
  });
  window.addEventListener("beforeunload", function (event) {
    if (dirty.size) { event.preventDefault(); event.returnValue = ""; }
  });
})();
