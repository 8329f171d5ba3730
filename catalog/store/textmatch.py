"""The search index's full-text SQL on PostgreSQL: FTS5 MATCH and bm25() turned into pg_trgm-indexed LIKEs.

The search compiler (searchsql) writes FTS5 MATCH text: quoted phrases joined by AND/OR, in parentheses,
with `{column} :` filters. SQLite runs it as written. On PostgreSQL each phrase becomes a LIKE over the
same text (substrings for search_trigram, whole space-separated words for search_words), and bm25()
becomes FTS5's own formula (k1 = 1.2, b = 0.75, the same column weights and token counts), so both
databases find and rank the same datasets."""
import math
import re

K1, B = 1.2, 0.75
COLUMNS = ("title", "tags", "org", "res", "notes")
# ascii tokenizer: every code point but ASCII punctuation, space and control characters is part of a word.
_WORD_RUN = r"[^\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+"
_WORD_RUN_RE = re.compile(r"[^\x01-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+")
_TOKEN = re.compile(r'"((?:[^"]|"")*)"|\{([^}]*)\}|(\()|(\))|(AND|OR)\b|(:)|(\s+)')
_MATCH = re.compile(r"\b(search_trigram|search_words|search_loose|search_restricted_trigram|search_restricted_loose)"
                    r" MATCH \?")
# Trigram tables: a phrase matches as a substring.
_SUBSTRING = ("search_trigram", "search_loose", "search_restricted_trigram", "search_restricted_loose")
_SHORT_WORDS = ("search_trigram", "search_restricted_trigram")
_BM25 = re.compile(r"\bbm25\((search_trigram|search_words), ([0-9., ]+)\)")


def parse(match):
    """[(phrase, columns or None)] joined as a tree: ("phrase", text, cols) | ("and"|"or", [children])."""
    tokens = []
    for m in _TOKEN.finditer(match):
        if m.group(7):
            continue
        if m.group(1) is not None:
            tokens.append(("phrase", m.group(1).replace('""', '"')))
        elif m.group(2) is not None:
            tokens.append(("cols", tuple(m.group(2).split())))
        else:
            tokens.append(("op", m.group(0)))
    tree, rest = _or(tokens, None)
    if rest:
        raise ValueError(f"cannot read the search expression {match!r}")
    return tree


def _or(tokens, cols):
    return _joined(tokens, cols, "OR", _and)


def _and(tokens, cols):
    return _joined(tokens, cols, "AND", _unit)


def _joined(tokens, cols, op, operand):
    """Operands joined by one operator (AND binds tighter than OR, as in FTS5): a node and the tokens left."""
    node, tokens = operand(tokens, cols)
    items = [node]
    while tokens and tokens[0] == ("op", op):
        node, tokens = operand(tokens[1:], cols)
        items.append(node)
    return (items[0] if len(items) == 1 else (op.lower(), items)), tokens


def _unit(tokens, cols):
    kind, value = tokens[0]
    if kind == "phrase":
        return ("phrase", value, cols), tokens[1:]
    if kind == "cols":
        if tokens[1:2] != [("op", ":")]:
            raise ValueError("a column filter needs ':'")
        return _unit(tokens[2:], value)
    if (kind, value) == ("op", "("):
        node, rest = _or(tokens[1:], cols)
        if not rest or rest[0] != ("op", ")"):
            raise ValueError("unbalanced parentheses")
        return node, rest[1:]
    raise ValueError(f"unexpected {value!r}")


