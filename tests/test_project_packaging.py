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
