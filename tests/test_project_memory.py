"""What the server holds on to between requests: the C heap gives freed blocks back (khlang/heap.py), and the job
thread imports the loaders only once there is a job (ingest/poller.py)."""
import subprocess
import sys
import textwrap
from pathlib import Path

from catalog import actions, jobs
from ingest.poller import work_waiting
from tests.conftest import sysadmin_site

ROOT = Path(__file__).resolve().parent.parent

# Four threads each take 60 chunks of 1 MB, with a small object kept between chunks (as a server's requests do),
# then free the chunks; prints by how many MB the process grew.
CHUNKS = textwrap.dedent("""
    import sys, threading
    from khlang.heap import return_freed_memory
    if sys.argv[1] == "on":
        assert return_freed_memory()
    def rss():
        return int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) // 1024
    kept = []
    def work():
        for _ in range(3):
            chunks = []
            for i in range(60):
                chunks.append(b"x" * (1 << 20))
                kept.append(bytes(200 + i))
            del chunks
    start = rss()
    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(rss() - start)
""")


def _grown_mb(setting):   # "on": with return_freed_memory()
    out = subprocess.run([sys.executable, "-c", CHUNKS, setting], cwd=ROOT, capture_output=True, text=True, check=True)
    return int(out.stdout)


def test_freed_chunks_go_back_to_the_system():
    # With glibc's own settings the process kept 45-64 MB of them in most runs (8 MB in one of a dozen: it
    # depends on how the threads interleave), so that is not asserted; with the server's settings, 0-1 MB.
    assert _grown_mb("on") <= 10


def test_a_job_thread_with_nothing_to_do_imports_no_loader(tmp_path):
    script = textwrap.dedent(f"""
        import sys, time
        from catalog.settings import Settings
        from catalog.store import db
        from ingest.poller import start_thread
        settings = Settings(db_path={str(tmp_path / "khlang.db")!r}, storage_dir={str(tmp_path / "storage")!r})
        db.connect(settings.db_path)
        start_thread(settings, interval=0.05)
        time.sleep(1)
        print(sorted(m for m in ("frictionless", "rdflib", "ingest.worker", "ingest.harvest") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_work_is_waiting_while_a_load_is_pending_and_not_once_a_live_worker_has_it(tmp_path):
    _, db, ctx = sysadmin_site(tmp_path)
    assert not work_waiting(db)
    actions.call(ctx, "organization_create", {"name": "org"})
    pkg = actions.call(ctx, "package_create", {"name": "ds", "owner_org": "org",
                                               "resources": [{"name": "r", "url": "http://example.go.th/r.csv"}]})
    jobs.queue_load(ctx, pkg["resources"][0]["id"], "0" * 64)
    db.commit()
    assert work_waiting(db)
    assert jobs.claim_next(db) is not None
    assert not work_waiting(db)
