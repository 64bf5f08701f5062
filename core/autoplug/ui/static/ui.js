// autoplug ui: the only script. It shows a step's details when its graph node is
// clicked, and keeps a running run's page current by polling /runs/RUN_ID/live.
(function () {
  "use strict";
  var selected = null;

  function show(key) {
    selected = key;
    document.querySelectorAll(".step-detail").forEach(function (d) {
      d.hidden = d.id !== "step-" + key;
    });
    document.querySelectorAll("svg.plan .node").forEach(function (n) {
      n.classList.toggle("selected", n.getAttribute("data-step") === key);
    });
  }

  document.addEventListener("click", function (event) {
    var node = event.target.closest ? event.target.closest("svg.plan [data-step]") : null;
    if (!node) { return; }
    event.preventDefault();
    var key = node.getAttribute("data-step");
    show(key);
    history.replaceState(null, "", "#step-" + key);
  });

  function poll(body) {
    var url = body.getAttribute("data-live-url") + "?v=" +
      encodeURIComponent(body.getAttribute("data-version"));
    fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
      if (response.status !== 200) { return null; }
      body.setAttribute("data-version", response.headers.get("X-Run-Version") || "");
      body.setAttribute("data-live", response.headers.get("X-Run-Live") || "0");
      return response.text();
    }).then(function (html) {
      if (html !== null && html !== undefined) {
        body.innerHTML = html;
        if (selected) { show(selected); }
      }
    }).catch(function () { /* the server may be restarting: try again */ }).then(function () {
      if (body.getAttribute("data-live") === "1") { setTimeout(function () { poll(body); }, 1000); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (location.hash.indexOf("#step-") === 0) { show(location.hash.slice(6)); }
    var body = document.getElementById("run-body");
    if (body && body.getAttribute("data-live") === "1") {
      setTimeout(function () { poll(body); }, 1000);
    }
  });
})();
