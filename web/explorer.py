"""Spending explorer pages: every view is cube API calls rendered as Plotly charts and tables, with a
permalink (its query string), CSV/JSON links to exactly the shown data and the source datasets."""
import functools
import importlib.util
from pathlib import Path
from urllib.parse import urlencode

from flask import Blueprint, abort, render_template, request, send_file
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from spending import access, flags, redflags, reference, tax
from spending.reconcile import NOT_ITEMISED

from .i18n import format_year, get_locale
from .spendingview import SORT_LABELS, View, explorer_page, millions

bp = Blueprint("explorer", __name__)
DRILL = ["ministry", "agency", "plan", "project"]


def _totals(v, phase):
    """{BE year: (amount, official?, source)} of the build's reconciled totals for one phase."""
    by_id = {x["source_id"]: x for x in v.manifest["sources"]}
    out = {}
    for year, t in (v.manifest.get("totals") or {}).get(phase, {}).items():
        src = by_id.get(t["source_id"]) if t["source_id"] in v.visible else None
        out[int(year)] = (float(t["amount"]), t["official"] and src is not None, src)
    return out


@bp.route("/spending")
@explorer_page
def overview():
    import plotly.graph_objects as go   # plotly loads with the first chart drawn, not as the server starts
    v = View(None)
    v.title = v.t["overview"]
    years, p = v.ask("budget", drilldown="fiscal_year", order="fiscal_year:asc")
    disb, _ = v.ask("disbursement", drilldown="fiscal_year", order="fiscal_year:asc")
    spent = {c["fiscal_year"]: c["amount.sum"] for c in disb["cells"]}
    budget = {c["fiscal_year"]: c["amount.sum"] for c in years["cells"]}
    official = _totals(v, "appropriated")
    rows = []
    for y in sorted(budget):
        # Change only against the year before when it has data: a gap is not a year.
        change = f"{(budget[y] - budget[y - 1]) / budget[y - 1]:+.1%}" if budget.get(y - 1) else "–"
        rows.append([{"text": format_year(y, v.lang), "href": f"/spending?year={y}"}, f"{millions(budget[y]):,.2f}",
                     f"{millions(spent[y]):,.2f}" if y in spent else v.t["no_data"], change,
                     v.t["official"] if official.get(y, (0, False))[1] else ""])
    shown = sorted(budget)
    fig = go.Figure([go.Bar(name=v.t["budget"], x=[format_year(y, v.lang) for y in shown], y=[millions(budget[y]) for y in shown]),
                     go.Bar(name=v.t["disbursed"], x=[format_year(y, v.lang) for y in shown],
                            y=[millions(spent.get(y)) if y in spent else None for y in shown])])
    fig.update_layout(title=f"{v.t['budget']} / {v.t['disbursed']} ({v.t['amount']}), {v.t['all_years']}",
                      barmode="group", xaxis=dict(type="category"))
    v.chart(fig)
    v.table(f"{v.t['year']} ({v.t['all_years']})", [v.t["year"], f"{v.t['budget']} ({v.t['amount']})",
            f"{v.t['disbursed']} ({v.t['amount']})", v.t["change"], ""], rows, "budget", p)
    year = v.year
    ministries, budget_paging = v.ask("budget", drilldown="ministry", cut=f"fiscal_year:{year}", pagesize=15)
    disbursed_rows, _ = (v.ask("disbursement", drilldown="ministry", cut=f"fiscal_year:{year}") if year in spent
                         else ({"cells": []}, {}))
    disbursed = {c["ministry"]: c["amount.sum"] for c in disbursed_rows["cells"]}
    names = [c["ministry.name_en" if v.lang == "en" else "ministry"] for c in ministries["cells"]]
    bars = [go.Bar(name=v.t["budget"], y=names, x=[millions(c["amount.sum"]) for c in ministries["cells"]],
                   orientation="h")]
    if disbursed:
        bars.append(go.Bar(name=v.t["disbursed"], y=names, orientation="h",
                           x=[millions(disbursed.get(c["ministry"])) for c in ministries["cells"]]))
    fig = go.Figure(bars)
    fig.update_layout(title=f"{v.t['ministry']} {v.year_label()} ({v.t['amount']})", barmode="group",
                      yaxis=dict(autorange="reversed"))
    v.chart(fig)
    v.table(f"{v.t['ministry']} {v.year_label()}", [v.t["ministry"], f"{v.t['budget']} ({v.t['amount']})",
                                                   f"{v.t['disbursed']} ({v.t['amount']})"],
            [[{"text": n, "href": f"/spending/budget?{urlencode({'year': year, 'ministry': c['ministry']})}"},
              f"{millions(c['amount.sum']):,.2f}", f"{millions(disbursed[c['ministry']]):,.2f}" if c["ministry"] in disbursed else "–"]
             for n, c in zip(names, ministries["cells"])], "budget", budget_paging)
    months, _ = v.ask("disbursement", drilldown="month", cut=f"fiscal_year:{year}|source.granularity:month",
                       order="month:asc") if year in spent else ({"cells": []}, {})
    if months["cells"]:
        order = sorted(months["cells"], key=lambda c: (c["month"] + 2) % 12)
        fig = go.Figure([go.Bar(x=[str(c["month"]) for c in order], y=[millions(c["amount.sum"]) for c in order])])
        fig.update_layout(title=f"{v.t['disbursed']} / {v.t['month']} {v.year_label()} ({v.t['amount']})",
                          xaxis=dict(type="category"))
        v.chart(fig)
    headline = official.get(year)
    return v.render(year=year, headline=headline, headline_amount=millions(budget.get(year)),
                    coverage=v.coverage([year]), remainder=any(c["ministry.id"] == NOT_ITEMISED for c in ministries["cells"]))


