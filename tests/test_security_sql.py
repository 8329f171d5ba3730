"""Attacks on datastore_search_sql and on datastore_search's filter, sort and field parameters, sent by a
real ckanapi client to a real server: each is refused or cut off with the right CKAN error."""
import os

import ckanapi
import pytest

PWNED = "/tmp/khlang-sql-pwned"
ROWS = 3000


@pytest.fixture(scope="module")
def sqlsrv(server_factory):
    srv = server_factory(KHLANG_SQL_TIMEOUT="2", KHLANG_SQL_MEMORY_MB="1024")
    ckan = srv.admin()
    ckan.action.organization_create(name="sql-org")
    pub = ckan.action.package_create(name="sql-public", owner_org="sql-org")
    priv = ckan.action.package_create(name="sql-private", owner_org="sql-org", private=True)
    records = [{"n": i, "name": f"แถว {i}"} for i in range(ROWS)]
    t_pub = ckan.action.datastore_create(resource={"package_id": pub["id"], "name": "t"}, records=records,
                                         fields=[{"id": "n", "type": "int"}, {"id": "name", "type": "text"}])
    t_priv = ckan.action.datastore_create(resource={"package_id": priv["id"], "name": "secret"},
                                          records=[{"secret": "รหัสลับ-42"}])
    return {"srv": srv, "pub": t_pub["resource_id"], "priv": t_priv["resource_id"], "anon": srv.ckan()}


