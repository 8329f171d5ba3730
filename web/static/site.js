// Khlang pages: follow a background load until it finishes, and the resource page's quick chart.
(function () {
  "use strict";
  var status = document.querySelector("#load-status[data-resource]");
  if (status) {
    var rid = status.getAttribute("data-resource");
    var poll = function () {
      fetch("/api/3/action/xloader_status?resource_id=" + encodeURIComponent(rid), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (body) {
          var s = body.result && body.result.status;
          if (s && s !== "pending" && s !== "running") { window.location.reload(); } else { setTimeout(poll, 1000); }
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 800);
  }

  var form = document.getElementById("chart-builder");
  if (!form) { return; }
  // Plotly (3.5 MB) is fetched only when someone draws a chart, keeping the page itself small.
  var withPlotly = function (then) {
    if (window.Plotly) { then(); return; }
    var s = document.createElement("script");
    s.src = form.getAttribute("data-plotly");
    s.onload = then;
    document.head.appendChild(s);
  };
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    withPlotly(draw);
  });
  var draw = function () {
    var x = document.getElementById("chart-x").value, y = document.getElementById("chart-y").value;
    var kind = document.getElementById("chart-type").value;
    var fields = y ? [x, y] : [x];
    var params = new URLSearchParams({resource_id: form.getAttribute("data-resource"), limit: "32000",
                                      fields: fields.join(",")});
    var filters = JSON.parse(form.getAttribute("data-filters") || "{}");
    if (Object.keys(filters).length) { params.set("q", JSON.stringify(filters)); }
    fetch("/api/3/action/datastore_search?" + params.toString(), {credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (body) {
        var sums = new Map();
        (body.result ? body.result.records : []).forEach(function (rec) {
          var key = rec[x] === null || rec[x] === undefined ? "" : String(rec[x]);
          var v = y ? Number(rec[y]) || 0 : 1;
          sums.set(key, (sums.get(key) || 0) + v);
        });
        var keys = Array.from(sums.keys()).slice(0, 200), vals = keys.map(function (k) { return sums.get(k); });
        var trace = kind === "pie" ? {type: "pie", labels: keys, values: vals}
          : {type: kind === "line" ? "scatter" : "bar", mode: "lines+markers", x: keys, y: vals};
        window.Plotly.newPlot("quick-chart", [trace], {
          margin: {l: 50, r: 10, t: 30, b: 80}, height: 420, xaxis: {type: "category"},
          font: {family: "Sarabun, Loma, Garuda, sans-serif"}, title: (y || "count") + " / " + x
        }, {responsive: true, displaylogo: false});
        form.setAttribute("data-drawn", String(keys.length));
      });
  };
}());
