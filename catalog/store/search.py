"""Running a dataset search over the index: visibility, recall (FTS5 trigram), ranking (bm25 and tiers); the
facets are counted by searchfacets."""
from ..errors import SearchError
from ..querysyntax import parse
from . import searchfacets as facets
from .searchfacets import RESTRICTED_DOCS
from .searchsql import (WEIGHTS, all_terms, compile_node, fts_form, fts_phrase, plain_terms, score_expr,
                        text_condition, trigram_query, variants, words_query)
from .shortterms import expander
from ..thaitext import words
from .textmatch import execute as _sql

BM25_MAX_HITS = 500
DEFAULT_SORT = "score desc, metadata_modified desc"
SORT_COLUMNS = {"score": "score", "metadata_modified": "d.metadata_modified", "metadata_created": "d.metadata_created",
                "name": "d.name", "title_string": "d.title_sort", "title": "d.title_sort", "id": "d.package_id"}


def generation(db):
    """A number that changes with every change to the index (search answers are cached per generation)."""
    return _sql(db, "SELECT generation FROM search_generation WHERE id = 1").fetchone()[0]


def _visibility(viewer, include_private, include_drafts, include_deleted):
    """(SQL over search_docs d, its args, whether any entry not everyone may see (draft, deleted, private) can
    pass it) for what this viewer's search may show."""
    states = ["d.state = 'active'"]
    args = []
    if include_drafts and viewer["user_id"]:
        if viewer["sysadmin"]:
            states.append("d.state = 'draft'")
        else:
            editable, collab = viewer["editor_orgs"] or [], viewer.get("collab_edit") or []
            mine = ["d.creator_user_id = ?"] + ([f"d.owner_org IN ({','.join('?' * len(editable))})"] if editable else []) \
                + ([f"d.package_id IN ({','.join('?' * len(collab))})"] if collab else [])
            states.append(f"(d.state = 'draft' AND ({' OR '.join(mine)}))")
            args += [viewer["user_id"], *editable, *collab]
    if include_deleted and viewer["sysadmin"]:
        states.append("d.state = 'deleted'")
    sql = "(" + " OR ".join(states) + ")"
    other_states = len(states) > 1
    if not include_private:
        return sql + " AND d.private = 0", args, other_states
    orgs, collab = viewer["member_orgs"], viewer.get("collab_read") or []
    if orgs is None:
        return sql, args, True
    seen = ["d.private = 0"] + ([f"d.owner_org IN ({','.join('?' * len(orgs))})"] if orgs else []) \
        + ([f"d.package_id IN ({','.join('?' * len(collab))})"] if collab else [])
    if len(seen) == 1:
        return sql + " AND d.private = 0", args, other_states
    return sql + f" AND ({' OR '.join(seen)})", args + orgs + collab, True


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


def find(db, viewer, query, filter_queries, include, sort, rows, start, facet_spec):
    """(count, package ids of one page, {field: [(value, n)]}) of a search the viewer may see.

    query: (q text, its parsed node); filter_queries: fq texts; include: (private, drafts, deleted) flags;
    facet_spec: (fields, limit, mincount) or None."""
    q, q_node = query
    where, args, sees = _visibility(viewer, *include)
    vis = (where, list(args))
    expand = expander(db)
    tri_terms = []
    plain = plain_terms(q_node) if q else []
    recall_join, recall_args, terms = "", [], []
    if plain:
        terms = plain
        match, tri_terms = trigram_query(plain, expand)
        if match:
            # CROSS JOIN pins the FTS hits as the outer loop; otherwise SQLite may probe the FTS
            # table once per catalogue row (seconds at 100,000 datasets).
            recall_join = "(SELECT st.rowid AS rid FROM search_trigram st WHERE search_trigram MATCH ?) t CROSS JOIN"
            recall_args = [match]
            where = f"d.doc_id = t.rid AND {where}"
        for term in plain:
            if term not in tri_terms:
                cond, cargs = text_condition(term, None, expand)
                where += f" AND {cond}"
                args += cargs
    elif q:
        cond, cargs = compile_node(q_node, expand)
        where += f" AND {cond}"
        args += cargs
        terms = all_terms(q_node)
    for fq in filter_queries:
        cond, cargs = compile_node(parse(str(fq)), expand)
        where += f" AND {cond}"
        args += cargs
    fast = (plain and not filter_queries and recall_args
            and _sort_clause(sort) == _sort_clause(DEFAULT_SORT) and len(tri_terms) == len(plain))
    recall = ("search_trigram", recall_args[0]) if fast else None
    hit = _run_ranked_stream(db, recall, lambda: _tier_queries(plain, recall_args[0], expand), vis, rows,
                             start, facet_spec) if fast else None
    known = None
    if isinstance(hit, int):   # a small hit set: its count, for the full ranking below
        known, hit = hit, None
    if hit:
        hit = hit[:3]
    if hit is None:
        unfiltered = not q and not filter_queries
        # bm25 weighs the words a trigram phrase finds, not a short word's trigrams (which would rank by how
        # many of those happen to occur), so both databases rank a short word alike.
        bm25_match = trigram_query(plain)[0] if plain else None
        hit = _run(db, (recall_join, recall_args), (where, args), terms, bm25_match, sort, rows, start, facet_spec,
                   unfiltered, sees=sees, count=known)
    return hit


