/*
 * Makeready direct uploads: several files at once, straight to storage, a real progress bar per file.
 *
 * For each file: POST /api/v1/projects/<id>/uploads (instructions: url, fields, key), then the browser POSTs the
 * fields and the file as multipart/form-data straight to storage (S3 presigned POST, or the local backend's
 * /uploads/local) with XMLHttpRequest, whose upload progress events drive the <progress> bar, then
 * POST /api/v1/projects/<id>/files completes it: the server verifies the bytes and either adds the file or deletes
 * it and says why, which is shown next to the file's name.
 *
 * Two places use it (templates/portal/_upload.html):
 * - the project page ([data-upload][data-project]): an Upload button sends the chosen files to that project;
 * - the submit form (form[data-submit-form]): when files are chosen, the form's fields are posted first with
 *   Accept: application/json; the server answers 201 with the new project's id (or 422 with a message per field,
 *   having written nothing), then the files are uploaded to the new project.
 * Messages come translated from the page (#upload-messages). No library, no third-party asset.
 */
(function () {
  "use strict";

  var PARALLEL = 3; // files in flight at once; the rest wait their turn
  var messages = {};

  function t(key, params) {
    var text = messages[key] || key;
    return text.replace(/%\((\w+)\)s/g, function (whole, name) {
      return params && Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole;
    });
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]*)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function detailOf(status, text) {
    // problem details (RFC 9457) from our API; anything else (S3's XML, an HTML page) gets a plain message
    try {
      var body = JSON.parse(text);
      if (body && typeof body.detail === "string" && body.detail) {
        return body.detail;
      }
    } catch (ignored) {
      /* not JSON */
    }
    return t("unexpected", { status: status });
  }

  function request(method, url, body, contentType) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("x-csrftoken", csrfToken());
      if (contentType) {
        xhr.setRequestHeader("Content-Type", contentType);
      }
      xhr.addEventListener("load", function () {
        var data = null;
        try {
          data = JSON.parse(xhr.responseText);
        } catch (ignored) {
          data = null;
        }
        resolve({ status: xhr.status, ok: xhr.status >= 200 && xhr.status < 300, data: data, text: xhr.responseText });
      });
      xhr.addEventListener("error", function () {
        reject(new Error(t("network")));
      });
      xhr.send(body);
    });
  }

  function postJSON(url, payload) {
    return request("POST", url, JSON.stringify(payload), "application/json");
  }

  // --- one row per file -----------------------------------------------------------------------------------------

  function Row(list, file) {
    this.li = document.createElement("li");
    this.li.className = "upload-item waiting";
    this.li.setAttribute("data-file-name", file.name);
    var name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    this.bar = document.createElement("progress");
    this.bar.max = 100;
    this.bar.value = 0;
    this.bar.setAttribute("aria-label", file.name);
    this.percent = document.createElement("span");
    this.percent.className = "upload-percent";
    this.percent.textContent = "0%";
    this.status = document.createElement("span");
    this.status.className = "upload-status";
    this.status.textContent = t("waiting");
    this.li.appendChild(name);
    this.li.appendChild(this.bar);
    this.li.appendChild(this.percent);
    this.li.appendChild(this.status);
    list.appendChild(this.li);
  }

  Row.prototype.state = function (state, text) {
    this.li.className = "upload-item " + state;
    this.status.textContent = text;
  };

  Row.prototype.progress = function (percent) {
    var value = Math.max(0, Math.min(100, Math.round(percent)));
    this.bar.value = value;
    this.percent.textContent = value + "%";
  };

  // --- the three steps of one file ------------------------------------------------------------------------------

  function sendToStorage(ticket, file, row) {
    return new Promise(function (resolve, reject) {
      var form = new FormData();
      Object.keys(ticket.fields).forEach(function (name) {
        form.append(name, ticket.fields[name]);
      });
      form.append(ticket.file_field || "file", file, file.name); // the file goes last, as S3 requires
      var xhr = new XMLHttpRequest();
      xhr.open(ticket.method || "POST", ticket.url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (event) {
        if (event.lengthComputable && event.total > 0) {
          row.progress((event.loaded / event.total) * 100);
        }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          row.progress(100);
          resolve(ticket);
        } else if (xhr.getResponseHeader("content-type") && /json/.test(xhr.getResponseHeader("content-type"))) {
          reject(new Error(detailOf(xhr.status, xhr.responseText)));
        } else {
          reject(new Error(t("storage", { status: xhr.status })));
        }
      });
      xhr.addEventListener("error", function () {
        reject(new Error(t("network")));
      });
      xhr.addEventListener("abort", function () {
        reject(new Error(t("network")));
      });
      xhr.send(form);
    });
  }

  function uploadOne(projectId, file, row) {
    var base = "/api/v1/projects/" + encodeURIComponent(projectId);
    row.state("starting", t("starting"));
    return postJSON(base + "/uploads", { filename: file.name, kind: "design", size: file.size })
      .then(function (answer) {
        if (!answer.ok) {
          throw new Error(detailOf(answer.status, answer.text));
        }
        row.state("uploading", t("uploading"));
        return sendToStorage(answer.data, file, row);
      })
      .then(function (ticket) {
        row.state("checking", t("checking"));
        return postJSON(base + "/files", { key: ticket.key, original_name: file.name });
      })
      .then(function (answer) {
        if (!answer.ok) {
          throw new Error(detailOf(answer.status, answer.text));
        }
        row.state("done", t("done"));
        return true;
      })
      .catch(function (error) {
        row.state("failed", t("failed", { reason: error.message }));
        return false;
      });
  }

  function uploadAll(projectId, files, list) {
    list.textContent = "";
    var rows = files.map(function (file) {
      return new Row(list, file);
    });
    var results = new Array(files.length);
    var next = 0;
    function worker() {
      if (next >= files.length) {
        return Promise.resolve();
      }
      var index = next++;
      return uploadOne(projectId, files[index], rows[index]).then(function (ok) {
        results[index] = ok;
        return worker();
      });
    }
    var workers = [];
    for (var i = 0; i < Math.min(PARALLEL, files.length); i++) {
      workers.push(worker());
    }
    return Promise.all(workers).then(function () {
      return results;
    });
  }

  function summarize(box, results, link, linkText) {
    var added = results.filter(Boolean).length;
    box.textContent = "";
    box.className = "upload-summary " + (added === results.length ? "success" : "error");
    box.appendChild(
      document.createTextNode(
        added === results.length ? t("all_done") : t("some_failed", { added: added, total: results.length })
      )
    );
    if (link) {
      box.appendChild(document.createTextNode(" "));
      var a = document.createElement("a");
      a.href = link;
      a.textContent = linkText;
      a.setAttribute("data-upload-continue", "");
      box.appendChild(a);
    }
    box.hidden = false;
  }

  function chosenFiles(widget) {
    var input = widget.querySelector("[data-upload-input]");
    return input && input.files ? Array.prototype.slice.call(input.files) : [];
  }

  // --- the project page -----------------------------------------------------------------------------------------

  function initProjectWidget(widget) {
    var button = widget.querySelector("[data-upload-start]");
    var list = widget.querySelector("[data-upload-list]");
    var summary = widget.querySelector("[data-upload-summary]");
    if (!button) {
      return;
    }
    button.addEventListener("click", function () {
      var files = chosenFiles(widget);
      if (!files.length) {
        summary.className = "upload-summary error";
        summary.textContent = t("choose");
        summary.hidden = false;
        return;
      }
      button.disabled = true;
      summary.hidden = true;
      uploadAll(widget.getAttribute("data-project"), files, list).then(function (results) {
        button.disabled = false;
        widget.querySelector("[data-upload-input]").value = "";
        // a new query string, so following the link loads the page again (a bare #files would only scroll)
        summarize(summary, results, window.location.pathname + "?uploaded=" + Date.now() + "#files", t("reload"));
      });
    });
  }

  // --- the submit form ------------------------------------------------------------------------------------------

  function showFieldErrors(form, errors) {
    form.querySelectorAll("[data-error-for]").forEach(function (slot) {
      var name = slot.getAttribute("data-error-for");
      var field = form.querySelector("[name='" + name + "']");
      if (errors && errors[name]) {
        slot.textContent = errors[name];
        slot.hidden = false;
        if (field) {
          field.setAttribute("aria-invalid", "true");
        }
      } else {
        slot.textContent = "";
        slot.hidden = true;
        if (field) {
          field.removeAttribute("aria-invalid");
        }
      }
    });
  }

  function initSubmitForm(form) {
    var widget = form.querySelector("[data-upload]");
    var summaryTop = document.querySelector("[data-form-summary]");
    var button = form.querySelector("[data-submit-button]");
    var result = form.querySelector("[data-submit-result]");
    form.addEventListener("submit", function (event) {
      var files = chosenFiles(widget);
      if (!files.length) {
        return; // nothing to upload: the plain form post does it all
      }
      event.preventDefault();
      button.disabled = true;
      result.textContent = t("saving");
      result.hidden = false;
      var fields = new URLSearchParams();
      new FormData(form).forEach(function (value, name) {
        if (typeof value === "string") {
          fields.append(name, value);
        }
      });
      request("POST", form.action, fields.toString(), "application/x-www-form-urlencoded")
        .then(function (answer) {
          if (answer.status === 422 && answer.data && answer.data.errors) {
            showFieldErrors(form, answer.data.errors);
            summaryTop.textContent = answer.data.detail || t("fix_fields");
            summaryTop.hidden = false;
            result.hidden = true;
            button.disabled = false;
            var first = form.querySelector("[aria-invalid='true']");
            if (first) {
              first.focus();
            }
            return;
          }
          if (!answer.ok || !answer.data || !answer.data.id) {
            throw new Error(detailOf(answer.status, answer.text));
          }
          showFieldErrors(form, {});
          summaryTop.hidden = true;
          form.querySelector("[data-submit-fields]").disabled = true;
          form.querySelector("[data-upload-input]").disabled = true;
          button.hidden = true;
          result.hidden = true;
          var list = widget.querySelector("[data-upload-list]");
          return uploadAll(answer.data.id, files, list).then(function (results) {
            summarize(widget.querySelector("[data-upload-summary]"), results, answer.data.url, t("open_project"));
          });
        })
        .catch(function (error) {
          summaryTop.textContent = error.message;
          summaryTop.hidden = false;
          result.hidden = true;
          button.disabled = false;
        });
    });
  }

  function init() {
    var source = document.getElementById("upload-messages");
    if (source) {
      try {
        messages = JSON.parse(source.textContent);
      } catch (ignored) {
        messages = {};
      }
    }
    if (!window.XMLHttpRequest || !window.FormData || !window.Promise) {
      return; // an old browser keeps the plain form
    }
    document.querySelectorAll("[data-upload]").forEach(function (widget) {
      widget.hidden = false;
    });
    document.querySelectorAll("[data-upload-nojs]").forEach(function (note) {
      note.hidden = true;
    });
    document.querySelectorAll("[data-upload][data-project]").forEach(initProjectWidget);
    document.querySelectorAll("form[data-submit-form]").forEach(initSubmitForm);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
