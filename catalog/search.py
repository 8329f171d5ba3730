"""Thai-aware dataset search: FTS5 trigram for recall, pythainlp words for ranking, SQL facets."""
import json
import re
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

from . import auth, gdc, licenses
from .errors import SearchError, SearchQueryError
from .params import as_bool, as_int, as_list
from .querysyntax import parse
from .searchindex import FTS_COLUMNS
from .thaitext import normalize, words

ROWS_DEFAULT, ROWS_MAX = 10, 1000
FACET_LIMIT_DEFAULT = 50
BM25_MAX_HITS = 500
DEFAULT_SORT = "score desc, metadata_modified desc"
VALID_PARAMS = {"q", "fq", "fq_list", "rows", "start", "sort", "facet", "facet.field", "facet.limit", "facet.mincount",
                "fl", "include_private", "include_drafts", "include_deleted", "use_default_schema", "qf", "wt", "bf",
                "boost", "tie", "defType", "mm", "df", "q.op", "facet.sort"}
# Column weights of bm25 for (title, tags, org, res, notes): title above tags above notes.
WEIGHTS = "10.0, 5.0, 3.0, 2.0, 1.0"
SORT_COLUMNS = {"score": "score", "metadata_modified": "d.metadata_modified", "metadata_created": "d.metadata_created",
                "name": "d.name", "title_string": "d.title_sort", "title": "d.title_sort", "id": "d.package_id"}
TEXT_FIELDS = {"title": "title", "notes": "notes", "text": None, "res_name": "res", "res_description": "res",
               "tags_text": "tags"}
TERM_FIELDS = {"id", "name", "organization", "owner_org", "groups", "tags", "res_format", "license_id", "type",
               "dataset_type", "creator_user_id", "maintainer", "author", "url"}


@lru_cache(maxsize=1)
def _synonyms():
    doc = json.loads(Path(__file__).with_name("synonyms.json").read_text(encoding="utf-8"))
    table = {}
    for group in doc["groups"]:
        forms = sorted({normalize(g) for g in group})
        for f in forms:
            table[f] = forms
    return table


# ---------------------------------------------------------------------------------------------
# Query compilation


def _fts_phrase(text):
    return '"' + text.replace('"', '""') + '"'


def _variants(term):
    norm = normalize(term)
    return _synonyms().get(norm, [norm])


def _text_condition(term, column=None):
    """SQL matching docs whose text (or one column) contains the term or a synonym."""
    forms = [f for f in _variants(term) if f]
    if not forms:
        return "1=1", []
    long_forms = [f for f in forms if len(f) >= 3]
    short_forms = [f for f in forms if len(f) < 3]
    parts, args = [], []
    if long_forms:
        match = " OR ".join(_fts_phrase(f) for f in long_forms)
        if column:
            match = "{%s} : (%s)" % (column, match)
        parts.append("d.doc_id IN (SELECT rowid FROM search_trigram WHERE search_trigram MATCH ?)")
        args.append(match)
    for f in short_forms:
        # Trigram needs 3 code points; shorter queries scan the folded text column.
        parts.append("instr(d.text, ?) > 0")
        args.append(f)
    return "(" + " OR ".join(parts) + ")", args


