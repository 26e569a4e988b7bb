"""Text colours of the stylesheet against their backgrounds: WCAG AA (4.5:1 for normal text)."""
import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parents[1] / "static" / "app.css").read_text()
VARIABLES = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{3,6})", CSS))


def colour(value):
    value = VARIABLES.get(value[6:-1], value) if value.startswith("var(") else value
    value = value.lstrip("#")
    value = "".join(ch * 2 for ch in value) if len(value) == 3 else value
    return [int(value[i:i + 2], 16) / 255 for i in (0, 2, 4)]


def luminance(rgb):
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground, background):
    light, dark = sorted((luminance(colour(foreground)), luminance(colour(background))), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def badge_pairs():
    for name, body in re.findall(r"\.badge\.([\w, .]+?)\s*\{([^}]*)\}", CSS):
        background = re.search(r"background:\s*([^;]+);", body)
        text = re.search(r"(?<!-)color:\s*([^;]+);", body)
        if background and text:
            yield pytest.param(text.group(1).strip(), background.group(1).strip(), id=name.strip())


def test_the_state_badges_are_found():
    assert len(list(badge_pairs())) >= 3


@pytest.mark.parametrize("foreground, background", [
    *badge_pairs(),
    pytest.param("var(--ink)", "var(--bg)", id="text"),
    pytest.param("var(--muted)", "var(--bg)", id="muted text on the page"),
    pytest.param("var(--muted)", "#ffffff", id="muted text in a card"),
    pytest.param("#ffffff", "var(--accent)", id="header and buttons"),
])
def test_text_reaches_aa_contrast(foreground, background):
    assert contrast(foreground, background) >= 4.5, (foreground, background, round(contrast(foreground, background), 2))