def _run_ranked_stream(db, recall, tiers, vis, rows, start, facet_spec=None):
    """Plain-text search over a large hit set without sorting it: count from the FTS index minus the
    few restricted documents, then walk each ranking tier (tiers() gives their queries) newest first and
    stop after one page; the facets (facet_spec) are counted over every hit. When the hit set is small
    enough for full ranking (the caller does that), returns only its visible count, so that the caller
    does not count it again.

    recall: (the FTS table, the MATCH text every hit satisfies)."""
    table, match = recall
    # The hits are counted from the index alone; the ones the viewer may not see are among the few restricted.
    hidden_sql, hidden_args = _hidden_hits(recall, vis)
    if facet_spec:   # kept for their facets, and counted there: the index is matched once, not twice
        total, hidden = facets.keep_index_hits(db, table, match, (hidden_sql, hidden_args))
    else:
        total, hidden = _sql(db, f"SELECT (SELECT count(*) FROM {table} WHERE {table} MATCH ?), "
                                 f"(SELECT count(*) FROM ({hidden_sql}) h)", [match] + hidden_args).fetchone()
    count = total - hidden
    try:
        if total <= BM25_MAX_HITS:
            return count
        picked, ranks = _walk_tiers(db, tiers, vis, start + rows, hidden)
        return count, picked[start:], facets.of_kept_hits(db, facet_spec, count) if facet_spec else {}, ranks
    finally:
        if facet_spec:
            facets.drop_hits(db)


def _walk_tiers(db, tiers, vis, need, hidden):
    """The first `need` visible package ids, tier by tier (tiers() gives their queries), newest first in each,
    and {package id: its tier's rank}."""
    vis_where, vis_args = vis
    picked, seen, ranks = [], set(), {}
    for sql, args, rank in tiers():
        # Enough rows for the page even if every hidden hit and every one already picked comes first; the
        # limit lets PostgreSQL walk its rowid index newest first and stop, as SQLite's cursor does.
        cur = _sql(db, sql + " LIMIT ?", args + [need + hidden + len(seen)])
        while len(picked) < need:
            chunk = [r[0] for r in cur.fetchmany(256)]
            if not chunk:
                break
            fresh = [d for d in chunk if d not in seen]
            seen.update(chunk)
            if fresh:
                marks = ",".join("?" * len(fresh))
                ok = dict(_sql(db, f"SELECT d.doc_id, d.package_id FROM search_docs d WHERE d.doc_id IN ({marks}) "
                                     f"AND {vis_where}", fresh + vis_args).fetchall())
                picked += [ok[d] for d in fresh if d in ok]
                ranks.update((ok[d], rank) for d in fresh if d in ok)
        cur.close()
        if len(picked) >= need:
            break
    return picked[:need], ranks


_RESTRICTED = {"search_trigram": "search_restricted_trigram", "search_loose": "search_restricted_loose"}


def _hidden_hits(recall, vis):
    """SQL (and args) of the doc_ids among a text search's hits the viewer may not see: only the restricted
    entries' own small twin table is matched, so no hit is looked up one by one."""
    table, match = recall
    twin = _RESTRICTED[table]
    vis_where, vis_args = vis
    return (f"SELECT d.doc_id FROM search_docs d WHERE d.doc_id IN (SELECT rowid FROM {twin} WHERE {twin} MATCH ?) "
            f"AND NOT ({vis_where})", [match] + vis_args)


def _tier_queries(terms, trigram_match, expand):
    """Rowid-descending (newest first) queries for each ranking tier, best tier first, with the tier's rank
    (expand: the MATCH text of forms shorter than a trigram, searchsql.fts_form)."""
    def words_phrases(t, column=None):
        phrases = [fts_phrase(" ".join(words(f))) for f in variants(t) if words(f)]
        body = "(" + " OR ".join(phrases) + ")"
        return ("{%s} : %s" % (column, body)) if column else body

    def trigram_phrases(t, column):
        return "{%s} : (%s)" % (column, " OR ".join(fts_form(f, expand) for f in variants(t)))

    tiers = []
    if all(any(words(f) for f in variants(t)) for t in terms):
        tiers.append(("SELECT rowid FROM search_words WHERE search_words MATCH ? ORDER BY rowid DESC",
                      [" AND ".join(words_phrases(t, "title") for t in terms)], 3))
    tiers.append(("SELECT rowid FROM search_trigram WHERE search_trigram MATCH ? ORDER BY rowid DESC",
                  [" AND ".join(trigram_phrases(t, "title") for t in terms)], 2))
    if all(any(words(f) for f in variants(t)) for t in terms):
        tiers.append(("SELECT rowid FROM search_words WHERE search_words MATCH ? ORDER BY rowid DESC",
                      [" AND ".join(words_phrases(t) for t in terms)], 1))
    tiers.append(("SELECT rowid FROM search_trigram WHERE search_trigram MATCH ? ORDER BY rowid DESC", [trigram_match], 0))
    return tiers


