"""What every spending explorer page is made of: the labels, the lean chart theme, and the View that asks
the cube API, keeps each table's query and sources, and renders; `page` turns cube errors into pages."""
import functools
from urllib.parse import urlencode

from flask import render_template, request
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from spending import access, query
from spending.cubes import CubeError

from .context import get_context
from .i18n import format_year, get_locale

MILLION = 1_000_000
LABELS = {   # msgids in English; Thai in web/translations (lazy: translated per request)
    "overview": _l("Where do taxes go? Budget overview"),
    "budget": _l("Budget"),
    "disbursed": _l("Disbursed"),
    "year": _l("Fiscal year"),
    "change": _l("Change vs previous year"),
    "amount": _l("million baht"),
    "ministry": _l("Ministry"),
    "agency": _l("Agency"),
    "plan": _l("Plan"),
    "project": _l("Output/project"),
    "month": _l("Month"),
    "procurement": _l("Procurement search"),
    "contracts": _l("Contracts"),
    "contractor": _l("Contractor"),
    "province": _l("Province"),
    "method": _l("Method"),
    "flags": _l("Red flags"),
    "map": _l("Budget by province"),
    "methodology": _l("Methodology: red flags"),
    "sources": _l("Source datasets"),
    "drill": _l("Budget drill-down"),
    "search": _l("Search"),
    "value": _l("Value (baht)"),
    "count": _l("Count"),
    "all_years": _l("all years"),
    "no_data": _l("no data"),
    "region": _l("Region"),
    "official": _l("official total"),
    "not_itemised": _l("not itemised in the source"),
    "tax_items": _l("Your tax by ministry"),
    "baht": _l("baht"),
    "share": _l("Share"),
}
SORT_LABELS = {"value_desc": _l("Value, highest first"), "value_asc": _l("Value, lowest first"),
               "date_desc": _l("Contract date, newest first")}
# Parameters each page reads besides the language; anything else gets a notice, never silence.
COMMON = {"lang"}


@functools.cache
def theme():
    """A lean chart theme: Plotly's default template adds ~10 KB to every figure."""
    import plotly.graph_objects as go   # plotly loads with the first chart drawn, not as the server starts
    return go.layout.Template(layout=dict(
        font=dict(family="Sarabun, Loma, sans-serif"), paper_bgcolor="white", plot_bgcolor="white",
        colorway=["#1f5f8b", "#e07b39", "#3a8f5c", "#b8404a", "#7a5ea8", "#8c6d31", "#c2649a", "#6b6b6b"],
        xaxis=dict(gridcolor="#e5e5e5", zerolinecolor="#cccccc", automargin=True),
        yaxis=dict(gridcolor="#e5e5e5", zerolinecolor="#cccccc", automargin=True),
        separators=".,", hoverlabel=dict(font=dict(family="Sarabun, Loma, sans-serif"))))


