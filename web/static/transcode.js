// The compliant copy of a failing video (templates/_transcode.html, web/transcode_routes.py):
// asks whether a copy is offered, starts it, shows its progress, then a preview to accept or keep.
// Included once per video; the first copy of this script does the work for every block.
(function () {
  "use strict";
  if (window.nomdeskTranscode) return;
  window.nomdeskTranscode = true;
  var POLL_MS = 1000;

  function post(url, csrf) {
    var body = new FormData();
    body.append("csrf", csrf);
    return fetch(url, { method: "POST", body: body, credentials: "same-origin" }).then(answer);
  }

  function get(url) {
    return fetch(url, { credentials: "same-origin" }).then(answer);
  }

  function answer(response) {
    return response.json().catch(function () { return {}; }).then(function (data) {
      if (!response.ok) throw new Error(data.error || "操作未完成，请刷新页面后重试");
      return data;
    });
  }

  function setUp(box) {
    var part = function (name) { return box.querySelector(".transcode-" + name); };
    var csrf = box.dataset.csrf;
    var timer = null;
    var shownPreview = null;

    function say(text) { part("message").textContent = text || ""; }

    function show(job) {
      box.hidden = false;
      var state = job ? job.state : "";
      var working = state === "queued" || state === "running";
      part("offer").hidden = !(state === "" || state === "failed" || state === "kept");
      part("start").textContent = state === "failed" ? "重新生成" : "生成符合要求的视频";
      part("progress").hidden = !working;
      part("preview").hidden = state !== "done";
      if (working) {
        var bar = part("progress").querySelector("progress");
        bar.value = job.progress;
        part("percent").textContent = Math.round(job.progress * 100) + "%";
        part("state").textContent = job.state_zh;
        clearTimeout(timer);
        timer = setTimeout(function () { poll(job.status); }, POLL_MS);
      }
      if (state === "done" && job.preview && shownPreview !== job.preview) {
        shownPreview = job.preview;
        part("preview").querySelector("video").src = job.preview;
        part("accept").dataset.url = job.accept;
        part("keep").dataset.url = job.keep;
      }
      if (state === "failed") say(job.state_zh + "：" + (job.error || ""));
      else if (state === "done") say("转换完成" + (job.size ? "（约 " + Math.max(1, Math.round(job.size / 1048576)) + " MB）" : "") + "，请预览后选择。");
      else if (state === "accepted" || state === "kept") say(job.state_zh);
      else say("");
    }

    function poll(url) {
      get(url).then(function (data) { show(data.job); }).catch(function (error) { say(error.message); });
    }

    part("start").addEventListener("click", function () {
      say("正在提交……");
      post(box.dataset.convert, csrf).then(function (data) { show(data.job); })
        .catch(function (error) { say(error.message); });
    });
    part("accept").addEventListener("click", function (event) {
      event.target.disabled = true;
      say("正在替换并重新检查材料……");
      post(event.target.dataset.url, csrf).then(function (data) {
        show(data.job);
        say(data.checked ? "已替换，材料已重新检查。" : "已替换，系统正在检查材料，请稍后刷新本页。");
        setTimeout(function () { window.location.reload(); }, 1500);
      }).catch(function (error) { event.target.disabled = false; say(error.message); });
    });
    part("keep").addEventListener("click", function (event) {
      post(event.target.dataset.url, csrf).then(function (data) { show(data.job); })
        .catch(function (error) { say(error.message); });
    });

    get(box.dataset.status).then(function (data) {
      if (data.job) show(data.job);
      else if (data.offer) show(null);
    }).catch(function () { /* no offer to show */ });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".transcode"), setUp);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
