"""On PostgreSQL each node searches its own SQLite copy of the search index (catalog/store/searchreplica.py):
it answers exactly as PostgreSQL's own search does, follows every write before the next search, and is built
in the background while PostgreSQL answers."""
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pytest

from catalog import actions
from catalog.context import Context
from catalog.integrity import sweep_leftovers
from catalog.settings import Settings
from catalog.store import db as catalog_db
from catalog.store import searchreplica
from catalog.store.searchreplica import replica_stats, warm
from catalog.users import create_user
from conftest import BACKEND
from khlang.localpg import cluster
from test_catalog_postgresql import QUERIES, _answer, _catalogue

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="runs in the PostgreSQL pass of make test")


def _pair(ctx):
    """The same catalogue searched through the node's copy and on PostgreSQL itself, neither cached."""
    settings = replace(ctx.settings, search_cache_size=0)
    return replace(ctx, settings=settings), replace(ctx, settings=replace(settings, search_replica=False))


def _entries(ctx):
    return ctx.db.execute("SELECT count(*) FROM search_docs").fetchone()[0]


def _same(copy, direct, params):
    got = _answer(copy, params)
    assert got == _answer(direct, params), params
    return got


def test_a_node_searches_its_copy_of_the_index_and_answers_as_postgresql_does(tmp_path):
    ctx, admin = _catalogue(cluster().new_database(), tmp_path)
    copy, direct = _pair(ctx)
    for params in QUERIES + [{"q": "ภาษี", "rows": 1000}, {"q": "สถิติ", "fq": "-organization:*"}]:
        _same(copy, direct, params)
    for params in ({"q": "จังหวัด", "include_private": True}, {"q": "", "include_private": True, "rows": 30}):
        _same(replace(copy, user=admin), replace(direct, user=admin), params)
    # Forgiving tiers: folded, romanised and a typo, all through the copy.
    for q in ("งบประมาน", "ngop praman", "budjet", "โรงเรยน"):
        out = actions.call(copy, "package_search", {"q": q})
        assert out == actions.call(direct, "package_search", {"q": q}), q
    assert replica_stats()[ctx.settings.db_path] == (_entries(ctx), True)


def test_the_copy_follows_every_write_before_the_next_search(tmp_path):
    ctx, admin = _catalogue(cluster().new_database(), tmp_path)
    copy, direct = _pair(ctx)
    sysadmin = replace(ctx, user=admin)
    org = actions.call(sysadmin, "organization_list", {})[0]
    facet = {"q": "", "facet.field": '["organization"]', "facet.limit": -1, "rows": 0}
    before = _same(copy, direct, facet)
    assert _same(copy, direct, {"q": "สำเนาดัชนีทดสอบ"})[0] == 0
    pkg = actions.call(sysadmin, "package_create", {"name": "replica-probe", "title": "สำเนาดัชนีทดสอบ ครั้งแรก",
                                                     "owner_org": org})
    assert _same(copy, direct, {"q": "สำเนาดัชนีทดสอบ"}) == (1, ["replica-probe"], {})
    assert _same(copy, direct, facet) != before
    actions.call(sysadmin, "package_patch", {"id": pkg["id"], "title": "ชุดข้อมูลเปลี่ยนชื่อแล้ว"})
    assert _same(copy, direct, {"q": "สำเนาดัชนีทดสอบ"})[0] == 0
    assert _same(copy, direct, {"q": "เปลี่ยนชื่อแล้ว"})[1] == ["replica-probe"]
    actions.call(sysadmin, "package_patch", {"id": pkg["id"], "private": True})
    assert _same(copy, direct, {"q": "เปลี่ยนชื่อแล้ว"})[0] == 0
    assert _same(replace(copy, user=admin), replace(direct, user=admin),
                 {"q": "เปลี่ยนชื่อแล้ว", "include_private": True})[0] == 1
    assert _same(copy, direct, facet) == before
    actions.call(sysadmin, "package_delete", {"id": pkg["id"]})
    actions.call(sysadmin, "dataset_purge", {"id": pkg["id"]})
    assert _same(replace(copy, user=admin), replace(direct, user=admin),
                 {"q": "เปลี่ยนชื่อแล้ว", "include_private": True, "include_deleted": True})[0] == 0
    assert replica_stats()[ctx.settings.db_path] == (_entries(ctx), True)