class View:
    """What one page shows: charts, tables (each with its API query) and the sources behind them."""

    def __init__(self, title, params=(), cube="budget", year_control=True):
        self.title, self.charts, self.tables, self.notes, self.notices = title, [], [], [], []
        self.ctx = get_context(allow_auth=False)
        self.lang = get_locale()
        self.t = {k: str(v) for k, v in LABELS.items()}
        _folder, self.manifest, self.visible = access.live(self.ctx.settings, self.ctx.db)
        self.used_sources = set()
        allowed = COMMON | set(params) | ({"year", "fiscal_year"} if year_control else set())
        unknown = sorted(k for k in request.args if k not in allowed)
        if unknown:
            self.notices.append(gettext("This page does not read %(names)s; it reads: %(allowed)s.",
                                  names=", ".join(unknown), allowed=", ".join(sorted(allowed))))
        self.cube = cube
        self.years = (self.manifest.get("cube_years") or {}).get(cube) or self.manifest.get("fiscal_years") or []
        self.year_control = year_control and bool(self.years)
        self.year = self._year() if self.year_control else None

    def _year(self):
        """The fiscal year (BE) asked for with ?year= (BE or CE), else the latest with data."""
        raw = (request.args.get("year") or request.args.get("fiscal_year") or "").strip()
        latest = query.default_year(self.manifest, self.cube) or max(self.years)
        if not raw:
            return latest
        try:
            year = int(raw)
        except ValueError:
            self.notices.append(gettext("\"%(raw)s\" is not a fiscal year; showing %(year)s.", raw=raw,
                                  year=format_year(latest, self.lang)))
            return latest
        year = year + 543 if year < 2400 else year
        if year not in self.years:
            self.notices.append(gettext("No data for fiscal year %(asked)s; showing %(year)s.",
                                  asked=format_year(year, self.lang), year=format_year(latest, self.lang)))
            return latest
        return year

    def year_label(self, year=None):
        return format_year(year or self.year, self.lang)

    def ask(self, cube, what="aggregate", **params):
        params = {k: v for k, v in params.items() if v not in (None, "")}
        return access.run(self.ctx.settings, self.ctx.db, what, cube, params), params

    def table(self, title, header, rows, cube, params, what="aggregate"):
        query = urlencode(params)
        self.tables.append({"title": title, "header": header, "rows": rows,
                            "csv": f"/api/3/cubes/{cube}/{what}.csv?{query}",
                            "json": f"/api/3/cubes/{cube}/{what}?{query}",
                            "sources": self.provenance(cube, params)})

    def provenance(self, cube, params):
        """The source datasets (with their live version) behind a table: the same cuts, by source."""
        keep = {k: v for k, v in params.items() if k in ("cut", "fiscal_year", "q", "amount_min", "amount_max",
                                                         "project_id")}
        if "fiscal_year" not in keep and "drilldown" in params and "fiscal_year" in params["drilldown"]:
            keep["fiscal_year"] = "all"
        try:
            res, _ = self.ask(cube, drilldown="source", aggregates="_count", **keep)
        except CubeError:
            return []
        by_id = {s["source_id"]: s for s in self.manifest["sources"]}
        out = []
        for c in res["cells"]:
            s = by_id.get(c["source.id"])
            if s:
                self.used_sources.add(s["source_id"])
                out.append(s)
        return out

    def chart(self, fig):
        """Add a chart: bars of amounts (million baht on every explorer chart that sets no unit of its own) say
        their unit on the value axis and in the tooltip, with thousands separators."""
        unit = str(self.t["amount"])
        for trace in fig.data:
            if trace.type != "bar" or trace.hovertemplate is not None:
                continue
            value, label = ("x", "y") if trace.orientation == "h" else ("y", "x")
            trace.hovertemplate = f"%{{{label}}}: %{{{value}:,.2f}} {unit}<extra>{trace.name or ''}</extra>"
            axis = fig.layout.xaxis if value == "x" else fig.layout.yaxis
            if axis.title.text is None:
                axis.title.text = unit
                axis.tickformat = axis.tickformat or ",.0f"
        fig.update_layout(template=theme(), margin=dict(l=10, r=10, t=40, b=10), height=420)
        self.charts.append(fig.to_json())

    def coverage(self, years):
        """Coverage notes of the visible source datasets for these fiscal years."""
        lang = "en" if self.lang == "en" else "th"
        notes = []
        for s in self.manifest["sources"]:
            if s["source_id"] not in self.visible:
                continue
            for n in s.get("coverage") or []:
                if set(n.get("fiscal_years") or []) & set(years) and n.get(lang) and n[lang] not in notes:
                    notes.append(n[lang])
        return notes

    def render(self, **extra):
        sources = [s for s in self.manifest["sources"] if s["source_id"] in self.visible]
        return render_template("explorer.html", v=self, sources=sources,
                               permalink=request.full_path.rstrip("?"), **extra)


def explorer_page(fn):
    @functools.wraps(fn)
    def wrapped(*a, **kw):
        try:
            return fn(*a, **kw)
        except access.NoData:
            return render_template("explorer.html", v=None, empty=True), 200
        except CubeError as exc:
            return render_template("explorer.html", v=None, error=exc.message), 400
    return wrapped


def millions(x):
    return round((x or 0) / MILLION, 2)
