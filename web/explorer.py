"""Spending explorer pages: every view is cube API calls rendered as Plotly charts and tables, with a
permalink (its query string), CSV/JSON links to exactly the shown data and the source datasets."""
import functools
from pathlib import Path
from urllib.parse import urlencode

import plotly
import plotly.graph_objects as go
from flask import Blueprint, abort, render_template, request, send_file
from flask_babel import lazy_gettext as _l

from spending import access, flags, redflags, reference
from spending.cubes import CubeError

from . import get_context
from .i18n import get_locale

bp = Blueprint("explorer", __name__)
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
}

DRILL = ["ministry", "agency", "plan", "project"]


def _lang():
    return get_locale()


def _year_label(be, lang):
    return str(be - 543) if lang == "en" else str(be)


class View:
    """What one page shows: charts, tables (each with its API query) and the sources behind them."""

    def __init__(self, title):
        self.title, self.charts, self.tables, self.notes = title, [], [], []
        self.ctx = get_context(allow_auth=False)
        self.lang = _lang()
        self.t = {k: str(v) for k, v in LABELS.items()}

    def ask(self, cube, what="aggregate", **params):
        params = {k: v for k, v in params.items() if v not in (None, "")}
        return access.run(self.ctx.settings, self.ctx.db, what, cube, params), params

    def table(self, title, header, rows, cube, params, what="aggregate"):
        query = urlencode(params)
        self.tables.append({"title": title, "header": header, "rows": rows,
                            "csv": f"/api/3/cubes/{cube}/{what}.csv?{query}",
                            "json": f"/api/3/cubes/{cube}/{what}?{query}"})

    def chart(self, fig):
        fig.update_layout(margin=dict(l=10, r=10, t=40, b=10), height=420, font=dict(family="Sarabun, Loma, sans-serif"))
        self.charts.append(fig.to_json())

    def render(self, **extra):
        _, manifest, visible = access.live(self.ctx.settings, self.ctx.db)
        sources = [s for s in manifest["sources"] if s["source_id"] in visible]
        return render_template("explorer.html", v=self, sources=sources, site=self.ctx.settings,
                               permalink=request.full_path.rstrip("?"), **extra)


def _page(fn):
    @functools.wraps(fn)
    def wrapped(*a, **kw):
        try:
            return fn(*a, **kw)
        except access.NoData:
            return render_template("explorer.html", v=None, site=get_context().settings, empty=True), 200
        except CubeError as exc:
            return render_template("explorer.html", v=None, site=get_context().settings, error=exc.message), 400
    return wrapped


def _m(x):
    return round((x or 0) / MILLION, 2)


@bp.route("/spending")
@_page
def overview():
    v = View(None)
    v.title = v.t["overview"]
    years, p = v.ask("budget", drilldown="fiscal_year", order="fiscal_year:asc")
    disb, _ = v.ask("disbursement", drilldown="fiscal_year", order="fiscal_year:asc")
    spent = {c["fiscal_year"]: c["amount.sum"] for c in disb["cells"]}
    rows, prev = [], None
    for c in years["cells"]:
        change = f"{(c['amount.sum'] - prev) / prev:+.1%}" if prev else "–"
        rows.append([_year_label(c["fiscal_year"], v.lang), f"{_m(c['amount.sum']):,.2f}",
                     f"{_m(spent.get(c['fiscal_year'])):,.2f}", change])
        prev = c["amount.sum"]
    fig = go.Figure([go.Bar(name=v.t["budget"], x=[r[0] for r in rows], y=[_m(c["amount.sum"]) for c in years["cells"]]),
                     go.Bar(name=v.t["disbursed"], x=[r[0] for r in rows],
                            y=[_m(spent.get(c["fiscal_year"])) for c in years["cells"]])])
    fig.update_layout(title=f"{v.t['budget']} / {v.t['disbursed']} ({v.t['amount']})", barmode="group")
    v.chart(fig)
    v.table(v.t["year"], [v.t["year"], f"{v.t['budget']} ({v.t['amount']})", f"{v.t['disbursed']} ({v.t['amount']})",
                          v.t["change"]], rows, "budget", p)
    year = request.args.get("year", type=int) or (years["cells"][-1]["fiscal_year"] if years["cells"] else None)
    if year:
        bm, pb = v.ask("budget", drilldown="ministry", cut=f"fiscal_year:{year}", pagesize=15)
        dm, _ = v.ask("disbursement", drilldown="ministry", cut=f"fiscal_year:{year}")
        dmap = {c["ministry"]: c["amount.sum"] for c in dm["cells"]}
        names = [c["ministry.name_en" if v.lang == "en" else "ministry"] for c in bm["cells"]]
        fig = go.Figure([go.Bar(name=v.t["budget"], y=names, x=[_m(c["amount.sum"]) for c in bm["cells"]], orientation="h"),
                         go.Bar(name=v.t["disbursed"], y=names, x=[_m(dmap.get(c["ministry"])) for c in bm["cells"]],
                                orientation="h")])
        fig.update_layout(title=f"{v.t['ministry']} {_year_label(year, v.lang)}", barmode="group",
                          yaxis=dict(autorange="reversed"))
        v.chart(fig)
        months, pm = v.ask("disbursement", drilldown="month", cut=f"fiscal_year:{year}|source.granularity:month",
                           order="month:asc")
        if months["cells"]:
            order = sorted(months["cells"], key=lambda c: (c["month"] + 2) % 12)
            fig = go.Figure([go.Bar(x=[str(c["month"]) for c in order], y=[_m(c["amount.sum"]) for c in order])])
            fig.update_layout(title=f"{v.t['disbursed']} / {v.t['month']} ({v.t['amount']})", xaxis=dict(type="category"))
            v.chart(fig)
    return v.render(year=year)


