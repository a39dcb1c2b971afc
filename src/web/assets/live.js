// Keeps the projector display and a person's event page current. A page that reloads itself
// moves the reader's place and focus and is announced as a new page; instead this fetches the
// part that changes from the server ([data-live-src]) and swaps it in only when it differs.
// Without JavaScript both pages still work: they show a Refresh link. It lives in a file of its
// own because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var region = document.querySelector("[data-live-src]");
  if (!region) return;
  var stopped = false;
  var pauseButton = document.querySelector("[data-live-pause]");
  var note = document.querySelector("[data-live-note]");
  var pageOf = document.getElementById("page-of");
  var paused = false;
  var pollTimer = null;
  var turnTimer = null;
  var tickTimer = null;
  var steps = [];
  var step = 0;

  // Read at each use, so that a test can speed the page up without waiting for real time.
  function seconds(name, otherwise) {
    return Number(region.getAttribute(name) || otherwise) * 1000;
  }

  function version(root) {
    var el = root.querySelector("[data-version]");
    return el ? el.getAttribute("data-version") : root.innerHTML.trim();
  }

  function say(text) {
    if (note) note.textContent = text;
  }

  function clock() {
    var now = new Date();
    return now.getHours() + ":" + String(now.getMinutes()).padStart(2, "0");
  }

  // The display's countdown to the end of the round.
  function startCountdown() {
    clearInterval(tickTimer);
    var el = document.getElementById("countdown");
    if (!el || !el.getAttribute("data-ends")) return;
    var ends = Date.parse(el.getAttribute("data-ends"));
    function tick() {
      var left = Math.max(0, Math.round((ends - Date.now()) / 1000));
      el.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      el.className = left === 0 ? "over" : "";
    }
    tick();
    tickTimer = setInterval(tick, 1000);
  }

  // Splits each view of the display into pages that fit the screen: whole rows of the grid,
  // measured as laid out. The names A-Z join the turning only when the tables need more than
  // one screen; at a small event everyone finds their name among the tables at a glance.
  function paginate() {
    clearTimeout(turnTimer);
    steps = [];
    var views = Array.prototype.slice.call(region.querySelectorAll(".view"));
    if (!views.length) {
      if (pageOf) pageOf.textContent = "";
      return;
    }
    document.body.classList.add("paged");
    views.forEach(function (view) {
      views.forEach(function (v) { v.hidden = v !== view; });
      var list = view.querySelector(".cells");
      var items = Array.prototype.slice.call(list.children);
      items.forEach(function (li) { li.hidden = false; });
      var room = view.clientHeight - list.offsetTop + view.offsetTop;
      var pages = [];
      var top = null;
      items.forEach(function (li) {
        if (top === null || li.offsetTop + li.offsetHeight - top > room) {
          pages.push([]);
          top = li.offsetTop;
        }
        pages[pages.length - 1].push(li);
      });
      var title = view.querySelector("h2").textContent;
      pages.forEach(function (page, i) {
        steps.push({ view: view, items: page, label: title + ", page " + (i + 1) + " of " + pages.length, views: views });
      });
    });
    var tablePages = steps.filter(function (s) { return s.view === views[0]; }).length;
    if (tablePages <= 1) {
      steps = steps.filter(function (s) { return s.view === views[0]; });
    }
    step = 0;
    show();
  }

  function show() {
    var current = steps[step];
    if (!current) return;
    current.views.forEach(function (v) { v.hidden = v !== current.view; });
    Array.prototype.forEach.call(current.view.querySelector(".cells").children, function (li) {
      li.hidden = current.items.indexOf(li) < 0;
    });
    if (pageOf) pageOf.textContent = steps.length > 1 ? current.label : "";
    clearTimeout(turnTimer);
    if (!paused && steps.length > 1) {
      turnTimer = setTimeout(function () {
        step = (step + 1) % steps.length;
        show();
      }, seconds("data-page-seconds", "12"));
    }
  }

  function poll() {
    clearTimeout(pollTimer);
    var every = seconds("data-live-every", "0");
    if (!paused && !stopped && every > 0) pollTimer = setTimeout(update, every);
  }

  function update() {
    fetch(region.getAttribute("data-live-src"), { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        // Signed out (sent to the sign-in page) or a link that no longer works: stop asking.
        if (response.redirected || response.status === 404 || response.status === 410) {
          stopped = true;
          throw new Error("refresh the page");
        }
        if (!response.ok) throw new Error("status " + response.status);
        return response.text();
      })
      .then(function (html) {
        var fresh = document.createElement("div");
        fresh.innerHTML = html;
        if (version(fresh) !== version(region)) {
          region.innerHTML = html;
          startCountdown();
          paginate();
          say("Updated at " + clock() + ".");
        }
        poll();
      })
      .catch(function () {
        say(!stopped ? "Could not update just now; trying again." : "This page no longer updates itself: refresh it.");
        poll();
      });
  }

  if (pauseButton) {
    pauseButton.hidden = false;
    pauseButton.addEventListener("click", function () {
      paused = !paused;
      pauseButton.textContent = pauseButton.getAttribute(paused ? "data-resume-label" : "data-pause-label");
      if (paused) {
        clearTimeout(pollTimer);
        clearTimeout(turnTimer);
        say("Paused.");
      } else {
        say("");
        show();
        update();
      }
    });
  }
  var resizeTimer = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(paginate, 300);
  });
  startCountdown();
  paginate();
  poll();
})();
