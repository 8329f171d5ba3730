"""Facet counts of a dataset search: over every visible dataset (the counts each index write keeps), or over a
search's hits, kept once in a temporary table of the connection's own."""
import heapq
from collections import Counter

from .searchindex import FACETED
from .textmatch import execute

# The entries not everyone may see, read through their partial index (search_docs_hidden): a few thousand at most.
RESTRICTED_DOCS = "(d.state <> 'active' OR d.private = 1)"
# Microseconds, measured at 100,000 datasets: a posting probing the kept hits; a hit's postings looked up; each
# of them grouped (_kept).
FACET_COSTS = (0.15, 1.2, 0.4)


def keep_hits(db, select_sql, args):
    """Keep the doc_ids `select_sql` gives in temp.facet_hits (emptied first); returns how many."""
    execute(db, "CREATE TEMP TABLE IF NOT EXISTS facet_hits (doc_id INTEGER PRIMARY KEY)")
    execute(db, "DELETE FROM temp.facet_hits")
    execute(db, f"INSERT INTO temp.facet_hits {select_sql}", args)
    return execute(db, "SELECT count(*) FROM temp.facet_hits").fetchone()[0]


def drop_hits(db):
    """Empty temp.facet_hits once its facets are counted."""
    execute(db, "DELETE FROM temp.facet_hits")


def of_kept_hits(db, facet_spec, hits):
    """{field: [(value, n)]} over the `hits` hits kept in temp.facet_hits."""
    fields = list(facet_spec[0])
    packed = _packed_counts(db, [f for f in fields if f in FACETED])
    others = [f for f in fields if f not in packed]
    # What each field's postings number, and the datasets they are over: read once for every field.
    postings = dict(execute(db, f"SELECT field, sum(n) FROM search_facet_counts WHERE field IN "
                                f"({','.join('?' * len(others))}) GROUP BY field", others).fetchall()) if others else {}
    docs = execute(db, "SELECT public_docs FROM search_generation WHERE id = 1").fetchone()[0] if others else 0
    return _limited(facet_spec, lambda field: packed[field] if field in packed else
                    _kept(db, field, hits, postings.get(field) or 0, docs))


def _packed_counts(db, fields):
    """{field: [(value, n)]} of the FACETED fields over the kept hits, from each hit's one search_doc_facets row
    (one lookup a hit, where _kept looks a hit up once for each field)."""
    if not fields:
        return {}
    # One string of every hit's ids: half the time of 10,000 one-column rows, each a Python object.
    packed = execute(db, "SELECT group_concat(f.packed, ' ') FROM temp.facet_hits h CROSS JOIN search_doc_facets f "
                         "WHERE f.doc_id = h.doc_id").fetchone()[0]
    counts = Counter((packed or "").split())
    out = {field: [] for field in fields}
    ids = list(counts)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for value_id, field, value in execute(db, "SELECT id, field, value FROM search_facet_values WHERE id IN "
                                                  f"({','.join('?' * len(chunk))})", [int(x) for x in chunk]).fetchall():
            if field in out:
                out[field].append((value, counts[str(value_id)]))
    return out


def keep_index_hits(db, table, match, hidden):
    """Keep a large plain-text search's index hits (`match` in the FTS `table`) in temp.facet_hits, then take
    out the restricted hits the viewer may not see (`hidden`: their SQL and args); returns (hits, of them
    hidden). No hit is joined to search_docs."""
    total = keep_hits(db, f"SELECT rowid FROM {table} WHERE {table} MATCH ?", [match])
    return total, execute(db, f"DELETE FROM temp.facet_hits WHERE doc_id IN ({hidden[0]})", hidden[1]).rowcount


def of_everything(db, facet_spec, vis_where, vis_args, sees):
    """{field: [(value, n)]} over every dataset the viewer may see (see unfiltered)."""
    top = facet_spec[1] if facet_spec[1] is not None and facet_spec[1] >= 0 else None
    return _limited(facet_spec, lambda field: unfiltered(db, field, vis_where, vis_args, sees, top))


def unfiltered(db, field, vis_where, vis_args, sees, top=None):
    """Facet counts over every visible dataset: the maintained public counts plus the caller's others (`sees`:
    whether the visibility vis_where can pass any restricted entry); of the public ones, with `top`, only those
    counted at least as often as the top-th (every tag of the catalogue is thousands of rows)."""
    if top is not None and not sees:
        return execute(db, "SELECT value, n FROM search_facet_counts WHERE field = ? AND n >= coalesce((SELECT n "
                           "FROM search_facet_counts WHERE field = ? AND n > 0 ORDER BY n DESC LIMIT 1 OFFSET ?), 1)",
                       (field, field, max(top - 1, 0))).fetchall()
    public = execute(db, "SELECT value, n FROM search_facet_counts WHERE field = ? AND n > 0", (field,)).fetchall()
    if not sees:
        return public
    counts = dict(public)
    # The restricted entries drive the join (CROSS JOIN keeps them the outer loop on SQLite).
    extra = execute(db,
        "SELECT st.value, count(*) FROM search_docs d CROSS JOIN search_terms st WHERE st.doc_id = d.doc_id "
        f"AND st.field = ? AND {RESTRICTED_DOCS} AND {vis_where} GROUP BY st.value", [field] + vis_args)
    for value, n in extra:
        counts[value] = counts.get(value, 0) + n
    return list(counts.items())


def _kept(db, field, hits, postings, docs):
    """(value, n) of one field over the kept hits."""
    # Two ways to count, whichever reads less (FACET_COSTS): the field's postings, grouped by value in their
    # index, each probing the kept hits; or each hit's own postings of the field, found through its doc_id and
    # grouped after. For tags (4 a dataset) over 10,000 hits the second takes 29 ms where the first takes 63.
    probe, per_hit, per_hit_posting = FACET_COSTS
    if per_hit * hits + per_hit_posting * hits * postings / max(docs, 1) < probe * postings:
        return execute(db, "SELECT st.value, count(*) FROM temp.facet_hits h CROSS JOIN search_terms st "
                           "WHERE st.doc_id = h.doc_id AND st.field = ? GROUP BY st.value", (field,)).fetchall()
    return execute(db, "SELECT st.value, count(*) FROM search_terms st JOIN temp.facet_hits h ON h.doc_id = st.doc_id "
                       "WHERE st.field = ? GROUP BY st.value", (field,)).fetchall()


def _limited(facet_spec, counts_of):
    """{field: [(value, n)]} by count, then value, cut to the facet limit and minimum count."""
    fields, limit, mincount = facet_spec
    least, out = max(mincount, 1), {}
    for field in fields:
        counts = [(v, n) for v, n in counts_of(field) if n >= least]
        if limit is not None and 0 <= limit < len(counts):
            # The top few of thousands (every tag of the catalogue): a heap, not a sort of them all.
            out[field] = heapq.nsmallest(limit, counts, key=_by_count)
        else:
            out[field] = sorted(counts, key=_by_count)
    return out


def _by_count(value_n):
    return -value_n[1], value_n[0]