def _unfiltered_count(db, vis_where, vis_args, sees):
    """Visible datasets with no query: the public active ones (a count every index write keeps) plus the
    restricted ones the caller may see (`sees`: whether there can be any)."""
    public = _sql(db, "SELECT public_docs FROM search_generation WHERE id = 1").fetchone()[0]
    if not sees:
        return public
    return public + _sql(db, f"SELECT count(*) FROM search_docs d WHERE {RESTRICTED_DOCS} AND {vis_where}",
                         vis_args).fetchone()[0]


def visible_counts(db, viewer, field):
    """{value: number of active datasets the viewer may see} of one indexed field (e.g. owner_org, groups)."""
    return dict(facets.unfiltered(db, field, *_visibility(viewer, True, False, False)))


LOOSE_COLUMNS = ("title", "body", "roman_title", "roman_body")   # search_loose's and search_restricted_loose's


def find_loose(db, viewer, query, filter_queries, include, sort, rows, start, facet_spec):
    """(count, package ids of one page, {field: [(value, n)]}, {package id: rank}) of a forgiving search.

    query: (the exact terms, each term's forms, the whole query's forms), forms being {"exact", "loose", "roman"}
    lists (catalog/forgiving.py); a dataset matches when it holds one form of every term. Sorted by score, the
    ranks go first: 3 the exact query matches, 2 the whole query is in the title, 1 every term is, 0 others."""
    exact_terms, term_forms, whole = query
    where, args, _ = _visibility(viewer, *include)
    vis = (where, list(args))
    expand = expander(db)
    pure, loose_where, loose_args = [], [], []
    for forms in term_forms:
        group = _loose_group(forms, ("title", "body"), ("roman_title", "roman_body"))
        short = [f for f in forms["exact"] if len(f) < 3]
        if group and not short:
            pure.append(group)
            continue
        parts, pargs = [], []
        if group:
            parts.append("d.doc_id IN (SELECT rowid FROM search_loose WHERE search_loose MATCH ?)")
            pargs.append(group)
        for f in short:   # shorter than a trigram: found as the exact search finds it (searchsql.text_condition)
            match = expand(f)
            parts.append("d.doc_id IN (SELECT rowid FROM search_trigram WHERE search_trigram MATCH ?)" if match
                         else "instr(d.text, ?) > 0")
            pargs.append(match or f)
        loose_where.append("(" + (" OR ".join(parts) or "0=1") + ")")
        loose_args += pargs
    recall_join, recall_args = "", []
    if pure:
        recall_join = "(SELECT sl.rowid AS rid FROM search_loose sl WHERE search_loose MATCH ?) t CROSS JOIN"
        recall_args = [" AND ".join(pure)]
        where = f"d.doc_id = t.rid AND {where}"
    for cond in loose_where:
        where += f" AND {cond}"
    args += loose_args
    for fq in filter_queries:
        cond, cargs = compile_node(parse(str(fq)))
        where += f" AND {cond}"
        args += cargs
    exact = [text_condition(t, None, expand) for t in exact_terms]
    # The title ranks, as (rank, MATCH text): the whole query in the title, then every term in it.
    title = [_loose_group(f, ("title",), ("roman_title",)) for f in term_forms]
    in_title = [(rank, " AND ".join(groups)) for rank, groups in
                ((2, [_loose_group(whole, ("title",), ("roman_title",))]), (1, title)) if all(groups)]
    if len(in_title) == 2 and in_title[0][1] == in_title[1][1]:
        in_title.pop()   # one term: "every term in the title" is the whole query in it, found at rank 2 already
    exact_match, exact_tri = trigram_query(exact_terms, expand)
    if (pure and not loose_where and not filter_queries and not facet_spec and exact_match
            and len(exact_tri) == len(exact_terms) and _sort_clause(sort) == _sort_clause(DEFAULT_SORT)):
        # A large hit set is paged by walking the ranks newest first, as the exact search does.
        full = " AND ".join(pure)
        loose_sql = "SELECT rowid FROM search_loose WHERE search_loose MATCH ? ORDER BY rowid DESC"

        def tiers():
            out = [("SELECT rowid FROM search_trigram WHERE search_trigram MATCH ? ORDER BY rowid DESC",
                    [exact_match], 3)]
            out += [(loose_sql, [f"{match} AND {full}"], rank) for rank, match in in_title]
            return out + [(loose_sql, [full], 0)]

        hit = _run_ranked_stream(db, ("search_loose", full), tiers, vis, rows, start)
        if not isinstance(hit, int):
            return hit
        known = hit
    else:
        known = None
    first = "CASE WHEN " + " AND ".join(c for c, _ in exact) + " THEN 3 "
    first_args = [a for _, cargs in exact for a in cargs]
    for rank, match in in_title:
        first += f"WHEN d.doc_id IN (SELECT rowid FROM search_loose WHERE search_loose MATCH ?) THEN {rank} "
        first_args.append(match)
    first += "ELSE 0 END"
    return _run(db, (recall_join, recall_args), (where, args), exact_terms, None, sort, rows, start, facet_spec,
                first=(first, first_args), count=known)


