"""The runnable part of docs/deployment.md: the `sh` blocks of "One machine", in order.

Read by scripts/deployment_drill, which runs them on a fresh Debian, and by
tests/test_deployment_guide.py, which checks them on every test run.
"""
import re
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "deployment.md"


def guide_blocks(text=None):
    text = GUIDE.read_text() if text is None else text
    section = text[text.index("\n## One machine\n"):]
    section = section[:section.index("\n## ", 1)]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.S | re.M)


def written_file(path, text=None):
    """What a block writes to `path` with `cat > path <<'EOF'`."""
    for block in guide_blocks(text):
        found = re.search(rf"^cat > {re.escape(path)} <<'EOF'\n(.*?)^EOF$", block, flags=re.S | re.M)
        if found:
            return found.group(1)
    raise LookupError(f"the guide writes no {path}")