def _field_condition(field, values):
    if field == "*":
        return "1=1", []
    if field in TEXT_FIELDS:
        conds = [_text_condition(v, TEXT_FIELDS[field]) for v in values]
        return "(" + " OR ".join(c for c, _ in conds) + ")", [a for _, args in conds for a in args]
    if field == "capacity":
        priv = [v for v in values if v in ("public", "private")]
        if not priv:
            return "0=1", []
        return "(" + " OR ".join("d.private = ?" for _ in priv) + ")", [int(v == "private") for v in priv]
    if field == "state":
        return f"d.state IN ({','.join('?' * len(values))})", values
    if field in ("private",):
        return "d.private = ?", [int(str(values[0]).lower() == "true")]
    if field not in TERM_FIELDS and field not in gdc.choice_fields() and not field.startswith("extras_"):
        raise SearchError(f"undefined field {field}")
    conds, args = [], []
    for v in values:
        if v == "*":
            conds.append("d.doc_id IN (SELECT doc_id FROM search_terms WHERE field = ?)")
            args.append(field)
        elif v.endswith("*") and "*" not in v[:-1]:
            conds.append("d.doc_id IN (SELECT doc_id FROM search_terms WHERE field = ? AND value LIKE ? ESCAPE '\\')")
            args += [field, v[:-1].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"]
        else:
            conds.append("d.doc_id IN (SELECT doc_id FROM search_terms WHERE field = ? AND value = ?)")
            args += [field, v]
    return "(" + " OR ".join(conds) + ")", args


def _range_condition(node):
    cols = {"metadata_modified": "d.metadata_modified", "metadata_created": "d.metadata_created"}
    if node.field not in cols:
        raise SearchError(f"Range queries are supported on {sorted(cols)}, not {node.field}")
    conds, args = [], []
    for bound, op_incl, op_excl, incl in ((node.low, ">=", ">", node.incl_low), (node.high, "<=", "<", node.incl_high)):
        if bound is None:
            continue
        value = _solr_date(bound)
        conds.append(f"{cols[node.field]} {op_incl if incl else op_excl} ?")
        args.append(value)
    return ("(" + " AND ".join(conds) + ")" if conds else "1=1"), args


def _solr_date(value):
    v = value.rstrip("Z")
    if v.upper().startswith("NOW"):
        from datetime import datetime, timedelta, timezone

        m = re.fullmatch(r"NOW(?:-(\d+)(DAY|DAYS|HOUR|HOURS|MONTH|MONTHS|YEAR|YEARS))?(?:/DAY)?", v.upper())
        if not m:
            raise SearchError(f"Invalid date {value!r}")
        n, unit = int(m.group(1) or 0), (m.group(2) or "DAY").rstrip("S")
        days = {"DAY": 1, "HOUR": 1 / 24, "MONTH": 30, "YEAR": 365}[unit] * n
        return (datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(days=days)).isoformat()
    if not re.fullmatch(r"\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?)?", v):
        raise SearchError(f"Invalid date {value!r}")
    return v


def _compile(node):
    if node.kind == "and":
        if not node.children:
            return "1=1", []
        parts = [_compile(c) for c in node.children]
        return "(" + " AND ".join(p for p, _ in parts) + ")", [a for _, args in parts for a in args]
    if node.kind == "or":
        parts = [_compile(c) for c in node.children]
        return "(" + " OR ".join(p for p, _ in parts) + ")", [a for _, args in parts for a in args]
    if node.kind == "not":
        sql, args = _compile(node.children[0])
        return f"(NOT {sql})", args
    if node.kind == "range":
        return _range_condition(node)
    if node.kind == "field":
        return _field_condition(node.field, node.values)
    term = node.values[0]
    if term in ("*", "*:*"):
        return "1=1", []
    return _text_condition(term)


def _plain_terms(node):
    """The bare words of a query that is only words (the common case), else None."""
    if node.kind == "term":
        return [node.values[0]]
    if node.kind == "and" and node.children and all(c.kind == "term" for c in node.children):
        return [c.values[0] for c in node.children]
    return None


def _all_terms(node):
    if node.kind == "term":
        return [node.values[0]]
    return [t for c in node.children for t in _all_terms(c)] if node.kind in ("and", "or") else []


def _trigram_match(terms):
    """FTS5 MATCH text requiring every term (any synonym) as a substring; None if all are short."""
    tri_terms = [t for t in terms if all(len(f) >= 3 for f in _variants(t))]
    if not tri_terms:
        return None, tri_terms
    return " AND ".join("(" + " OR ".join(_fts_phrase(f) for f in _variants(t)) + ")" for t in tri_terms), tri_terms


def _words_match(terms):
    """FTS5 MATCH text for documents having every term (any synonym) as whole words, or None."""
    groups = []
    for t in terms:
        phrases = sorted({_fts_phrase(" ".join(words(f))) for f in _variants(t) if words(f)})
        if not phrases:
            return None
        groups.append("(" + " OR ".join(phrases) + ")")
    return " AND ".join(groups)


def _score_expr(terms, has_words, has_trigram_bm25):
    """Tiers, then bm25 inside a tier: every term a whole word of the title (8), inside the title (4),
    a whole word anywhere (2), a substring anywhere (0). bm25 alone cannot do this: a term found in
    most documents gets an idf near zero, which would erase the title's weight."""
    part_title, part_args, whole_title, whole_args = [], [], [], []
    for term in terms:
        forms = [f for f in _variants(term) if f]
        part_title.append("(" + " OR ".join("instr(d.title_sort, ?) > 0" for _ in forms) + ")")
        part_args += forms
        whole_title.append("(" + " OR ".join("instr(d.title_words, ?) > 0" for _ in forms) + ")")
        whole_args += [" " + " ".join(words(f)) + " " for f in forms]
    bm = []
    if has_words:
        bm.append("2.0 * COALESCE(-w.s, 0.0)")
    if has_trigram_bm25:
        bm.append("COALESCE(-tb.s, 0.0)")
    bm_sql = " + ".join(bm) or "0.0"
    tiers = [f"4.0 * ({' AND '.join(part_title)})", f"4.0 * ({' AND '.join(whole_title)})"]
    if has_words:
        tiers.append("2.0 * (w.rid IS NOT NULL)")
    # Solr-like scores are positive; bm25 part squashed into [0, 1) so it never jumps a tier.
    sql = f"({' + '.join(tiers)} + ({bm_sql}) / (1.0 + {bm_sql}))"
    return sql, part_args + whole_args


def _visibility(ctx, include_private, include_drafts, include_deleted):
    states = ["d.state = 'active'"]
    args = []
    if include_drafts and ctx.user:
        if ctx.sysadmin:
            states.append("d.state = 'draft'")
        else:
            editable = auth.editor_org_ids(ctx) or []
            marks = ",".join("?" * len(editable))
            states.append(f"(d.state = 'draft' AND (d.creator_user_id = ?{f' OR d.owner_org IN ({marks})' if editable else ''}))")
            args += [ctx.user_id, *editable]
    if include_deleted and ctx.sysadmin:
        states.append("d.state = 'deleted'")
    sql = "(" + " OR ".join(states) + ")"
    if not include_private:
        return sql + " AND d.private = 0", args
    orgs = auth.member_org_ids(ctx)
    if orgs is None:
        return sql, args
    if not orgs:
        return sql + " AND d.private = 0", args
    return sql + f" AND (d.private = 0 OR d.owner_org IN ({','.join('?' * len(orgs))}))", args + orgs


def _sort_clause(sort, ranked=True):
    """ORDER BY text from a CKAN sort string; score keys are dropped when nothing is ranked."""
    parts = []
    for piece in [p.strip() for p in sort.split(",") if p.strip()]:
        bits = piece.split()
        if len(bits) != 2 or bits[1].lower() not in ("asc", "desc"):
            raise SearchError(f"Can't determine a sort order from '{piece}'")
        if bits[0] not in SORT_COLUMNS:
            raise SearchError(f"can not sort on undefined field: {bits[0]}")
        if bits[0] == "score" and not ranked:
            continue  # constant without query terms; sorting on it would defeat the indexes
        parts.append(f"{SORT_COLUMNS[bits[0]]} {bits[1].upper()}")
    parts.append("d.doc_id DESC")
    return ", ".join(parts)


def _facet_title(ctx, field, value, cache):
    if field in ("organization", "groups"):
        if value not in cache:
            row = ctx.db.execute("SELECT title FROM groups WHERE name = ?", (value,)).fetchone()
            cache[value] = (row[0] if row and row[0] else value)
        return cache[value]
    if field == "license_id":
        lic = licenses.by_id(value)
        return lic["title"] if lic else value
    return value


# ---------------------------------------------------------------------------------------------
# The action


def package_search(ctx, data):
    """Search datasets: Thai substring recall, whole-word ranking, fq, facets, sort, paging."""
    unknown = sorted(k for k in data if k not in VALID_PARAMS and not k.startswith("ext_"))
    if unknown:
        raise SearchQueryError(f"Invalid search parameters: {unknown}")
    q = data.get("q")
    q = "" if q in (None, "*:*", '""', "''") else str(q)
    rows = as_int(data, "rows", ROWS_DEFAULT, maximum=ROWS_MAX)
    start = as_int(data, "start", 0)
    sort = str(data.get("sort") or DEFAULT_SORT)
    if sort.strip() == "rank":
        sort = DEFAULT_SORT
    facet_fields = as_list(data, "facet.field", []) if data.get("facet.field") is not None else []
    if isinstance(data.get("facet.field"), str) and not data["facet.field"].strip().startswith("["):
        from .errors import ValidationError

        raise ValidationError({"facet.field": ["Not a valid JSON list"]})
    facet_limit = as_int(data, "facet.limit", FACET_LIMIT_DEFAULT, minimum=None)
    facet_mincount = as_int(data, "facet.mincount", 1)
    want_facets = as_bool(data, "facet", True)
    include_private = as_bool(data, "include_private", False)
    include_drafts = as_bool(data, "include_drafts", False)
    include_deleted = as_bool(data, "include_deleted", False)
    fl = as_list(data, "fl", None)

    q_node = parse(q)
    where, args = _visibility(ctx, include_private, include_drafts, include_deleted)
    vis = (where, list(args))
    tri_terms = []
    plain = _plain_terms(q_node) if q else []
    recall_join, recall_args, terms = "", [], []
    if plain:
        terms = plain
        match, tri_terms = _trigram_match(plain)
        if match:
            # CROSS JOIN pins the FTS hits as the outer loop; otherwise SQLite may probe the FTS
            # table once per catalogue row (seconds at 100,000 datasets).
            recall_join = "(SELECT st.rowid AS rid FROM search_trigram st WHERE search_trigram MATCH ?) t CROSS JOIN"
            recall_args = [match]
            where = f"d.doc_id = t.rid AND {where}"
        for term in plain:
            if term not in tri_terms:
                cond, cargs = _text_condition(term)
                where += f" AND {cond}"
                args += cargs
    elif q:
        cond, cargs = _compile(q_node)
        where += f" AND {cond}"
        args += cargs
        terms = _all_terms(q_node)
    for fq in [data.get("fq")] + list(as_list(data, "fq_list", []) or []):
        if fq:
            cond, cargs = _compile(parse(str(fq)))
            where += f" AND {cond}"
            args += cargs
    facet_spec = (tuple(facet_fields), facet_limit, facet_mincount) if want_facets and facet_fields else None
    key = (recall_join, tuple(recall_args), where, tuple(args), tuple(terms), rows, start, sort, facet_spec)
    generation = ctx.db.execute("SELECT generation FROM search_generation WHERE id = 1").fetchone()[0]
    hit = _cache_get(ctx, generation, key)
    if hit is None:
        fast = (plain and not facet_spec and not data.get("fq") and not data.get("fq_list") and recall_args
                and _sort_clause(sort) == _sort_clause(DEFAULT_SORT) and len(tri_terms) == len(plain))
        if fast:
            hit = _run_ranked_stream(ctx, plain, recall_args[0], vis, rows, start)
        if not fast or hit is None:
            unfiltered = not q and not data.get("fq") and not data.get("fq_list")
            hit = _run(ctx, (recall_join, recall_args), (where, args), terms, recall_args[0] if recall_args else None,
                       sort, rows, start, facet_spec, unfiltered)
        _cache_put(ctx, generation, key, hit)
    count, ids, facet_counts = hit

    from .packages import package_dicts

    results = package_dicts(ctx, ids)
    if fl:
        results = [{k: r.get(k) for k in fl} for r in results]
    facets, search_facets, titles = {}, {}, {}
    for field, counts in (facet_counts or {}).items():
        facets[field] = dict(counts)
        items = [{"name": v, "display_name": _facet_title(ctx, field, v, titles), "count": n} for v, n in counts]
        items.sort(key=lambda i: i["display_name"], reverse=True)
        search_facets[field] = {"title": field, "items": items}
    return {"count": count, "results": results, "facets": facets, "search_facets": search_facets, "sort": sort}


def _run_ranked_stream(ctx, terms, trigram_match, vis, rows, start):
    """Plain-text search over a large hit set without sorting it: count from the FTS index minus the
    few restricted documents, then walk each ranking tier newest first and stop after one page.
    Returns None when the hit set is small enough for full bm25 ranking (the caller does that)."""
    db = ctx.db
    vis_where, vis_args = vis
    total = db.execute("SELECT count(*) FROM search_trigram WHERE search_trigram MATCH ?", (trigram_match,)).fetchone()[0]
    if total <= BM25_MAX_HITS:
        return None
    hidden = db.execute(
        f"SELECT count(*) FROM search_docs d WHERE {_HIDDEN} AND NOT ({vis_where}) AND d.doc_id IN (SELECT rowid FROM search_trigram WHERE search_trigram MATCH ?)",
        vis_args + [trigram_match]).fetchone()[0]
    count = total - hidden
    need = start + rows
    picked, seen = [], set()
    for sql, args in _tier_queries(terms, trigram_match):
        cur = db.execute(sql, args)
        while len(picked) < need:
            chunk = [r[0] for r in cur.fetchmany(256)]
            if not chunk:
                break
            fresh = [d for d in chunk if d not in seen]
            seen.update(chunk)
            if fresh:
                marks = ",".join("?" * len(fresh))
                ok = dict(db.execute(f"SELECT d.doc_id, d.package_id FROM search_docs d WHERE d.doc_id IN ({marks}) "
                                     f"AND {vis_where}", fresh + vis_args).fetchall())
                picked += [ok[d] for d in fresh if d in ok]
        cur.close()
        if len(picked) >= need:
            break
    return count, picked[start:need], {}


def _tier_queries(terms, trigram_match):
    """Rowid-descending (newest first) queries for each ranking tier, best tier first."""
    def words_phrases(t, column=None):
        phrases = [_fts_phrase(" ".join(words(f))) for f in _variants(t) if words(f)]
        body = "(" + " OR ".join(phrases) + ")"
        return ("{%s} : %s" % (column, body)) if column else body

    def trigram_phrases(t, column):
        return "{%s} : (%s)" % (column, " OR ".join(_fts_phrase(f) for f in _variants(t)))

    tiers = []
    if all(any(words(f) for f in _variants(t)) for t in terms):
        tiers.append(("SELECT rowid FROM search_words WHERE search_words MATCH ? ORDER BY rowid DESC",
                      [" AND ".join(words_phrases(t, "title") for t in terms)]))
    tiers.append(("SELECT rowid FROM search_trigram WHERE search_trigram MATCH ? ORDER BY rowid DESC",
                  [" AND ".join(trigram_phrases(t, "title") for t in terms)]))
    if all(any(words(f) for f in _variants(t)) for t in terms):
        tiers.append(("SELECT rowid FROM search_words WHERE search_words MATCH ? ORDER BY rowid DESC",
                      [" AND ".join(words_phrases(t) for t in terms)]))
    tiers.append(("SELECT rowid FROM search_trigram WHERE search_trigram MATCH ? ORDER BY rowid DESC", [trigram_match]))
    return tiers


_HIDDEN = "d.doc_id IN (SELECT doc_id FROM search_docs WHERE state <> 'active' OR private = 1)"


def _unfiltered_count(db, vis_where, vis_args):
    """Visible datasets with no query: public active ones (kept by an index) plus the caller's others."""
    # Both counts come from indexes: all documents, minus the partial index of hidden ones.
    public = (db.execute("SELECT count(*) FROM search_docs").fetchone()[0]
              - db.execute("SELECT count(*) FROM search_docs WHERE state <> 'active' OR private = 1").fetchone()[0])
    extra = db.execute(f"SELECT count(*) FROM search_docs d WHERE {_HIDDEN} AND {vis_where}", vis_args).fetchone()[0]
    return public + extra


def _unfiltered_facet(db, field, vis_where, vis_args):
    """Facet counts over every visible dataset: the maintained public counts plus the caller's others."""
    counts = dict(db.execute("SELECT value, n FROM search_facet_counts WHERE field = ? AND n > 0", (field,)))
    extra = db.execute(
        "SELECT st.value, count(*) FROM search_docs d JOIN search_terms st ON st.doc_id = d.doc_id AND st.field = ? "
        f"WHERE {_HIDDEN} AND {vis_where} GROUP BY st.value", [field] + vis_args)
    for value, n in extra:
        counts[value] = counts.get(value, 0) + n
    return list(counts.items())


def _run(ctx, recall, filters, terms, trigram_match, sort, rows, start, facet_spec, unfiltered=False):
    """Count, rank one page and count facets; returns (count, package ids, {field: [(value, n)]})."""
    db = ctx.db
    (recall_join, recall_args), (where, where_args) = recall, filters
    base = f"FROM {recall_join} search_docs d WHERE {where}"
    base_args = recall_args + where_args
    if unfiltered:
        count = _unfiltered_count(db, where, where_args)
    else:
        count = db.execute(f"SELECT count(*) {base}", base_args).fetchone()[0]
    ids, facet_counts = [], {}
    if count and start < count:
        joins, join_args, score, score_args = [], [], "0.0", []
        if terms and "score" in sort:
            words_match = _words_match(terms)
            # bm25 costs a pass over every hit; past a few thousand hits its idf is near zero for the
            # query's own terms anyway, so big result sets rank by the tiers and then by the sort's next key.
            with_bm25 = count <= BM25_MAX_HITS
            if words_match:
                col = f"bm25(search_words, {WEIGHTS})" if with_bm25 else "0.0"
                joins.append(f"LEFT JOIN (SELECT sw.rowid AS rid, {col} AS s FROM search_words sw WHERE search_words MATCH ?) w ON w.rid = d.doc_id")
                join_args.append(words_match)
            if with_bm25 and trigram_match:
                joins.append(f"LEFT JOIN (SELECT sb.rowid AS rid, bm25(search_trigram, {WEIGHTS}) AS s FROM search_trigram sb WHERE search_trigram MATCH ?) tb ON tb.rid = d.doc_id")
                join_args.append(trigram_match)
            score, score_args = _score_expr(terms, bool(words_match), with_bm25 and bool(trigram_match))
        page_sql = (f"SELECT d.package_id, {score} AS score FROM {recall_join} search_docs d {' '.join(joins)} "
                    f"WHERE {where} ORDER BY {_sort_clause(sort, bool(terms))} LIMIT ? OFFSET ?")
        page_args = score_args + recall_args + join_args + where_args + [rows, start]
        ids = [r[0] for r in db.execute(page_sql, page_args)]
    if facet_spec:
        fields, limit, mincount = facet_spec
        for field in fields:
            if unfiltered:
                counts = _unfiltered_facet(db, field, where, where_args)
            else:
                sql = (f"SELECT st.value, count(*) AS n FROM {recall_join} search_docs d "
                       f"JOIN search_terms st ON st.doc_id = d.doc_id AND st.field = ? WHERE {where} "
                       f"GROUP BY st.value")
                counts = db.execute(sql, recall_args + [field] + where_args).fetchall()
            counts = sorted(((v, n) for v, n in counts if n >= max(mincount, 1)), key=lambda vn: (-vn[1], vn[0]))
            facet_counts[field] = counts[:limit] if limit is not None and limit >= 0 else counts
    return count, ids, facet_counts


_CACHE = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _cache_get(ctx, generation, key):
    if not ctx.settings.search_cache_size:
        return None
    with _CACHE_LOCK:
        hit = _CACHE.get((ctx.settings.db_path, generation, key))
        if hit is not None:
            _CACHE.move_to_end((ctx.settings.db_path, generation, key))
        return hit


def _cache_put(ctx, generation, key, value):
    size = ctx.settings.search_cache_size
    if not size:
        return
    with _CACHE_LOCK:
        _CACHE[(ctx.settings.db_path, generation, key)] = value
        while len(_CACHE) > size:
            _CACHE.popitem(last=False)
