"""The spending build re-stages only the sources whose version changed; the rest come from the cache."""
from pathlib import Path

from conftest import REAL_DATA, khlang_cli

MOI = REAL_DATA / "govspending-bbgfproject-moi-2559-2562"


def _stages(env):
    folder = Path(env["KHLANG_DB"]).parent / "storage" / "parquet" / "spending" / "stage"
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.parquet")}


def test_a_small_ingest_restages_only_its_own_source(tmp_path):
    env = {"KHLANG_DB": str(tmp_path / "k.db")}
    khlang_cli("ingest", str(MOI / "ministry_budget_vs_spent_2547-2562.json"), "--source", "mof-ministry",
               "--org", "mof", "--dataset", "mof-totals", env=env)
    monthly = MOI / "moi_monthly_disbursement_fy2548-2562.csv"
    khlang_cli("ingest", str(monthly), "--source", "mof-monthly-moi", "--org", "mof", "--dataset", "moi-monthly",
               env=env)
    before = _stages(env)
    assert len(before) == 2
    changed = tmp_path / monthly.name
    text = monthly.read_text(encoding="utf-8")
    changed.write_text(text.replace("2004-10,3657.661", "2004-10,3657.662"), encoding="utf-8")
    out = khlang_cli("ingest", str(changed), "--source", "mof-monthly-moi", "--org", "mof", "--dataset", "moi-monthly",
                     env=env)
    assert "spending model rebuilt in" in out.stderr
    after = _stages(env)
    kept = set(before) & set(after)
    assert len(kept) == 1 and before[next(iter(kept))] == after[next(iter(kept))]   # MOF's staging untouched
    assert len(after) == 2                                                            # the old monthly one pruned
    again = khlang_cli("ingest", str(changed), "--source", "mof-monthly-moi", "--org", "mof", "--dataset",
                       "moi-monthly", env=env)
    assert "spending model unchanged" in again.stderr