def _like(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _phrase_sql(table, alias, phrase, cols):
    """SQL and args true when a row of `table` holds the phrase (in one of `cols`, or anywhere)."""
    if table in _SUBSTRING:
        # FTS5's trigram tokenizer matches nothing shorter than a trigram, but a 2-letter word searched in the
        # trigram index stands for the OR of its trigrams there (shortterms.py): the same entries as a LIKE.
        if len(phrase) < 3 and not (len(phrase) == 2 and table in _SHORT_WORDS):
            return "FALSE", []
        where = [f"{alias}.{c}" for c in cols] if cols else [f"{alias}.alltext"]
        pattern = "%" + _like(phrase) + "%"
    else:
        where = [f"(' ' || {alias}.{c} || ' ')" for c in cols] if cols else [f"{alias}.alltext"]
        pattern = "% " + _like(phrase) + " %"
    # ~~ is LIKE, spelled so the connection leaves it case-sensitive (not ILIKE): the text is already folded,
    # and ILIKE folds every row again (twice the time).
    return "(" + " OR ".join(f"{w} ~~ ?" for w in where) + ")", [pattern] * len(where)


def _tree_sql(table, alias, node):
    if node[0] == "phrase":
        return _phrase_sql(table, alias, node[1], node[2])
    parts = [_tree_sql(table, alias, child) for child in node[1]]
    return "(" + f" {node[0].upper()} ".join(p for p, _ in parts) + ")", [a for _, args in parts for a in args]


def _phrases(node):
    return [node] if node[0] == "phrase" else [p for child in node[1] for p in _phrases(child)]


def _tokens_sql(table, column):
    if table == "search_trigram":
        return f"greatest(char_length({column}) - 2, 0)", []
    return f"regexp_count({column}, ?)", [_WORD_RUN]


def _occurrences_sql(table, column, phrase):
    if table == "search_trigram":
        return (f"((char_length({column}) - char_length(replace({column}, ?, ''))) / ?::float)",
                [phrase, float(len(phrase))])
    return f"regexp_count(' ' || {column} || ' ', ?)", [" " + re.sub(r"([\\.^$|?*+()\[\]{}])", r"\\\1", phrase) + "(?= )"]


def _table_stats(db, table):
    """(rows, average tokens per row) of a text table, from the totals every index write keeps."""
    docs, tokens = db.execute("SELECT docs, tokens FROM search_text_stats WHERE name = ?", (table,)).fetchone()
    return docs, (tokens / docs) if docs else 0.0


def token_count(table, columns):
    """How many tokens FTS5 counts in a row's columns: trigrams, or runs of word characters (ascii tokenizer)."""
    if table == "search_trigram":
        return sum(max(len(c) - 2, 0) for c in columns)
    return sum(len(_WORD_RUN_RE.findall(c)) for c in columns)


def count_row(db, table, columns, sign):
    """Add (sign=1) or remove (sign=-1) one row's share of a text table's totals (PostgreSQL only)."""
    if getattr(db, "dialect", "sqlite") == "postgresql":
        db.execute("UPDATE search_text_stats SET docs = docs + ?, tokens = tokens + ? WHERE name = ?",
                   (sign, sign * token_count(table, columns), table))


def recount(db):
    """Sum the totals afresh from the text tables (after a bulk copy)."""
    for table in ("search_trigram", "search_words"):
        tokens, args = zip(*(_tokens_sql(table, c) for c in COLUMNS))
        db.execute(f"UPDATE search_text_stats SET (docs, tokens) = (SELECT count(*), COALESCE(sum({' + '.join(tokens)}), 0) "
                   f"FROM {table}) WHERE name = ?", [a for part in args for a in part] + [table])


_frequencies = {}   # (database, index generation) -> {(table, phrase, columns): rows holding the phrase}


def document_frequency(db, table, phrase, cols):
    """How many rows of a text table hold the phrase (bm25's idf), kept until the index next changes."""
    # Counting is a pass over every hit (tens of milliseconds for a common word at 100,000 datasets); the
    # generation changes with every index write on any node, so a kept count is never stale.
    generation = db.execute("SELECT generation FROM search_generation WHERE id = 1").fetchone()[0]
    key = (db.url, generation)
    counts = _frequencies.get(key)
    if counts is None:
        _frequencies.clear()
        counts = _frequencies[key] = {}
    found = counts.get((table, phrase, cols))
    if found is None:
        cond, cond_args = _phrase_sql(table, "x", phrase, cols)
        found = db.execute(f"SELECT count(*) FROM {table} x WHERE {cond}", cond_args).fetchone()[0]
        if len(counts) < 10000 and not db.in_transaction:   # an uncommitted write may yet be rolled back
            counts[(table, phrase, cols)] = found
    return found


def _bm25_sql(db, table, alias, weights, match):
    """FTS5's bm25() of one row against a MATCH text, as a SQL expression (negative: better is lower)."""
    rows, avgdl = _table_stats(db, table)
    tokens = [_tokens_sql(table, f"{alias}.{c}") for c in COLUMNS]
    length_sql = "(" + " + ".join(t for t, _ in tokens) + ")"
    length_args = [a for _, args in tokens for a in args]
    terms, args = [], []
    for _, phrase, cols in _phrases(parse(match)):
        hits = document_frequency(db, table, phrase, cols)
        idf = math.log((rows - hits + 0.5) / (hits + 0.5)) if rows else 0.0
        idf = idf if idf > 0 else 1e-6
        freq, freq_args = [], []
        for column, weight in zip(COLUMNS, weights):
            if cols and column not in cols:
                continue
            occ, occ_args = _occurrences_sql(table, f"{alias}.{column}", phrase)
            freq.append(f"{weight} * {occ}")
            freq_args += occ_args
        f = "(" + " + ".join(freq) + ")"
        norm = f"{K1} * (1 - {B} + {B} * {length_sql} / {avgdl or 1.0})"
        terms.append(f"{idf!r} * ({f} * {K1 + 1}) / ({f} + {norm})")
        args += freq_args + freq_args + length_args
    return "(-(" + " + ".join(terms) + "))", args


def execute(db, sql, args=()):
    """Run a search statement: FTS5 MATCH and bm25() become PostgreSQL's own conditions there (rewrite); SQLite
    runs it as written."""
    return db.execute(*rewrite(db, sql, args))


def rewrite(db, sql, args):
    """A search statement with FTS5 MATCH and bm25() in PostgreSQL's terms (unchanged on SQLite)."""
    if getattr(db, "dialect", "sqlite") != "postgresql" or ("MATCH" not in sql and "bm25(" not in sql):
        return sql, args
    args = list(args)
    marks = [m.start() for m in re.finditer(r"\?", sql)]
    matches = [(m.start(), m.end(), m.group(1), marks.index(m.end() - 1)) for m in _MATCH.finditer(sql)]
    edits = []   # (start, end, new sql, index of the first replaced ?, how many ? it replaced, new args)
    for start, end, table, mark in matches:
        alias = _alias(sql, start, table)
        cond, cond_args = _tree_sql(table, alias, parse(args[mark]))
        edits.append((start, end, cond, mark, 1, cond_args))
    for m in _BM25.finditer(sql):
        table = m.group(1)
        start, end, _, mark = next(x for x in matches if x[0] > m.start() and x[2] == table)
        weights = [float(w) for w in m.group(2).split(",")]
        expr, expr_args = _bm25_sql(db, table, _alias(sql, start, table), weights, args[mark])
        before = sum(1 for p in marks if p < m.start())
        edits.append((m.start(), m.end(), expr, before, 0, expr_args))
    out_sql, out_args, pos, used = [], [], 0, 0
    for start, end, new, mark, n, new_args in sorted(edits):
        out_sql.append(sql[pos:start] + new)
        out_args += args[used:mark] + new_args
        used, pos = mark + n, end
    out_sql.append(sql[pos:])
    out_args += args[used:]
    return "".join(out_sql), out_args


def _alias(sql, match_at, table):
    """The name the row of `table` has in the FROM clause nearest before position `match_at`."""
    found = None
    for m in re.finditer(rf"\bFROM {table}(?:\s+(?!WHERE\b)(\w+))?", sql[:match_at]):
        found = m.group(1) or table
    return found or table
