// The projector display's countdown to the end of the round. It lives in a file of its own
// because the Content-Security-Policy allows no inline script.
(function () {
  var el = document.getElementById("countdown");
  if (!el || !el.dataset.ends) return;
  var ends = Date.parse(el.dataset.ends);
  function tick() {
    var left = Math.max(0, Math.round((ends - Date.now()) / 1000));
    el.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
    el.className = left === 0 ? "over" : "";
  }
  tick();
  setInterval(tick, 1000);
})();