def test_a_copy_missing_many_entries_is_built_in_the_background_while_postgresql_answers(tmp_path, monkeypatch):
    # Small thresholds stand in for a catalogue of 100,000 datasets: the copy is built batch by batch.
    monkeypatch.setattr(searchreplica, "INLINE_MAX", 20)
    monkeypatch.setattr(searchreplica, "BATCH", 64)
    ctx, _ = _catalogue(cluster().new_database(), tmp_path)
    copy, direct = _pair(ctx)
    first = _same(copy, direct, {"q": "งบประมาณ"})
    url = ctx.settings.db_path
    deadline = time.monotonic() + 60
    while not replica_stats()[url][1]:
        assert time.monotonic() < deadline, "the copy was never built"
        time.sleep(0.05)
    assert replica_stats()[url] == (_entries(ctx), True)
    assert _same(copy, direct, {"q": "งบประมาณ"}) == first
    for params in QUERIES[:8]:
        _same(copy, direct, params)


def test_the_copy_of_a_killed_node_is_removed_when_a_node_starts(tmp_path):
    url = cluster().new_database()
    # A node process that holds a copy, then dies by SIGKILL (no exit handlers run).
    script = ("import os; from catalog.store import searchreplica as r; "
              f"r.warm({url!r}); print(r._replicas[{url!r}].folder, flush=True); os.kill(os.getpid(), 9)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=Path(__file__).parent.parent)
    dead = Path(out.stdout.strip())
    assert out.returncode == -9 and dead.is_dir()
    warm(url)
    alive = searchreplica._replicas[url].folder
    removed = sweep_leftovers(Settings(db_path=url, storage_dir=str(tmp_path / "storage")))
    assert str(dead) in removed and not dead.exists()
    assert alive.is_dir()   # this running node's own copy stays


def test_metrics_show_how_many_entries_the_nodes_copy_holds_and_that_searches_use_it(tmp_path):
    from web import create_app

    ctx, _ = _catalogue(cluster().new_database(), tmp_path)
    client = create_app({"SETTINGS": ctx.settings, "TESTING": True}).test_client()
    assert client.get("/api/3/action/package_search?q=งบประมาณ").status_code == 200
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f'khlang_search_copy{{state="entries"}} {float(_entries(ctx))}' in metrics
    assert 'khlang_search_copy{state="in_use"} 1.0' in metrics


def _first_process(url, keep):
    """A node process that builds its copy in `keep`, then ends as a stopped node does; the entries it held."""
    script = ("import time; from catalog.store import searchreplica as r; "
              f"r.warm({url!r}, {str(keep)!r})\n"
              f"while not r.replica_stats()[{url!r}][1]: time.sleep(0.05)\n"
              f"print(r.replica_stats()[{url!r}][0])")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parent.parent)
    return int(out.stdout.strip())


def _copied(monkeypatch):
    """The entries this process copies from the catalogue into its copy, as they are copied."""
    copied = []
    real = searchreplica._add
    monkeypatch.setattr(searchreplica, "_add", lambda rep, pg, docs: copied.extend(docs) or real(rep, pg, docs))
    return copied


def test_a_kept_copy_is_caught_up_by_the_nodes_next_process_instead_of_built_again(tmp_path, monkeypatch):
    ctx, admin = _catalogue(cluster().new_database(), tmp_path)
    keep = tmp_path / "copies"
    held = _first_process(ctx.settings.db_path, keep)
    assert held == _entries(ctx) > 700 and list(keep.glob("khlang-search-copy-*-0/search.sqlite"))
    # While the node was down: a dataset made, one purged, one made private.
    sysadmin = replace(ctx, user=admin)
    org = actions.call(sysadmin, "organization_list", {})[0]
    actions.call(sysadmin, "package_create", {"name": "kept-probe", "title": "สำเนาที่เก็บไว้ทดสอบ", "owner_org": org})
    copy, direct = _pair(replace(ctx, settings=replace(ctx.settings, search_copy_dir=str(keep))))
    gone, hidden = [p["name"] for p in actions.call(direct, "package_search", {"q": "งบประมาณ", "rows": 2})["results"]]
    actions.call(sysadmin, "package_delete", {"id": gone})
    actions.call(sysadmin, "dataset_purge", {"id": gone})
    actions.call(sysadmin, "package_patch", {"id": hidden, "private": True})
    copied = _copied(monkeypatch)
    searchreplica.close_all()   # this process starts as the node's next one: no copy of its own yet
    assert _same(copy, direct, {"q": "สำเนาที่เก็บไว้ทดสอบ"}) == (1, ["kept-probe"], {})
    found = _same(copy, direct, {"q": "งบประมาณ", "rows": 1000})[1]
    assert gone not in found and hidden not in found
    for params in QUERIES[:10]:
        _same(copy, direct, params)
    assert replica_stats()[ctx.settings.db_path] == (_entries(ctx), True)
    assert len(copied) == 2   # the new dataset and the one made private (indexed again), not every entry


