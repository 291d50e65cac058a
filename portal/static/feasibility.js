// The feasibility workspace, made a little quicker to use. Everything works without it: it only asks before a
// removal or a completion, and shows a risk's score as its likelihood and impact change.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) {
      event.preventDefault();
    }
  });
  function updateScore(form) {
    var score = form.querySelector(".fz-score");
    var likelihood = form.querySelector("select[name=likelihood]");
    var impact = form.querySelector("select[name=impact]");
    if (!score || !likelihood || !impact) return;
    var value = Number(likelihood.value) * Number(impact.value);
    score.querySelector("output").textContent = String(value);
    score.classList.toggle("fz-is-high", value >= Number(score.getAttribute("data-high")));
  }
  document.addEventListener("change", function (event) {
    if (event.target.classList && event.target.classList.contains("fz-score-part")) {
      updateScore(event.target.form);
    }
  });
  document.querySelectorAll("form .fz-score").forEach(function (score) {
    updateScore(score.closest("form"));
  });
})();
