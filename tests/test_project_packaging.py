"""The package builds and installs, as `make demo` installs it, without a warning from the build."""
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _noise(out):
    # "WARNING: Location ... is ignored" is this machine's pip configuration speaking, not the build.
    return [line for line in (out.stdout + out.stderr).splitlines()
            if re.search(r"warn|deprecat|!!", line, re.I) and not line.startswith("WARNING: Location")]


def test_the_wheel_builds_without_a_warning(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"),
                          str(ROOT)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert _noise(out) == []
    wheel = next((tmp_path / "dist").glob("khlang-*.whl"))
    import zipfile   # only this test opens the wheel

    names = zipfile.ZipFile(wheel).namelist()
    assert "catalog/store/migrations/0016_resource_views.sql" in names and "web/templates/register.html" in names
    assert not any(n.startswith("validators/") for n in names)   # PyPI's `validators` must stay importable


def test_the_editable_install_of_make_demo_prints_no_warning(tmp_path):
    venv.EnvBuilder(with_pip=True).create(tmp_path / "v")
    pip = [str(tmp_path / "v" / "bin" / "python"), "-m", "pip"]
    # As the Makefile does: a current pip shows the build backend's warnings that an old one hides.
    assert subprocess.run([*pip, "install", "-q", "--upgrade", "pip"], capture_output=True, timeout=300).returncode == 0
    out = subprocess.run([*pip, "install", "-q", "--no-deps", "-e", str(ROOT)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert _noise(out) == []
    [pth] = (tmp_path / "v").glob("lib/python*/site-packages/__editable__.khlang-*.pth")
    assert pth.read_text(encoding="utf-8").split() == [str(ROOT)]   # the checkout itself, found by one path line


def _loaded(code):
    """The top-level packages a fresh interpreter has loaded after running code."""
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted({m.split('.')[0] "
                          "for m in sys.modules})))"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return set(out.split())


def test_the_server_loads_duckdb_and_markdown_only_when_a_request_needs_them():
    loaded = _loaded("from web import create_app")
    assert "flask" in loaded and not loaded & {"duckdb", "markdown_it"}


def test_the_command_line_help_loads_no_web_framework_or_database_engine():
    loaded = _loaded("import sys; sys.argv = ['khlang', '--help']\nfrom khlang.cli import main\n"
                     "try:\n    main()\nexcept SystemExit:\n    pass")
    assert not loaded & {"flask", "duckdb", "pythainlp", "psycopg", "jsonschema"}