def _loose_group(forms, loose_columns, roman_columns):
    """FTS5 MATCH text of one term's loose and romanised forms in the given columns, or None.

    A form of both kinds is matched once, in both kinds' columns (with no column filter when they are all of
    search_loose's): `{title body} : ("khonkaen") OR {roman_title roman_body} : ("khonkaen")` read the phrase's
    trigrams twice and merged the two (9.4 ms to count at 100,000 datasets, against 6.3 ms as "khonkaen" alone;
    23 ms against 10-13 for chiang rai misspelt)."""
    columns = {}
    for f in forms["loose"]:
        columns.setdefault(f, []).extend(loose_columns)
    for f in forms["roman"]:
        columns.setdefault(f, []).extend(roman_columns)
    by_columns = {}
    for f, cols in columns.items():
        by_columns.setdefault(tuple(cols), []).append(f)
    parts = []
    for cols, group in by_columns.items():
        phrases = "(" + " OR ".join(fts_phrase(f) for f in group) + ")"
        parts.append(phrases if set(cols) == set(LOOSE_COLUMNS) else "{%s} : %s" % (" ".join(cols), phrases))
    return "(" + " OR ".join(parts) + ")" if parts else None


def _run(db, recall, filters, terms, trigram_match, sort, rows, start, facet_spec, unfiltered=False, first=None,
         sees=True, count=None):
    """Count, rank one page and count facets; returns (count, package ids, {field: [(value, n)]}), and with
    `first` (an SQL rank put before the sort's when it sorts by score, and its args) {package id: that rank}.
    count: the hits' number when the caller has it already (no hit is looked up when it is 0)."""
    (recall_join, recall_args), (where, where_args) = recall, filters
    base = f"FROM {recall_join} search_docs d WHERE {where}"
    base_args = recall_args + where_args
    hits_kept = bool(facet_spec) and not unfiltered
    if unfiltered:
        count = _unfiltered_count(db, where, where_args, sees)
    elif hits_kept:
        # Facets will need the hits: keep them once in a keyed temp table (this connection's own) and count it.
        count = facets.keep_hits(db, f"SELECT d.doc_id {base}", base_args)
    elif count is None:
        count = _sql(db, f"SELECT count(*) {base}", base_args).fetchone()[0]
    ids, facet_counts, ranks = [], {}, {}
    if count and start < count:
        joins, join_args, score, score_args = [], [], "0.0", []
        if terms and "score" in sort:
            words_match = words_query(terms)
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
            score, score_args = score_expr(terms, bool(words_match), with_bm25 and bool(trigram_match))
        first_sql, first_args = first or ("0", [])
        order = _sort_clause(sort, bool(terms))
        if first and "score" in sort:
            # Among equally good forgiving matches the shorter title is the closer one (as bm25's length
            # normalisation has it for exact matches).
            order = "first_rank DESC, " + order.replace("score DESC", "score DESC, length(d.title_sort) ASC", 1)
        page_sql = (f"SELECT d.package_id, {score} AS score, {first_sql} AS first_rank FROM {recall_join} search_docs d "
                    f"{' '.join(joins)} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?")
        page_args = score_args + first_args + recall_args + join_args + where_args + [rows, start]
        page = _sql(db, page_sql, page_args).fetchall()
        ids = [r[0] for r in page]
        ranks = {r[0]: r[2] for r in page}
    if facet_spec:
        facet_counts = (facets.of_everything(db, facet_spec, where, where_args, sees) if unfiltered
                        else facets.of_kept_hits(db, facet_spec, count))
    if hits_kept:
        facets.drop_hits(db)
    return (count, ids, facet_counts, ranks) if first else (count, ids, facet_counts)
