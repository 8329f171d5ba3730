"""On PostgreSQL each node searches its own SQLite copy of the search index (catalog/store/searchreplica.py):
it answers exactly as PostgreSQL's own search does, follows every write before the next search, and is built
in the background while PostgreSQL answers."""
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from catalog import actions
from catalog.integrity import sweep_leftovers
from catalog.settings import Settings
from catalog.store import searchreplica
from catalog.store.searchreplica import replica_stats, warm
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
