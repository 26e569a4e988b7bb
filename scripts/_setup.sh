# Shared set-up for scripts/run and scripts/test: sourced, not executed.
# Checks system packages, creates .venv and installs the locked packages and the project when
# pyproject.toml or requirements.lock changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
cd "$ROOT"

say() { printf '[evalapp] %s\n' "$*" >&2; }

# Debian packages WeasyPrint needs (Pango, fast font subsetting), the CJK font for the PDFs,
# pdftotext for reading PDFs back in the tests, and venv support for Debian's own Python.
SYSTEM_PACKAGES="libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-cjk poppler-utils"
# scripts/test sets EVALAPP_SETUP_FOR=test: the browser tests drive Debian's chromium through
# Playwright (never Playwright's own browser download), and the download tests run behind a real
# nginx; merely serving the app needs neither.
if [ "${EVALAPP_SETUP_FOR:-run}" = test ]; then
    SYSTEM_PACKAGES="$SYSTEM_PACKAGES chromium nginx-light"
fi

find_python() {
    for candidate in python3.11 python3.12 python3.13 python3; do
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"; return 0
        fi
    done
    return 1
}

ensure_system_packages() {
    command -v dpkg-query >/dev/null 2>&1 || {
        say "not a Debian system: make sure Pango, HarfBuzz (subset) and a CJK font (Noto Sans CJK SC) are installed"
        if [ "${EVALAPP_SETUP_FOR:-run}" = test ]; then
            say "and Chromium for the browser tests (EVALAPP_CHROMIUM=/path/to/chromium if it is not /usr/bin/chromium)"
        fi
        return 0
    }
    local wanted="$SYSTEM_PACKAGES" missing=""
    "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || wanted="$wanted python3-venv"
    for pkg in $wanted; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    local install="apt-get install -y --no-install-recommends$missing"
    if [ "$(id -u)" = 0 ]; then
        say "installing system packages:$missing"
        DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive $install >&2
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        say "installing system packages:$missing"
        sudo apt-get update -q >&2 && sudo DEBIAN_FRONTEND=noninteractive $install >&2
    else
        say "missing system packages:$missing"
        say "run this, then try again:  sudo apt-get update && sudo $install"
        exit 1
    fi
    fc-cache -f >/dev/null 2>&1 || true
}

# The exact versions in requirements.lock (CONTRIBUTING.md says how to update it), then evalapp
# itself without resolving anything again; redone whenever pyproject.toml or the lock changes.
ensure_venv() {
    local stamp="$VENV/.evalapp-installed" want
    want="$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)"
    [ -x "$VENV/bin/python" ] || { say "creating virtual environment in .venv"; "$PYTHON" -m venv "$VENV"; }
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing Python packages"
        "$VENV/bin/python" -m pip install -q --upgrade pip >&2
        "$VENV/bin/python" -m pip install -q -r requirements.lock >&2
        "$VENV/bin/python" -m pip install -q --no-deps -e . >&2
        local broken
        broken="$("$VENV/bin/python" -m pip check)" || {
            printf '%s\n' "$broken" >&2
            say "requirements.lock does not satisfy pyproject.toml: update it (CONTRIBUTING.md)"; exit 1
        }
        echo "$want" > "$stamp"
    fi
}

PYTHON="$(find_python)" || { say "Python 3.11 or newer is needed: sudo apt-get install -y python3 python3-venv"; exit 1; }
ensure_system_packages
ensure_venv
export PATH="$VENV/bin:$PATH"
export FLASK_APP=wsgi.py
