"""Thai-aware dataset search: FTS5 trigram for recall, pythainlp words for ranking, SQL facets."""
import threading
from collections import OrderedDict

from . import actionschema, auth, forgiving, licenses
from .errors import SearchQueryError, ValidationError
from .params import as_bool, as_int, as_list
from .dicts import package_dicts
from .querysyntax import parse
from .thaitext import is_thai, is_word, normalize, words
from .store import groups as group_store
from .store import search as search_store
from .store import searchindex as index_store
from .store.searchreplica import searcher
from .store.search import DEFAULT_SORT
from .store.searchsql import plain_terms, variants

ROWS_DEFAULT, ROWS_MAX = 10, 1000
FACET_LIMIT_DEFAULT = 50
VALID_PARAMS = set(actionschema.parameters("package_search"))   # declared in actions.schema.json


def _facet_title(field, value, group_titles):
    if field in ("organization", "groups"):
        return group_titles.get(value) or value
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
        raise ValidationError({"facet.field": ["Not a valid JSON list"]})
    facet_limit = as_int(data, "facet.limit", FACET_LIMIT_DEFAULT, minimum=None)
    facet_mincount = as_int(data, "facet.mincount", 1)
    want_facets = as_bool(data, "facet", True)
    include_private = as_bool(data, "include_private", False)
    include_drafts = as_bool(data, "include_drafts", False)
    include_deleted = as_bool(data, "include_deleted", False)
    exact_only = as_bool(data, "khlang_exact", False)
    fl = as_list(data, "fl", None)

    q_node = parse(q)
    filter_queries = [fq for fq in [data.get("fq")] + list(as_list(data, "fq_list", []) or []) if fq]
    facet_spec = (tuple(facet_fields), facet_limit, facet_mincount) if want_facets and facet_fields else None
    viewer = auth.viewer(ctx)
    include = (include_private, include_drafts, include_deleted)
    key = (q, tuple(str(fq) for fq in filter_queries), include, _viewer_key(viewer), rows, start, sort, facet_spec,
           exact_only)
    generation = search_store.generation(ctx.db)
    # A relative date (NOW-1DAY) means another answer as time passes: such searches are not cached.
    cacheable = "NOW" not in " ".join([q, *key[1]]).upper()
    hit = _cache_get(ctx, generation, key) if cacheable else None
    if hit is None:
        with searcher(ctx.db, generation, ctx.settings.search_replica, ctx.settings.search_copy_dir) as index_db:
            hit = search_store.find(index_db, viewer, (q, q_node), filter_queries, include, sort, rows, start,
                                    facet_spec)
            hit = (*hit, {}, "exact", None)
            terms = plain_terms(q_node) if q and not exact_only else None
            if terms and hit[0] < forgiving.FEW:
                hit = _widen(ctx, index_db, viewer, terms, (filter_queries, include, sort, rows, start, facet_spec),
                             hit)
        if cacheable:
            _cache_put(ctx, generation, key, hit)
    count, ids, facet_counts, ranks, tier, corrected = hit

    results = package_dicts(ctx, ids)
    if tier != "exact":
        for r in results:
            r["khlang_match"] = "exact" if ranks.get(r["id"]) == 3 and tier != "typo" else tier
    if fl:
        results = [{k: r.get(k) for k in fl} for r in results]
    facets, search_facets = {}, {}
    # Every organization and group named in the facets, titled with one query.
    titles = group_store.titles_named(ctx.db, {v for field in ("organization", "groups")
                                               for v, _ in (facet_counts or {}).get(field, [])})
    facet_sort = str(data.get("facet.sort") or "count")
    if facet_sort not in ("count", "index"):
        raise SearchQueryError('facet.sort must be "count" or "index"')
    for field, counts in (facet_counts or {}).items():
        if facet_sort == "index":   # the values (of the top facet.limit) in name order, as Solr's facet.sort=index
            counts = sorted(counts, key=lambda vn: str(vn[0]))
        facets[field] = dict(counts)
        items = [{"name": v, "display_name": _facet_title(field, v, titles), "count": n} for v, n in counts]
        items.sort(key=lambda i: i["display_name"], reverse=True)
        search_facets[field] = {"title": field, "items": items}
    out = {"count": count, "results": results, "facets": facets, "search_facets": search_facets, "sort": sort,
           "khlang_match": tier}
    if corrected:
        out["khlang_corrected"] = corrected
    return out


