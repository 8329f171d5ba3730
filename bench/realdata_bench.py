"""Real-data demo benchmark: `khlang seed-demo` of data/real/ into a fresh catalogue, then the end-to-end
time of `khlang ingest` of a small spending file (the 176-row MOI monthly disbursement, one value changed so
the spending model really rebuilds), as an agency would run it. Prints the figures.

    python bench/realdata_bench.py [ROUNDS]      (default 5)
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MONTHLY = ROOT / "data" / "real" / "govspending-bbgfproject-moi-2559-2562" / "moi_monthly_disbursement_fy2548-2562.csv"
KHLANG = str(Path(sys.executable).with_name("khlang"))


def run(env, *args):
    started = time.perf_counter()
    proc = subprocess.run([KHLANG, *args], env={**os.environ, **env}, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, proc


def main(rounds=5):
    with tempfile.TemporaryDirectory() as tmp:
        env = {"KHLANG_DB": str(Path(tmp) / "khlang.db")}
        seconds, proc = run(env, "seed-demo")
        print(f"seed-demo (1,236 mirrored datasets + 11 real resources + spending build): {seconds:.1f} s")
        print("  " + proc.stdout.strip().splitlines()[-2])
        lines = MONTHLY.read_text(encoding="utf-8").splitlines()
        times, builds = [], []
        for i in range(rounds):
            changed = Path(tmp) / "moi_monthly_disbursement_fy2548-2562.csv"
            first = lines[1].split(",")
            changed.write_text("\n".join([lines[0], f"{first[0]},{float(first[1]) + (i + 1) / 1000:.3f}"] + lines[2:])
                               + "\n", encoding="utf-8")
            seconds, proc = run(env, "ingest", str(changed), "--source", "mof-monthly-moi", "--org", "mof",
                                "--dataset", "moi-monthly-disbursement-fy2548-2562")
            times.append(seconds)
            builds.append(float(proc.stderr.split("rebuilt in ")[1].split(" s")[0]))
        print(f"khlang ingest of the 176-row monthly file, end to end ({rounds} rounds): "
              f"p50 {statistics.median(times):.2f} s, max {max(times):.2f} s (goal < 2 s); "
              f"of which the spending rebuild p50 {statistics.median(builds):.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