def test_a_kept_copy_of_a_database_made_anew_under_the_same_name_is_built_again(tmp_path):
    name = f"kept_{tmp_path.name[-12:].lower().replace('-', '_')}"
    url = cluster().new_database(name)
    ctx, _ = _catalogue(url, tmp_path)
    keep = tmp_path / "copies"
    _first_process(url, keep)
    ctx.db.close()
    cluster()._admin(f"DROP DATABASE {name} WITH (FORCE)")
    assert cluster().new_database(name) == url
    # The new catalogue numbers its one entry 1, as the old one numbered its first.
    copy, direct = _pair(_one_dataset(url, replace(ctx.settings, search_copy_dir=str(keep))))
    searchreplica.close_all()
    assert _same(copy, direct, {"q": "ชุดข้อมูลใหม่ทดสอบ"}) == (1, ["anew"], {})
    assert _same(copy, direct, {"q": "งบประมาณ"})[0] == 0
    assert replica_stats()[url] == (1, True)


def _one_dataset(url, settings):
    """An anonymous context on a catalogue of one dataset, "anew" (ชุดข้อมูลใหม่ทดสอบ)."""
    db = catalog_db.connect(url)
    row = create_user(db, "root", email="root@example.go.th", password="password-123", sysadmin=True)
    sysadmin = Context(db=db, settings=settings, user={"id": row["id"], "name": "root", "sysadmin": True},
                       site_url="http://t")
    actions.call(sysadmin, "organization_create", {"name": "org"})
    actions.call(sysadmin, "package_create", {"name": "anew", "title": "ชุดข้อมูลใหม่ทดสอบ", "owner_org": "org"})
    return replace(sysadmin, user=None)


@pytest.mark.parametrize("spoil", ["not a database", "another schema"])
def test_a_kept_copy_that_cannot_be_read_or_trusted_is_built_again(tmp_path, caplog, spoil):
    url = cluster().new_database()
    keep = tmp_path / "copies"
    copy, direct = _pair(_one_dataset(url, Settings(db_path=url, storage_dir=str(tmp_path / "storage"),
                                                    search_copy_dir=str(keep))))
    _first_process(url, keep)
    [kept] = keep.glob("khlang-search-copy-*-0/search.sqlite")
    if spoil == "not a database":
        kept.write_bytes(b"not a SQLite file" * 1000)
    else:   # saved by a Khlang whose migrations differ
        with sqlite3.connect(kept) as con:
            con.execute("UPDATE site_meta SET value = json_set(value, '$.schema', 1) WHERE key = 'search_copy'")
    searchreplica.close_all()
    assert _same(copy, direct, {"q": "ชุดข้อมูลใหม่ทดสอบ"}) == (1, ["anew"], {})
    assert replica_stats()[url] == (1, True)
    assert f"the kept search index copy {kept} is not used" in caplog.text


def test_nodes_on_one_machine_keep_a_copy_each():
    url = "postgresql://khlang@db.example:5432/khlang"
    with tempfile.TemporaryDirectory() as keep:
        first, second = searchreplica._take_slot(Path(keep), url), searchreplica._take_slot(Path(keep), url)
        assert Path(first.name).parent != Path(second.name).parent
        first.close()
        again = searchreplica._take_slot(Path(keep), url)
        assert Path(again.name).parent == Path(first.name).parent
        second.close()
        again.close()


def test_a_copy_folder_that_cannot_be_made_leaves_the_node_searching_with_a_copy_of_its_own(tmp_path, caplog):
    ctx, _ = _catalogue(cluster().new_database(), tmp_path)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    copy, direct = _pair(replace(ctx, settings=replace(ctx.settings, search_copy_dir=str(blocked / "copies"))))
    assert _same(copy, direct, {"q": "งบประมาณ"})[0] > 0
    assert replica_stats()[ctx.settings.db_path] == (_entries(ctx), True)
    assert "KHLANG_SEARCH_COPY_DIR: cannot keep" in caplog.text