def _widen(ctx, index_db, viewer, terms, rest, hit):
    """The exact hit widened tier by tier (catalog/forgiving.py) until a tier finds enough, as
    (count, ids, facets, {package id: rank}, tier shown, corrected query or None); index_db is where the
    index is searched (searcher())."""
    best = hit

    def run(tier, term_forms, corrected=None):
        nonlocal best
        # A corrected query's own exact matches rank first, as a query typed right would have them.
        typed = corrected.split() if corrected else terms
        whole = forgiving.forms("".join(typed), tier, lambda t: [t])
        found = search_store.find_loose(index_db, viewer, (typed, term_forms, whole), *rest)
        if found[0] > best[0]:
            best = (*found, tier, corrected)
        return best[0] >= forgiving.FEW

    for tier in forgiving.TIERS[1:-1]:
        tier_terms = forgiving.tier_terms(terms, tier)
        if any(forgiving.widens(t, tier) for t in tier_terms):
            if run(tier, [forgiving.forms(t, tier, variants) for t in tier_terms]):
                return best
    fixes = _corrections(ctx, terms)
    if fixes:
        # The corrected query is searched ("showing results for ..."), its exact matches first; a corrected
        # run of Thai words may be several words (ผู้ป่วยโรงพยบาล → ผู้ป่วย โรงพยาบาล).
        corrected, term_forms = " ".join(fixes.get(t, t) for t in terms), []
        for t in terms:
            fixed = fixes.get(t, t).split()
            if len(fixed) == 1:   # the word or its correction: what the word found as typed stays found
                own, fix = forgiving.forms(t, "english", variants), forgiving.forms(fixed[0], "english", variants)
                term_forms.append({k: own[k] + [f for f in fix[k] if f not in own[k]] for k in own})
            else:
                term_forms += [forgiving.forms(w, "english", variants) for w in fixed]
        run("typo", term_forms, corrected)
    return best


def _corrections(ctx, terms):
    """{query word: its correction} for the long words the index does not have: the vocabulary word one edit
    away, or for a run of Thai words, the misspelt word among them corrected (_correction_in_run)."""
    out = {}
    for t in terms:
        if not forgiving.correctable(t):
            continue
        word = normalize(t)
        if _known(ctx, word):
            continue   # a word the index has is not a typo
        fix = _correction(ctx, word)
        if fix is None and is_thai(word):
            fix = _correction_in_run(ctx, words(word))
        if fix:
            out[t] = fix
    return out


def _known(ctx, word):
    """Whether the index's vocabulary has the word."""
    return any(w == word for w, _ in index_store.near_words(ctx.db, [word]))


def _correction(ctx, word):
    """The vocabulary word one edit from a word, or None."""
    return forgiving.best_correction(word, index_store.near_words(ctx.db, forgiving.edits(word))) \
        if forgiving.correctable(word) else None


def _correction_in_run(ctx, parts):
    """A run of Thai words typed without spaces with one misspelt among them (รายงานทะเบยนวัด): the words
    around it known (dictionary or index words), the segments between corrected as one word; the words,
    space separated (รายงาน ทะเบียน วัด), or None."""
    if len(parts) > 8:
        return None
    known = [is_word(p) or _known(ctx, p) for p in parts]
    for size in range(1, len(parts) + 1):           # the fewest segments taken for the misspelt word first
        for i in range(0, len(parts) - size + 1):
            j = i + size
            if (i or j < len(parts)) and all(known[:i]) and all(known[j:]):
                fix = _correction(ctx, "".join(parts[i:j]))
                if fix:
                    return " ".join(x for x in ("".join(parts[:i]), fix, "".join(parts[j:])) if x)
    return None


def visible_counts(ctx, field):
    """{value: number of active datasets the caller may see} of one indexed field (e.g. owner_org, groups)."""
    with searcher(ctx.db, search_store.generation(ctx.db), ctx.settings.search_replica,
                  ctx.settings.search_copy_dir) as index_db:
        return search_store.visible_counts(index_db, auth.viewer(ctx), field)


def _viewer_key(viewer):
    return (viewer["user_id"], viewer["sysadmin"], tuple(viewer["member_orgs"] or ()) if viewer["member_orgs"] is not None
            else None, tuple(viewer["editor_orgs"] or ()) if viewer["editor_orgs"] is not None else None,
            tuple(viewer["collab_read"]), tuple(viewer["collab_edit"]))


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