@bp.route("/spending/budget")
@_page
def budget():
    v = View(None)
    v.title = v.t["drill"]
    cuts, level = [], 0
    year = request.args.get("year", type=int)
    if year:
        cuts.append(f"fiscal_year:{year}")
    path = []
    for dim in DRILL:
        value = request.args.get(dim)
        if not value:
            break
        cuts.append(f"{dim}:{value}")
        path.append((dim, value))
        level += 1
    dim = DRILL[min(level, len(DRILL) - 1)]
    res, params = v.ask("budget", drilldown=dim, cut="|".join(cuts), pagesize=200)
    cells = res["cells"]
    fig = go.Figure(go.Treemap(labels=[c[dim] for c in cells], parents=[""] * len(cells),
                               values=[c["amount.sum"] for c in cells], textinfo="label+percent root"))
    fig.update_layout(title=" › ".join([v.t["budget"]] + [val for _, val in path]))
    v.chart(fig)
    base = {k: val for k, val in request.args.items() if k in ("year", "lang")}
    links = []
    for c in cells:
        q = {**base, **{d: val for d, val in path}}
        if level < len(DRILL) - 1:
            q[dim] = c[dim]
        links.append(f"/spending/budget?{urlencode(q)}")
    rows = [[{"text": c[dim], "href": link}, f"{_m(c['amount.sum']):,.2f}", c["_count"]] for c, link in zip(cells, links)]
    v.table(v.t[dim], [v.t[dim], v.t["amount"], v.t["count"]], rows, "budget", params)
    return v.render(crumbs=path)


SORTS = {"value_desc": "price_agreed:desc", "value_asc": "price_agreed:asc", "date_desc": "contract_date:desc"}


@bp.route("/spending/procurement")
@_page
def procurement():
    v = View(None)
    v.title = v.t["procurement"]
    args = request.args
    cut = [f"{d}:{args[d]}" for d in ("fiscal_year", "agency", "province", "method_group", "contractor", "flag")
           if args.get(d)]
    page = args.get("page", 1, type=int)
    res, params = v.ask("procurement", "facts", q=args.get("q"), cut="|".join(cut), amount_min=args.get("amount_min"),
                        amount_max=args.get("amount_max"), order=SORTS.get(args.get("sort"), "price_agreed:desc"),
                        page=page, pagesize=50,
                        fields="project_id|project_name|agency|contractor|province|method|fiscal_year|price_agreed|flags")
    rows = [[{"text": r["project_id"], "href": f"/spending/project/{r['project_id']}"}, r["project_name"], r["agency"],
             r["contractor"], r["province"], r["method"], r["fiscal_year"], f"{r['price_agreed'] or 0:,.2f}",
             ", ".join(flags.contract_reasons(_bits(r["flags"]), v.lang))] for r in res["data"]]
    v.table(f"{res['total_fact_count']:,} {v.t['contracts']}", ["e-GP", v.t["project"], v.t["agency"], v.t["contractor"],
            v.t["province"], v.t["method"], v.t["year"], v.t["value"], v.t["flags"]], rows, "procurement", params, "facts")
    return v.render(search=True, total=res["total_fact_count"], page=page, flag_ids=list(flags.CONTRACT_FLAGS))


def _bits(names):
    return sum(flags.CONTRACT_FLAGS[n] for n in names or [])


@bp.route("/spending/project/<project_id>")
@_page
def project(project_id):
    v = View(f"e-GP {project_id}")
    res, params = v.ask("procurement", "facts", project_id=project_id, pagesize=200)
    if not res["data"]:
        abort(404)
    first = res["data"][0]
    v.notes.append(first["project_name"])
    rows = [[r["contract_no"], {"text": r["contractor"], "href": f"/spending/contractor/{r['contractor_id']}"},
             r["contractor_tin"], f"{r['budget'] or 0:,.2f}", f"{r['reference_price'] or 0:,.2f}",
             f"{r['price_agreed'] or 0:,.2f}", r["contract_date"],
             "; ".join(flags.contract_reasons(_bits(r["flags"]), v.lang))] for r in res["data"]]
    v.table(v.t["contracts"], ["#", v.t["contractor"], "TIN", v.t["budget"], "ราคากลาง / reference", v.t["value"],
                               "date", v.t["flags"]], rows, "procurement", params, "facts")
    return v.render(agency_link=(first["agency"], f"/spending/agency/{first['agency_id']}"))


