// Khlang pages: follow a background load until it finishes; the resource page's quick chart and chart views.
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

  // Plotly (3.5 MB) is fetched only when a chart is drawn, keeping the page itself small.
  var withPlotly = function (src, then) {
    if (window.Plotly) { then(); return; }
    var s = document.createElement("script");
    s.src = src;
    s.onload = then;
    document.head.appendChild(s);
  };
  // Sums y (or counts rows) by x over the first 32,000 matching rows of a DataStore table, and draws it.
  var drawChart = function (target, resource, x, y, kind, filters) {
    var fields = y ? [x, y] : [x];
    var params = new URLSearchParams({resource_id: resource, limit: "32000", fields: fields.join(",")});
    if (filters && Object.keys(filters).length) { params.set("q", JSON.stringify(filters)); }
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
        window.Plotly.newPlot(target, [trace], {
          margin: {l: 50, r: 10, t: 30, b: 80}, height: 420, xaxis: {type: "category"},
          font: {family: "Sarabun, Loma, Garuda, sans-serif"}, title: (y || "count") + " / " + x
        }, {responsive: true, displaylogo: false});
        target.setAttribute("data-drawn", String(keys.length));
      });
  };

  // A resource's saved chart views draw themselves.
  Array.prototype.forEach.call(document.querySelectorAll(".chart-view[data-resource]"), function (el) {
    withPlotly(el.getAttribute("data-plotly"), function () {
      drawChart(el, el.getAttribute("data-resource"), el.getAttribute("data-x"), el.getAttribute("data-y"),
                el.getAttribute("data-kind"), null);
    });
  });

  var form = document.getElementById("chart-builder");
  if (!form) { return; }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    withPlotly(form.getAttribute("data-plotly"), function () {
      drawChart(document.getElementById("quick-chart"), form.getAttribute("data-resource"),
                document.getElementById("chart-x").value, document.getElementById("chart-y").value,
                document.getElementById("chart-type").value, JSON.parse(form.getAttribute("data-filters") || "{}"));
    });
  });
}());
