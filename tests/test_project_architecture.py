"""The house rules as tests: catalogue SQL only in the store, no import circles, function-local imports explained."""
import ast
import re
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("catalog", "ingest", "spending", "web", "khlang")
# SQL over the catalogue's tables lives here and nowhere else.
STORES = ("catalog/store/", "spending/store.py")
# DuckDB over Parquet files and staging tables (the data plane): SQL, but never over a catalogue table.
DATA_PLANE = {
    "catalog/datastore/search.py", "catalog/datastore/dumps.py", "catalog/datastore/loads.py",
    "catalog/datastore/usersql.py", "catalog/datastore/sqlguard.py", "catalog/datastore/sqlworker.py",
    "catalog/datastore/tables.py", "catalog/datastore/exports.py", "catalog/datastore/sortpasses.py",
    "catalog/datastore/grams.py",
    "catalog/thaiformats.py",
    "ingest/compiler.py", "ingest/engine.py", "ingest/keys.py", "ingest/loading.py", "ingest/readers.py",
    "ingest/sourcefile.py", "ingest/validation.py",
    "spending/answers.py", "spending/build.py", "spending/fdp.py", "spending/feeds.py", "spending/flags.py",
    "spending/ocds.py", "spending/query.py", "spending/reconcile.py", "spending/redflags.py", "spending/reference.py",
    "spending/scratch.py", "spending/synthetic.py", "catalog/health.py",
    # Not the data plane but the PostgreSQL server itself: creating the throwaway server's databases.
    "khlang/localpg.py",
}
STATEMENT = re.compile(r"^\s*\(?\s*(SELECT|INSERT INTO|UPDATE \S+ SET|DELETE FROM|CREATE|DROP|ALTER TABLE|WITH \w+ AS|"
                       r"PRAGMA|COPY|ATTACH|SET \w+ =|INSTALL|LOAD)\b")


def _modules():
    for package in PACKAGES:
        base = ROOT / package
        files = [base.with_suffix(".py")] if base.with_suffix(".py").exists() else sorted(base.rglob("*.py"))
        for path in files:
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def _strings(tree):
    """(line, text) of every string literal and f-string (its literal parts joined), docstrings left out."""
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    parts_of_fstrings = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    for node in ast.walk(tree):
        if id(node) in docs or id(node) in parts_of_fstrings:
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value
        elif isinstance(node, ast.JoinedStr):
            yield node.lineno, " ".join(v.value if isinstance(v, ast.Constant) else "x" for v in node.values)


def _catalogue_tables():
    names = set()
    for sql in (ROOT / "catalog/store/migrations").glob("*.sql"):
        names |= set(re.findall(r"CREATE (?:VIRTUAL )?TABLE (?:IF NOT EXISTS )?(\w+)", sql.read_text(encoding="utf-8")))
    return names


def test_catalogue_tables_are_read_from_the_migrations():
    assert {"packages", "resources", "groups", "users", "search_docs", "resource_versions"} <= _catalogue_tables()


def test_sql_statements_appear_only_in_the_store_and_the_data_plane():
    found = [f"{path}:{line}: {text.strip()[:60]}" for path, tree in _modules()
             if not path.startswith(STORES) and path not in DATA_PLANE
             for line, text in _strings(tree) if STATEMENT.match(text)]
    assert found == []


def test_no_sql_outside_the_store_names_a_catalogue_table():
    tables = "|".join(sorted(_catalogue_tables()))
    naming = re.compile(rf"\b(FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:temp\.)?({tables})\b")
    found = [f"{path}:{line}: {text.strip()[:60]}" for path, tree in _modules() if not path.startswith(STORES)
             for line, text in _strings(tree) if naming.search(text)]
    assert found == []


def test_the_sql_rule_catches_a_query_outside_the_store():
    tree = ast.parse('def f(db):\n    return db.execute(f"SELECT name FROM packages WHERE id = {1}")\n')
    assert [t for _, t in _strings(tree) if STATEMENT.match(t)]


def _explained(lines, number):
    """True when an import line, or the comment above its block of imports, says why."""
    if "#" in lines[number - 1]:
        return True
    above = number - 2
    while above >= 0 and (not lines[above].strip() or lines[above].strip().startswith(("import ", "from "))):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#")


def test_every_function_local_import_says_why():
    found = []
    for path, tree in _modules():
        lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found += [f"{path}:{node.lineno}: {lines[node.lineno - 1].strip()}" for node in ast.walk(fn)
                          if isinstance(node, (ast.Import, ast.ImportFrom)) and not _explained(lines, node.lineno)]
    assert found == []


def test_an_unexplained_local_import_is_caught():
    lines = ["def f():", "    x = 1", "    import duckdb", "    return duckdb"]
    assert not _explained(lines, 3)
    assert _explained(["def f():", "    # why", "    import a", "    from b import c"], 4)


# What the catalogue store may import from the rest of catalog: leaf helpers that import no action or reader.
STORE_MAY_IMPORT = {"catalog", "catalog.errors", "catalog.gdc", "catalog.params", "catalog.querysyntax",
                    "catalog.settings", "catalog.thaiformats", "catalog.thaitext"}


def test_the_store_is_the_bottom_of_catalog():
    graph = grimp.build_graph("catalog")
    found = sorted(f"{m} imports {imported}" for m in graph.find_descendants("catalog.store")
                   for imported in graph.find_modules_directly_imported_by(m)
                   if not imported.startswith("catalog.store") and imported not in STORE_MAY_IMPORT)
    assert found == []
    helpers = sorted(f"{m} imports {imported}" for m in STORE_MAY_IMPORT - {"catalog"}
                     for imported in graph.find_modules_directly_imported_by(m)
                     if imported not in STORE_MAY_IMPORT)
    assert helpers == []
