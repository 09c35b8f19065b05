// A unit's resumable uploads: Uppy's Dashboard and its tus uploader (vendored in vendor/uppy/),
// set up from the data- attributes of #unit-upload (web/templates/_unit_upload.html; no inline
// script, so a strict Content-Security-Policy holds). Each file goes to the desk in pieces; tus
// keeps the upload's address under a fingerprint of the file in localStorage, so a dropped
// connection or a closed tab resumes where the desk stopped receiving when the same file is chosen
// again. Once a file is in, the page asks the desk until it has checked it, then reloads to show
// the findings.
(function () {
  'use strict';

  var root = document.getElementById('unit-upload');
  if (!root || !window.Uppy) {
    return;
  }
  var MB = 1024 * 1024;
  var POLL_MS = 1000;
  var POLL_LIMIT = 600; // ten minutes of asking: a 2 GB file takes a while to store and check
  var nominee = document.getElementById('unit-upload-nominee');
  var line = document.getElementById('unit-upload-status');
  var waiting = 0; // files handed over whose check the page still waits for

  function say(text, isError) {
    line.textContent = text;
    line.className = 'unit-upload-status' + (isError ? ' alert' : '');
  }

  var uppy = new Uppy.Uppy({
    locale: Uppy.locales && Uppy.locales.zh_CN,
    autoProceed: true,
    restrictions: { maxFileSize: Number(root.dataset.maxBytes) },
  });
  uppy.use(Uppy.Dashboard, {
    inline: true,
    target: '#unit-upload-dashboard',
    width: '100%',
    height: 260,
    proudlyDisplayPoweredByUppy: false,
    showProgressDetails: true,
    note: '可一次选择多个文件；先在上方选好文件所属的推荐对象。',
  });
  uppy.use(Uppy.Tus, {
    endpoint: root.dataset.endpoint,
    headers: { 'X-Nomdesk-Csrf': root.dataset.csrf },
    chunkSize: 16 * MB,
    retryDelays: [0, 1000, 3000, 5000, 10000, 20000],
    removeFingerprintOnSuccess: true,
    allowedMetaFields: ['filename', 'filetype', 'nominee'],
  });

  uppy.on('file-added', function (file) {
    uppy.setFileMeta(file.id, {
      filename: file.name,
      filetype: file.type || 'application/octet-stream',
      nominee: nominee ? nominee.value : '',
    });
  });

  uppy.on('upload-error', function (file, error) {
    var detail = '';
    var response = error && error.originalResponse;
    if (response) {
      try {
        detail = JSON.parse(response.getBody()).detail || '';
      } catch (e) {
        detail = '';
      }
    }
    say((file ? file.name + '：' : '') + (detail || '上传中断。网络恢复后重新打开本页，选择同一个文件即可继续上传。'), true);
  });

  uppy.on('upload-success', function (file, response) {
    var id = ((response && response.uploadURL) || '').split('/').pop();
    waiting += 1;
    say(file.name + ' 已上传，系统正在检查……');
    ask(id, file.name, 0);
  });

  function ask(id, name, attempt) {
    if (attempt >= POLL_LIMIT) {
      say(name + ' 已收到，检查仍在进行，请稍后刷新本页查看结果。');
      return;
    }
    fetch(root.dataset.status + '?ids=' + encodeURIComponent(id), { cache: 'no-store' })
      .then(function (r) {
        return r.json();
      })
      .then(function (body) {
        var status = (body.uploads && body.uploads[id]) || { state: 'unknown' };
        if (status.state === 'done') {
          waiting -= 1;
          say(name + ' 已检查完毕，正在刷新页面显示结果……');
          if (waiting <= 0) {
            window.location.reload();
          }
        } else if (status.state === 'quarantined' || status.state === 'refused') {
          waiting -= 1;
          say(name + '：' + (status.message || '未能加入材料，请联系省教育厅办公室。'), true);
        } else {
          window.setTimeout(ask, POLL_MS, id, name, attempt + 1);
        }
      })
      .catch(function () {
        window.setTimeout(ask, POLL_MS * 3, id, name, attempt + 1);
      });
  }
})();