@bp.route("/spending/budget")
@explorer_page
def budget():
    import plotly.graph_objects as go   # plotly loads with the first chart drawn, not as the server starts
    v = View(None, params=DRILL)
    v.title = f"{v.t['drill']} {v.year_label()}"
    cuts, level = [f"fiscal_year:{v.year}"], 0
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
    root = " › ".join([f"{v.t['budget']} {v.year_label()}"] + [val for _, val in path])
    # A root node: a level with a single child still draws (a flat treemap of one cell is empty).
    fig = go.Figure(go.Treemap(labels=[root] + [c[dim] for c in cells], parents=[""] + [root] * len(cells),
                               values=[sum(c["amount.sum"] for c in cells)] + [c["amount.sum"] for c in cells],
                               branchvalues="total", textinfo="label+percent root"))
    fig.update_layout(title=root)
    v.chart(fig)
    base = {"year": v.year, **({"lang": request.args["lang"]} if request.args.get("lang") else {})}
    links = []
    for c in cells:
        q = {**base, **{d: val for d, val in path}}
        if level < len(DRILL) - 1:
            q[dim] = c[dim]
        links.append(f"/spending/budget?{urlencode(q)}")
    rows = [[{"text": c[dim], "href": link}, f"{millions(c['amount.sum']):,.2f}", c["_count"]] for c, link in zip(cells, links)]
    v.table(f"{v.t[dim]} {v.year_label()}", [v.t[dim], v.t["amount"], v.t["count"]], rows, "budget", params)
    return v.render(crumbs=path, coverage=v.coverage([v.year]),
                    remainder=any(c.get(f"{dim}.id") == NOT_ITEMISED for c in cells))


PROCUREMENT_SORTS = {"value_desc": "price_agreed:desc", "value_asc": "price_agreed:asc", "date_desc": "contract_date:desc"}


PROCUREMENT_PARAMS = ("q", "agency", "province", "method_group", "contractor", "flag", "amount_min", "amount_max",
                      "sort", "page")


@bp.route("/spending/procurement")
@explorer_page
def procurement():
    v = View(None, params=PROCUREMENT_PARAMS, cube="procurement")
    v.title = f"{v.t['procurement']} {v.year_label()}"
    args = request.args
    cut = [f"{d}:{args[d]}" for d in ("agency", "province", "method_group", "contractor", "flag") if args.get(d)]
    cut.append(f"fiscal_year:{v.year}")
    if args.get("sort") and args["sort"] not in PROCUREMENT_SORTS:
        v.notices.append(gettext("Unknown sort \"%(sort)s\"; sorted by value, highest first.", sort=args["sort"]))
    page = args.get("page", 1, type=int)
    res, params = v.ask("procurement", "facts", q=args.get("q"), cut="|".join(cut), amount_min=args.get("amount_min"),
                        amount_max=args.get("amount_max"), order=PROCUREMENT_SORTS.get(args.get("sort"), "price_agreed:desc"),
                        page=page, pagesize=50,
                        fields="project_id|project_name|agency|contractor|province|method|fiscal_year|price_agreed|flags")
    rows = [[{"text": r["project_id"], "href": f"/spending/project/{r['project_id']}"}, r["project_name"], r["agency"],
             r["contractor"], r["province"], r["method"], format_year(r["fiscal_year"], v.lang),
             f"{r['price_agreed'] or 0:,.2f}", ", ".join(flags.contract_reasons(_bits(r["flags"]), v.lang))]
            for r in res["data"]]
    v.table(f"{res['total_fact_count']:,} {v.t['contracts']}", ["e-GP", v.t["project"], v.t["agency"], v.t["contractor"],
            v.t["province"], v.t["method"], v.t["year"], v.t["value"], v.t["flags"]], rows, "procurement", params, "facts")
    lang = "en" if v.lang == "en" else "th"
    flag_labels = [(r["id"], r[lang]) for r in flags.RULES if r["level"] == "contract"]
    return v.render(search=True, total=res["total_fact_count"], page=page, flag_labels=flag_labels,
                    sort_labels=[(k, str(label)) for k, label in SORT_LABELS.items()], coverage=v.coverage([v.year]))


