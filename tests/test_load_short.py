"""The load test in short form: the read mix against a real server while a 100,000-row ingest runs.
It asserts what must hold under load (no errors, nothing lost); the timings are printed, not asserted
(the long form is `make soak`)."""
import json
import subprocess
import sys

from conftest import ROOT


def test_the_read_mix_has_no_errors_while_an_ingest_runs_and_the_ingest_loses_nothing():
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "load.py"), "--rows", "100000", "--clients", "3",
                          "--contracts", "3000", "--json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\nshort load test: {figures['requests']} requests, {figures['throughput_rps']} req/s, "
          f"p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, p99 {figures['p99_ms']} ms, "
          f"errors {figures['errors']}, ingest {figures['ingest_seconds']} s")
    assert figures["errors"] == 0, figures["error_samples"]
    assert figures["requests"] > 50 and set(figures["by_kind"]) == {
        "search", "search page", "dataset page", "datastore_search", "cube aggregate", "csv dump"}
    assert figures["ingest_exit"] == 0 and figures["rows_loaded"] == 100000
    assert figures["server_alive"]
