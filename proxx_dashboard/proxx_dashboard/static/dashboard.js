// Live updates by polling /live (the server's snapshot, refreshed at most once per second):
// plain fetch, no build step. The fragment replaces the page body only when its version changed.
(function () {
  "use strict";
  var body = document.body;
  var interval = parseInt(body.dataset.interval, 10) || 1000;
  var version = body.dataset.version;
  var live = document.getElementById("live");
  var freshness = document.getElementById("freshness");

  function poll() {
    fetch("live", {cache: "no-store", credentials: "same-origin"}).then(function (response) {
      if (!response.ok) { throw new Error("status " + response.status); }
      var next = response.headers.get("X-Snapshot-Version");
      return response.text().then(function (html) {
        if (next !== version) { live.innerHTML = html; version = next; body.dataset.version = next; }
        freshness.textContent = "live";
        freshness.className = "";
      });
    }).catch(function (err) {
      freshness.textContent = "cannot reach the dashboard (" + err.message + "); retrying";
      freshness.className = "error";
    }).then(function () { setTimeout(poll, interval); });
  }
  setTimeout(poll, interval);
}());