def _bits(names):
    return sum(flags.CONTRACT_FLAGS[n] for n in names or [])


@bp.route("/spending/project/<project_id>")
@explorer_page
def project(project_id):
    v = View(f"e-GP {project_id}", cube="procurement", year_control=False)
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


OTHER = {"agency": "contractor", "contractor": "agency", "province": "agency"}


def _budget_by_year(v, kind, cut):
    """Appropriated and disbursed baht by fiscal year for an agency or a province (empty for contractors)."""
    if kind == "contractor":
        return ({}, None), ({}, None)
    out = []
    for cube in ("budget", "disbursement"):
        res, params = v.ask(cube, drilldown="fiscal_year", cut=cut, order="fiscal_year:asc")
        out.append(({c["fiscal_year"]: c["amount.sum"] for c in res["cells"]}, params))
    return out[0], out[1]


def _entity(kind, entity_id):
    import plotly.graph_objects as go   # plotly loads with the first chart drawn, not as the server starts
    v = View(None, year_control=False)
    cut = f"{kind}.id:{entity_id}"
    by_year, year_paging = v.ask("procurement", drilldown="fiscal_year", cut=cut, order="fiscal_year:asc")
    (budget, budget_params), (disbursed, _) = _budget_by_year(v, kind, cut)
    if not by_year["cells"] and not budget:
        abort(404)
    other = OTHER[kind]
    top, top_paging = v.ask("procurement", drilldown=other, cut=cut, pagesize=15, fiscal_year="all")
    methods, _ = v.ask("procurement", drilldown="method_group", cut=cut, fiscal_year="all")
    contracts = {c["fiscal_year"]: c["amount.sum"] for c in by_year["cells"]}
    years = sorted(set(contracts) | set(budget) | set(disbursed))
    series = [(v.t["contracts"], contracts)] + ([(v.t["budget"], budget), (v.t["disbursed"], disbursed)] if budget else [])
    fig = go.Figure([go.Bar(name=label, x=[format_year(y, v.lang) for y in years], y=[millions(data.get(y)) for y in years])
                     for label, data in series])
    fig.update_layout(title=f"{' / '.join(label for label, _ in series)} ({v.t['amount']})", barmode="group",
                      xaxis=dict(type="category"))
    v.chart(fig)
    if methods["cells"]:
        v.chart(go.Figure(go.Pie(labels=[c["method_group"] for c in methods["cells"]],
                                 values=[c["amount.sum"] for c in methods["cells"]], hole=0.4)).update_layout(title=v.t["method"]))
    if budget:
        v.table(f"{v.t['budget']} / {v.t['disbursed']}", [v.t["year"], f"{v.t['budget']} ({v.t['amount']})",
                                                            f"{v.t['disbursed']} ({v.t['amount']})"],
                [[format_year(y, v.lang), f"{millions(budget.get(y)):,.2f}", f"{millions(disbursed.get(y)):,.2f}"] for y in years],
                "budget", budget_params)
    v.table(v.t["contracts"], [v.t["year"], v.t["value"], v.t["count"], v.t["flags"]],
            [[format_year(c["fiscal_year"], v.lang), f"{c['amount.sum']:,.2f}", c["_count"], c["flagged.sum"]]
             for c in by_year["cells"]], "procurement", year_paging)
    v.table(f"{v.t[other]} ({v.t['all_years']})", [v.t[other], v.t["value"], v.t["count"]],
            [[{"text": c[other], "href": f"/spending/{other}/{c[other + '.id']}"}, f"{c['amount.sum']:,.2f}", c["_count"]]
             for c in top["cells"]], "procurement", top_paging)
    if kind == "province":
        p = next((p for p in reference.provinces_doc()["provinces"] if int(p["code"]) == entity_id), None)
        if p is None:
            abort(404)
        v.title = p["name_en"] if v.lang == "en" else p["name_th"]
        return v.render(search_link=f"/spending/procurement?{urlencode({'province': p['name_th']})}")
    name = access.run(v.ctx.settings, v.ctx.db, "members", "procurement", {"cut": cut, "fiscal_year": "all"}, kind)["data"]
    v.title = name[0][f"{kind}.name"] if name else f"{kind} {entity_id}"
    if kind == "contractor" and name:
        v.notes.append(f"TIN {name[0]['contractor.tin'] or '–'} ({name[0]['contractor.kind']})")
    v.notes.extend(redflags.describe(v.ctx.settings, v.ctx.db, kind, entity_id, v.lang))
    return v.render(search_link=f"/spending/procurement?{urlencode({kind: v.title})}")