# (name, SQL with {pub}/{priv}/{pwned} placeholders, expected CKAN error, words of which the message has one)
ATTACKS = [
    ("read_csv of a server file", "SELECT * FROM read_csv('/etc/passwd')", "NotAuthorized", "read_csv"),
    ("read_csv_auto", "SELECT * FROM read_csv_auto('/etc/passwd')", "NotAuthorized", "read_csv_auto"),
    ("read_parquet of every version file", "SELECT * FROM read_parquet('**/*.parquet')", "NotAuthorized", "read_parquet"),
    ("parquet_scan", "SELECT * FROM parquet_scan('/etc/passwd')", "NotAuthorized", "parquet_scan"),
    ("glob of the file system", "SELECT * FROM glob('/*')", "NotAuthorized", "glob"),
    ("read_text", "SELECT * FROM read_text('/etc/passwd')", "NotAuthorized", "read_text"),
    ("read_json", "SELECT * FROM read_json('/etc/passwd')", "NotAuthorized", "read_json"),
    ("sniff_csv", "SELECT * FROM sniff_csv('/etc/passwd')", "NotAuthorized", "sniff_csv"),
    ("a file path as a table name", "SELECT * FROM '/etc/passwd'", "ValidationError", "does not exist"),
    ("a quoted file path as a table name", 'SELECT * FROM "/etc/hostname"', "ValidationError", "does not exist"),
    ("file reader in a subquery", 'SELECT * FROM "{pub}" WHERE n IN (SELECT 1 FROM read_csv(\'/etc/passwd\'))',
     "NotAuthorized", "read_csv"),
    ("file reader in a CTE", "WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x", "NotAuthorized",
     "read_csv"),
    ("file reader upper-cased", "SELECT * FROM READ_CSV('/etc/passwd')", "NotAuthorized", "read_csv"),
    ("file reader quoted", "SELECT * FROM \"read_csv\"('/etc/passwd')", "NotAuthorized", "read_csv"),
    ("file reader schema-qualified", "SELECT * FROM main.read_csv('/etc/passwd')", "NotAuthorized", "read_csv"),
    ("query() runs SQL text", "SELECT * FROM query('SELECT 42')", "NotAuthorized", "query"),
    ("query_table()", "SELECT * FROM query_table('{pub}')", "NotAuthorized", "query_table"),
    ("getenv", "SELECT getenv('HOME') AS h", "NotAuthorized", "getenv"),
    ("current_setting", "SELECT current_setting('allowed_directories') AS s", "NotAuthorized", "current_setting"),
    ("version", "SELECT version() AS v", "NotAuthorized", "version"),
    ("COPY to a file", "COPY (SELECT 1) TO '{pwned}'", "NotAuthorized", "SELECT"),
    ("COPY from a file", "COPY \"{pub}\" FROM '/etc/passwd'", "NotAuthorized", "SELECT"),
    ("EXPORT DATABASE", "EXPORT DATABASE '{pwned}'", "NotAuthorized", "SELECT"),
    ("ATTACH a database file", "ATTACH '{pwned}.duckdb' AS x", "NotAuthorized", "SELECT"),
    ("DETACH", "DETACH memory", "NotAuthorized", "SELECT"),
    ("INSTALL an extension", "INSTALL httpfs", "NotAuthorized", "SELECT"),
    ("LOAD an extension", "LOAD httpfs", "NotAuthorized", "SELECT"),
    ("LOAD an extension file", "LOAD '/tmp/evil.duckdb_extension'", "NotAuthorized", "SELECT"),
    ("PRAGMA", "PRAGMA database_list", "NotAuthorized", "SELECT"),
    ("pragma table function", "SELECT * FROM pragma_database_list()", "NotAuthorized", "pragma_database_list"),
    ("SET external access back on", "SET enable_external_access = true", "NotAuthorized", "SELECT"),
    ("RESET", "RESET memory_limit", "NotAuthorized", "SELECT"),
    ("CALL", "CALL pragma_version()", "NotAuthorized", "SELECT"),
    ("CREATE TABLE", "CREATE TABLE x AS SELECT 1", "NotAuthorized", "SELECT"),
    ("CREATE MACRO", "CREATE MACRO m() AS 1", "NotAuthorized", "SELECT"),
    ("DROP the view of a table", 'DROP VIEW "{pub}"', "NotAuthorized", "SELECT"),
    ("INSERT", 'INSERT INTO "{pub}" VALUES (1, 1, \'x\')', "NotAuthorized", "SELECT"),
    ("UPDATE", "UPDATE \"{pub}\" SET name = 'x'", "NotAuthorized", "SELECT"),
    ("DELETE", 'DELETE FROM "{pub}"', "NotAuthorized", "SELECT"),
    ("PREPARE", "PREPARE p AS SELECT 1", "NotAuthorized", "SELECT"),
    ("CHECKPOINT", "CHECKPOINT", "NotAuthorized", "SELECT"),
    ("duckdb_tables()", "SELECT * FROM duckdb_tables()", "NotAuthorized", "duckdb_tables"),
    ("duckdb_settings()", "SELECT * FROM duckdb_settings()", "NotAuthorized", "duckdb_settings"),
    ("duckdb_secrets()", "SELECT * FROM duckdb_secrets()", "NotAuthorized", "duckdb_secrets"),
    ("information_schema", "SELECT * FROM information_schema.tables", "NotAuthorized", "system tables"),
    ("pg_catalog", "SELECT * FROM pg_catalog.pg_tables", "NotAuthorized", "system tables"),
    ("sqlite_master", "SELECT * FROM sqlite_master", "ValidationError", "does not exist"),
    ("another catalogue", "SELECT * FROM system.main.duckdb_tables", "NotAuthorized", "system tables"),
    ("two statements", 'SELECT 1; SELECT * FROM "{pub}"', "ValidationError", "single statement"),
    ("statement after a semicolon", "SELECT 1; ATTACH '{pwned}.duckdb' AS x", "NotAuthorized", "SELECT"),
    ("statement hidden after a block comment", "SELECT 1 /* harmless */; COPY (SELECT 1) TO '{pwned}'",
     "NotAuthorized", "SELECT"),
    ("statement hidden after a line comment", "SELECT 1 --\n; COPY (SELECT 1) TO '{pwned}'", "NotAuthorized", "SELECT"),
    ("breaking out of the wrapping subquery", "SELECT 1) AS a, read_csv('/etc/passwd') AS (b", "ValidationError",
     "syntax"),
    ("fullwidth semicolon", "SELECT 1；COPY (SELECT 1) TO '{pwned}'", "ValidationError", "syntax"),
    ("zero-width space in a function name", "SELECT * FROM read\u200b_csv('/etc/passwd')", "ValidationError", "does not exist"),
    ("Thai digits as a table name", "SELECT * FROM ๑๒๓", "ValidationError", "does not exist"),
    ("private table of someone else", 'SELECT * FROM "{priv}"', "NotAuthorized", "Not authorized"),
    ("private table in a UNION", 'SELECT name FROM "{pub}" UNION ALL SELECT secret FROM "{priv}"', "NotAuthorized",
     "Not authorized"),
    ("private table in a scalar subquery", 'SELECT (SELECT secret FROM "{priv}") AS s', "NotAuthorized",
     "Not authorized"),
    ("a table that does not exist", 'SELECT * FROM "no-such-table"', "ValidationError", "does not exist"),
    ("huge cross join", 'SELECT count(*) AS c FROM "{pub}" a, "{pub}" b, "{pub}" c, "{pub}" d', "ValidationError",
     "cancelled"),
    ("recursive CTE that never ends",
     "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) AS c FROM r",
     "ValidationError", "cancelled"),
    ("recursive CTE that doubles", "WITH RECURSIVE r(s) AS (SELECT 'x' UNION ALL SELECT s || s FROM r) "
                                   "SELECT max(length(s)) AS c FROM r", "ValidationError", "memory|cancelled"),
    ("list bomb", "SELECT sum(x) AS s FROM (SELECT unnest(range(0, 4000000000)) AS x)", "ValidationError",
     "memory|cancelled"),
    ("list too long", "SELECT len(range(0, 100000000000)) AS n", "ValidationError", "larger than"),
    ("string bomb", "SELECT length(repeat('ก', 1000000000)) AS n", "ValidationError", "memory|cancelled"),
    ("sleep", "SELECT sleep_ms(100000)", "NotAuthorized", "sleep_ms"),
]


