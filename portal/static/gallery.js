// Sample galleries, made quicker to use. Everything works without it: thumbnails are links to the full images,
// the decision form posts normally, and the project page links to the samples page.
// With it: the project page's sections load in place (data-fragment), a thumbnail opens the full image in a
// viewer (Escape closes, arrow keys move, focus returns to the thumbnail), and choosing "reject" makes the
// comment required before the form is sent.
(function () {
  "use strict";
  if (window.makereadyGallery) return; // included by several sections of one page
  window.makereadyGallery = true;

  // --- sections loaded in place -------------------------------------------------------------------------------
  function loadFragments(root) {
    root.querySelectorAll("[data-fragment]").forEach(function (placeholder) {
      var url = placeholder.getAttribute("data-fragment");
      placeholder.removeAttribute("data-fragment");
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) {
          // a session that expired redirects to the login page: keep the link rather than show that here
          if (!response.ok || response.redirected) throw new Error(String(response.status));
          return response.text();
        })
        .then(function (html) {
          var holder = document.createElement("div");
          holder.innerHTML = html; // our own server-rendered, escaped HTML
          var section = holder.firstElementChild;
          if (!section) return;
          placeholder.replaceWith(section);
          if (window.location.hash && section.id && window.location.hash === "#" + section.id) {
            section.scrollIntoView();
          }
        })
        .catch(function () {
          /* keep the link to the full page */
        });
    });
  }

  // --- the viewer ----------------------------------------------------------------------------------------------
  var viewer = null;
  var items = [];
  var index = 0;
  var opener = null;

  function build() {
    var dialog = document.createElement("div");
    dialog.className = "viewer";
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.hidden = true;
    dialog.innerHTML =
      '<div class="viewer-frame">' +
      '<button type="button" class="viewer-close" data-act="close">×</button>' +
      '<button type="button" class="viewer-prev" data-act="prev">‹</button>' +
      '<figure><img alt=""><figcaption></figcaption></figure>' +
      '<button type="button" class="viewer-next" data-act="next">›</button>' +
      '<p class="viewer-count"></p>' +
      "</div>";
    var labels = document.documentElement.lang === "zh-Hans" ? ["关闭", "上一张", "下一张"] : ["Close", "Previous", "Next"];
    dialog.querySelector(".viewer-close").setAttribute("aria-label", labels[0]);
    dialog.querySelector(".viewer-prev").setAttribute("aria-label", labels[1]);
    dialog.querySelector(".viewer-next").setAttribute("aria-label", labels[2]);
    dialog.addEventListener("click", function (event) {
      var act = event.target.getAttribute && event.target.getAttribute("data-act");
      if (act === "close" || event.target === dialog) close();
      else if (act === "prev") show(index - 1);
      else if (act === "next") show(index + 1);
    });
    document.body.appendChild(dialog);
    return dialog;
  }

  function show(i) {
    if (!items.length) return;
    index = (i + items.length) % items.length;
    var link = items[index];
    var img = viewer.querySelector("img");
    img.src = link.getAttribute("href");
    var thumb = link.querySelector("img");
    img.alt = thumb ? thumb.alt : "";
    viewer.querySelector("figcaption").textContent = link.getAttribute("data-caption") || "";
    viewer.querySelector(".viewer-count").textContent = items.length > 1 ? index + 1 + " / " + items.length : "";
    viewer.querySelector(".viewer-prev").hidden = items.length < 2;
    viewer.querySelector(".viewer-next").hidden = items.length < 2;
  }

  function open(link) {
    viewer = viewer || build();
    var gallery = link.closest("[data-gallery]");
    items = Array.prototype.slice.call((gallery || document).querySelectorAll("a.gallery-open"));
    opener = link;
    viewer.hidden = false;
    document.body.classList.add("viewer-open");
    show(items.indexOf(link));
    viewer.querySelector(".viewer-close").focus();
  }

  function close() {
    if (!viewer || viewer.hidden) return;
    viewer.hidden = true;
    viewer.querySelector("img").removeAttribute("src");
    document.body.classList.remove("viewer-open");
    if (opener) opener.focus();
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    var link = event.target.closest && event.target.closest("a.gallery-open");
    if (!link) return;
    event.preventDefault();
    open(link);
  });

  document.addEventListener("keydown", function (event) {
    if (!viewer || viewer.hidden) return;
    if (event.key === "Escape") {
      event.preventDefault();
      close();
    } else if (event.key === "ArrowLeft") {
      event.preventDefault();
      show(index - 1);
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      show(index + 1);
    } else if (event.key === "Tab") {
      // keep focus inside the viewer while it is open
      var buttons = Array.prototype.filter.call(viewer.querySelectorAll("button"), function (b) {
        return !b.hidden;
      });
      var at = buttons.indexOf(document.activeElement);
      var next = event.shiftKey ? at - 1 : at + 1;
      event.preventDefault();
      buttons[(next + buttons.length) % buttons.length].focus();
    }
  });

  // --- a rejection needs a comment ------------------------------------------------------------------------------
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.name !== "decision" || !input.form) return;
    var comment = input.form.querySelector("textarea[name=comment]");
    if (comment) comment.required = input.value === "reject" && input.checked;
  });

  loadFragments(document);
})();
