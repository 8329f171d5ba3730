// Draw every Plotly figure the server put in a data-figure attribute (no inline script, no CDN).
document.querySelectorAll("div.chart[data-figure]").forEach(function (el) {
  var fig = JSON.parse(el.getAttribute("data-figure"));
  Plotly.newPlot(el, fig.data, fig.layout, {responsive: true, displaylogo: false});
});