@bp.route("/spending/agency/<int:agency_id>")
@explorer_page
def agency(agency_id):
    return _entity("agency", agency_id)


@bp.route("/spending/contractor/<int:contractor_id>")
@explorer_page
def contractor(contractor_id):
    return _entity("contractor", contractor_id)


@functools.lru_cache(maxsize=2)
def _geojson(path):
    # KHLANG_PROVINCES_GEOJSON: an optional boundary file for a true choropleth beside the tile cartogram.
    return reference.geojson_provinces(path) if path else None


def _ranked(values):
    """Colour positions by rank (0..1) and colour-bar ticks at the quartiles' values: Bangkok's central
    budget is a hundred times a province's, so a linear or log scale paints every other province alike."""
    order = sorted(values, key=lambda k: values[k])
    n = max(len(order) - 1, 1)
    shade = {k: i / n for i, k in enumerate(order)}
    ticks = [0, 0.25, 0.5, 0.75, 1]
    text = [f"{values[order[round(t * n)]]:,.0f}" for t in ticks] if order else []
    return shade, {"tickvals": ticks, "ticktext": text}


def _rings(geometry):
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    return [ring for polygon in polygons for ring in polygon[:1]]   # outer rings; holes are rare at this scale


def _choropleth(geo, values, names, v):
    """Provinces drawn as filled lon/lat outlines on plain axes: Plotly's geo traces would fetch a world
    map from a CDN, and no request may leave the site."""
    import plotly.graph_objects as go   # plotly loads with the first chart drawn, not as the server starts
    from plotly.colors import sample_colorscale   # (the same)
    shade, colorbar = _ranked(values)
    fig = go.Figure()
    for feature in geo["features"]:
        pid = feature["id"]
        xs, ys = [], []
        for ring in _rings(feature["geometry"]):
            xs += [p[0] for p in ring] + [None]
            ys += [p[1] for p in ring] + [None]
        label = f"{names.get(pid, pid)}<br>{values.get(pid, 0):,.1f} {v.t['amount']}"
        fig.add_trace(go.Scatter(x=xs, y=ys, fill="toself", mode="lines", line=dict(width=0.5, color="#555"),
                                 fillcolor=sample_colorscale("YlOrRd", shade.get(pid, 0))[0],
                                 hoverinfo="text", text=label, hoveron="fills", name=str(names.get(pid, pid)),
                                 showlegend=False))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
                             marker=dict(colorscale="YlOrRd", cmin=0, cmax=1, color=[0], showscale=True,
                                         colorbar=dict(title=v.t["amount"], **colorbar))))
    fig.update_layout(title=v.t["map"], height=900, xaxis=dict(visible=False),
                      yaxis=dict(visible=False, scaleanchor="x", scaleratio=1.03))
    return fig


@bp.route("/spending/province/<int:province_id>")
@explorer_page
def province(province_id):
    return _entity("province", province_id)


