// The queue's live updates: the page listens to the desk's event stream (fed by the query
// service's WatchComplaints with the user's token) and asks htmx to reload the rows on each
// change. No inline script: the Content-Security-Policy allows scripts from /static only.
(function () {
  "use strict";
  var rows = document.getElementById("queue-rows");
  // A queue as of a past moment does not change: it has no event stream.
  if (!rows || !window.EventSource || !rows.getAttribute("data-events")) {
    return;
  }
  var source = new EventSource(rows.getAttribute("data-events"));
  source.addEventListener("change", function () {
    htmx.trigger(rows, "queue-changed");
  });
  source.addEventListener("error", function (event) {
    rows.setAttribute("data-live", "off");
    if (event.data) {
      // The service refused the watch (its status code is the data): do not retry.
      source.close();
    }
  });
  source.addEventListener("open", function () {
    rows.setAttribute("data-live", "on");
    // Whatever changed between the page's list and the watch's start (or while reconnecting).
    htmx.trigger(rows, "queue-changed");
  });
})();