def _entity(kind, entity_id):
    v = View(None)
    cut = f"{kind}.id:{entity_id}"
    by_year, p1 = v.ask("procurement", drilldown="fiscal_year", cut=cut, order="fiscal_year:asc")
    if not by_year["cells"]:
        abort(404)
    other = "contractor" if kind == "agency" else "agency"
    top, p2 = v.ask("procurement", drilldown=other, cut=cut, pagesize=15)
    methods, p3 = v.ask("procurement", drilldown="method_group", cut=cut)
    fig = go.Figure(go.Bar(x=[_year_label(c["fiscal_year"], v.lang) for c in by_year["cells"]],
                           y=[_m(c["amount.sum"]) for c in by_year["cells"]]))
    fig.update_layout(title=f"{v.t['contracts']} ({v.t['amount']})", xaxis=dict(type="category"))
    v.chart(fig)
    v.chart(go.Figure(go.Pie(labels=[c["method_group"] for c in methods["cells"]],
                             values=[c["amount.sum"] for c in methods["cells"]], hole=0.4)).update_layout(title=v.t["method"]))
    v.table(v.t["year"], [v.t["year"], v.t["value"], v.t["count"], v.t["flags"]],
            [[_year_label(c["fiscal_year"], v.lang), f"{c['amount.sum']:,.2f}", c["_count"], c["flagged.sum"]]
             for c in by_year["cells"]], "procurement", p1)
    v.table(v.t[other], [v.t[other], v.t["value"], v.t["count"]],
            [[{"text": c[other], "href": f"/spending/{other}/{c[other + '.id']}"}, f"{c['amount.sum']:,.2f}", c["_count"]]
             for c in top["cells"]], "procurement", p2)
    name = access.run(v.ctx.settings, v.ctx.db, "members", "procurement", {"cut": cut}, kind)["data"]
    v.title = name[0][f"{kind}.name"] if name else f"{kind} {entity_id}"
    if kind == "contractor" and name:
        v.notes.append(f"TIN {name[0]['contractor.tin'] or '–'} ({name[0]['contractor.kind']})")
    v.notes.extend(redflags.describe(v.ctx.settings, v.ctx.db, kind, entity_id, v.lang))
    return v.render(search_link=f"/spending/procurement?{urlencode({kind: v.title})}")


@bp.route("/spending/agency/<int:agency_id>")
@_page
def agency(agency_id):
    return _entity("agency", agency_id)


@bp.route("/spending/contractor/<int:contractor_id>")
@_page
def contractor(contractor_id):
    return _entity("contractor", contractor_id)


@bp.route("/spending/map")
@_page
def province_map():
    v = View(None)
    v.title = v.t["map"]
    year = request.args.get("year", type=int)
    res, params = v.ask("budget", drilldown="province", cut=f"fiscal_year:{year}" if year else None)
    by_id = {c["province.id"]: c for c in res["cells"]}
    tiles = reference.tile_layout()
    names = {int(p["code"]): p["name_en" if v.lang == "en" else "name_th"] for p in reference.provinces_doc()["provinces"]}
    xs, ys, vals, text = [], [], [], []
    for pid, (col, row) in tiles.items():
        xs.append(col)
        ys.append(-row)
        amount = by_id.get(pid, {}).get("amount.sum", 0)
        vals.append(_m(amount))
        text.append(f"{names[pid]}<br>{_m(amount):,.1f} {v.t['amount']}")
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="markers+text", text=[t.split("<br>")[0][:6] for t in text],
                               hovertext=text, hoverinfo="text", textfont=dict(size=9),
                               marker=dict(symbol="square", size=34, color=vals, colorscale="YlOrRd", showscale=True)))
    fig.update_layout(title=v.t["map"], xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x"), height=900)
    v.chart(fig)
    rows = [[c["province"], c["province.region"], f"{_m(c['amount.sum']):,.2f}"] for c in res["cells"]]
    v.table(v.t["province"], [v.t["province"], "ภาค / region", v.t["amount"]], rows, "budget", params)
    return v.render()


@bp.route("/spending/methodology")
def methodology():
    lang = _lang()
    return render_template("methodology.html", rules=flags.RULES, lang=lang, site=get_context().settings)


@bp.route("/static/vendor/plotly.min.js")
def plotly_js():
    return send_file(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", mimetype="text/javascript",
                     max_age=86400)
