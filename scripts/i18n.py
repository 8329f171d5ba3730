"""Message catalogs: extract web/ strings, merge them into the Thai catalog, compile it.

    python scripts/i18n.py            # after changing any _('...') in web/
Thai translations live in web/translations/th/LC_MESSAGES/messages.po (edit it by hand);
the compiled messages.mo next to it is what Flask-Babel loads, and a test checks it is current."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TR = ROOT / "web" / "translations"
PYBABEL = str(Path(sys.executable).with_name("pybabel"))


def main():
    subprocess.run([PYBABEL, "extract", "-F", "babel.cfg", "--no-location", "--sort-output", "--omit-header", "-k", "_l",
                    "-o", str(TR / "messages.pot"), "."], cwd=ROOT, check=True)
    po = TR / "th" / "LC_MESSAGES" / "messages.po"
    cmd = "update" if po.exists() else "init"
    subprocess.run([PYBABEL, cmd, "-i", str(TR / "messages.pot"), "-d", str(TR), "-l", "th", "--no-wrap"]
                   + (["--ignore-obsolete"] if cmd == "update" else []), cwd=ROOT, check=True)
    subprocess.run([PYBABEL, "compile", "-d", str(TR), "-l", "th", "--statistics"], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