@bp.route("/spending/map")
@explorer_page
def province_map():
    import plotly.graph_objects as go   # plotly loads with the first chart drawn, not as the server starts
    v = View(None)
    v.title = f"{v.t['map']} {v.year_label()}"
    year = v.year
    res, params = v.ask("budget", drilldown="province", cut=f"fiscal_year:{year}")
    if all(c["province.id"] not in reference.tile_layout() for c in res["cells"]):
        v.notices.append(gettext("The sources of fiscal year %(year)s do not split the budget by province.",
                           year=v.year_label()))
    by_id = {c["province.id"]: c for c in res["cells"]}
    tiles = reference.tile_layout()
    names = {int(p["code"]): p["name_en" if v.lang == "en" else "name_th"] for p in reference.provinces_doc()["provinces"]}
    xs, ys, vals, text = [], [], [], []
    for pid, (col, row) in tiles.items():
        xs.append(col)
        ys.append(-row)
        amount = by_id.get(pid, {}).get("amount.sum", 0)
        vals.append(millions(amount))
        text.append(f"{names[pid]}<br>{millions(amount):,.1f} {v.t['amount']}")
    shade, colorbar = _ranked(dict(enumerate(vals)))
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="markers+text", text=[t.split("<br>")[0][:6] for t in text],
                               hovertext=text, hoverinfo="text", textfont=dict(size=9),
                               marker=dict(symbol="square", size=34, color=[shade[i] for i in range(len(vals))],
                                           colorscale="YlOrRd", cmin=0, cmax=1, showscale=True,
                                           colorbar=dict(title=v.t["amount"], **colorbar))))
    fig.update_layout(title=v.title, xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x"), height=900)
    v.chart(fig)
    geo = _geojson(v.ctx.settings.provinces_geojson)
    if geo:
        v.chart(_choropleth(geo, {pid: millions(by_id.get(pid, {}).get("amount.sum", 0)) for pid in names}, names, v))
    rows = [[{"text": c["province"], "href": f"/spending/province/{c['province.id']}"} if c["province.id"] in names
             else c["province"], c["province.region"], f"{millions(c['amount.sum']):,.2f}"] for c in res["cells"]]
    v.table(f"{v.t['province']} {v.year_label()}", [v.t["province"], v.t["region"], v.t["amount"]], rows, "budget",
            params)
    return v.render(coverage=v.coverage([year]))


@bp.route("/spending/tax")
@explorer_page
def tax_receipt():
    import plotly.graph_objects as go   # plotly loads with the first chart drawn, not as the server starts
    v = View(None, params=("income", "tax", *tax.rules()["deductions"]))
    v.title = str(_l("My tax receipt: where did my tax go?"))
    given = {k: val for k, val in request.args.items() if val and (k in ("income", "tax") or k in tax.rules()["deductions"])}
    result = None
    if given.get("income") or given.get("tax"):
        if given.get("income") and given.get("tax"):
            given.pop("tax")
        result = tax.receipt(v.ctx.settings, v.ctx.db, {**given, "fiscal_year": str(v.year)})
        names = [i["ministry_en"] if v.lang == "en" and i["ministry_en"] else i["ministry"] for i in result["items"]]
        fig = go.Figure(go.Bar(y=names[:15], x=[i["amount"] for i in result["items"][:15]], orientation="h",
                               hovertemplate="%{y}: %{x:,.2f}<extra></extra>"))
        fig.update_layout(title=f"{v.t['tax_items']} {v.year_label()}", yaxis=dict(autorange="reversed"),
                          xaxis=dict(title=v.t["baht"], tickformat=",.0f"))
        v.chart(fig)
        rows = [[{"text": n, "href": f"/spending/budget?{urlencode({'year': v.year, 'ministry': i['ministry']})}"},
                 f"{i['amount']:,.2f}", f"{i['share']:.2%}"] for n, i in zip(names, result["items"])]
        query_args = {**given, "fiscal_year": v.year}
        v.tables.append({"title": f"{v.t['tax_items']} {v.year_label()}", "header": [v.t["ministry"], v.t["baht"],
                         v.t["share"]], "rows": rows, "csv": None,
                         "json": f"/api/3/spending/tax-receipt?{urlencode(query_args)}", "sources": []})
    lang = "en" if v.lang == "en" else "th"
    deductions = [(k, d[lang]) for k, d in tax.rules()["deductions"].items()]
    return v.render(tax_form=True, receipt=result, deductions=deductions, coverage=v.coverage([v.year]))


@bp.route("/spending/methodology")
def methodology():
    lang = get_locale()
    return render_template("methodology.html", rules=flags.RULES, lang=lang)


@bp.app_template_filter("source_title")
def source_title(source, lang):
    """A source dataset's title in the page's language (its English title where it has one)."""
    english = source.get("package_title_en") if lang == "en" else None
    return english or source.get("package_title") or source.get("package_name")


@bp.route("/static/vendor/plotly.min.js")
def plotly_js():
    return send_file(Path(importlib.util.find_spec("plotly").origin).parent / "package_data" / "plotly.min.js", mimetype="text/javascript",
                     max_age=86400)