@pytest.mark.parametrize("name,sql,error,words", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_sql_attack_is_refused_with_the_right_error(sqlsrv, name, sql, error, words):
    text = sql.format(pub=sqlsrv["pub"], priv=sqlsrv["priv"], pwned=PWNED)
    with pytest.raises(getattr(ckanapi.errors, error)) as caught:
        sqlsrv["anon"].action.datastore_search_sql(sql=text)
    assert any(w.lower() in str(caught.value).lower() for w in words.split("|"))
    assert "รหัสลับ" not in str(caught.value) and "root:" not in str(caught.value)
    assert not any(os.path.exists(PWNED + ext) for ext in ("", ".duckdb"))


def test_the_server_answers_normally_after_every_attack(sqlsrv):
    ok = sqlsrv["anon"].action.datastore_search_sql(sql=f'SELECT count(*) AS c FROM "{sqlsrv["pub"]}"')
    assert ok["records"] == [{"c": ROWS}]
    assert sqlsrv["srv"].proc.poll() is None


def test_the_owner_reads_a_private_table_by_sql(sqlsrv):
    got = sqlsrv["srv"].admin().action.datastore_search_sql(sql=f'SELECT secret FROM "{sqlsrv["priv"]}"')
    assert got["records"] == [{"secret": "รหัสลับ-42"}]


# datastore_search parameters: names only from the table's own columns, values only ever bound.
PARAM_ATTACKS = [
    ({"sort": "name; DROP VIEW x"}, "sort"),
    ({"sort": 'name desc, (SELECT 1)'}, "sort"),
    ({"sort": 'n" desc, read_csv(\'/etc/passwd\') --'}, "sort"),
    ({"sort": "n sideways"}, "sort"),
    ({"fields": ['name" FROM read_csv(\'/etc/passwd\') --']}, "fields"),
    ({"fields": ["*"]}, "fields"),
    ({"filters": {'name" = \'\' OR 1=1 --': "x"}}, "filters"),
    ({"filters": {"n": {"$gt": 1}}}, "filters"),
    ({"q": {'name" OR 1=1 --': "x"}}, "q"),
    ({"limit": "1; DROP"}, "limit"),
    ({"offset": -5}, "offset"),
    ({"version": "0"}, "version"),
]


@pytest.mark.parametrize("params,field", PARAM_ATTACKS, ids=[str(p[0]) for p in PARAM_ATTACKS])
def test_datastore_search_parameter_attacks_are_validation_errors(sqlsrv, params, field):
    with pytest.raises(ckanapi.errors.ValidationError) as caught:
        sqlsrv["anon"].action.datastore_search(resource_id=sqlsrv["pub"], **params)
    assert field in caught.value.error_dict


def test_injection_in_filter_and_q_values_is_only_ever_a_value(sqlsrv):
    anon = sqlsrv["anon"]
    assert anon.action.datastore_search(resource_id=sqlsrv["pub"], filters={"name": "x' OR '1'='1"})["total"] == 0
    assert anon.action.datastore_search(resource_id=sqlsrv["pub"], q="'); DROP VIEW t; --")["total"] == 0
    assert anon.action.datastore_search(resource_id=sqlsrv["pub"], filters={"n": 7})["records"][0]["name"] == "แถว 7"
