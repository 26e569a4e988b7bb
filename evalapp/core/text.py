"""Names and titles: one line of visible text, and how such text is written into CSS.

A union's name or a campaign's title travels into pages, PDFs (even into their stylesheets, as
running headers), exports and messages. A line break, a tab or a bidirectional override inside one
can restyle a PDF or disguise a name, so every form and import that sets a name refuses them
(`check_line`), and whatever reaches a stylesheet is escaped as a CSS string (`css_string`)
for the names already stored.
"""
import re

from markupsafe import Markup

from evalapp.core.errors import Refused

#: C0 and C1 controls (newline and tab included), DEL, line and paragraph separators, and the
#: bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069).
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
CONTROL_MESSAGE = "不能包含换行、制表符等控制字符，请只填写一行文字。"
#: Characters written as they are inside a CSS string in a <style> element; all others are escaped.
_CSS_SAFE = re.compile(r"[^\"'\\<>&\x00-\x1f\x7f-\x9f\u2028\u2029]")


def has_control(value):
    """Return whether `value` holds a character that a one-line name must not contain."""
    return bool(value) and CONTROL.search(value) is not None


def check_line(value, what):
    """Refuse (400) a name or title `value` holding control characters; `what` names it in Chinese."""
    if has_control(value):
        raise Refused(f"{what}{CONTROL_MESSAGE}", 400)
    return value


def one_line(value):
    """Return `value` with its control characters replaced by spaces (for names stored before the check)."""
    return CONTROL.sub(" ", value or "")


def css_string(value):
    """Return `value` as a quoted CSS string, safe inside a <style> element of an HTML document.

    Every character that could end the string, the declaration or the element (quotes, backslash,
    line breaks and other controls, <, >, &) is written as a CSS hex escape; NUL becomes U+FFFD.
    """
    out = []
    for char in "" if value is None else str(value):
        if _CSS_SAFE.fullmatch(char):
            out.append(char)
        else:
            out.append(f"\\{ord(char) if char != chr(0) else 0xFFFD:x} ")
    # Safe to mark: quotes, <, > and & are escaped above, so the text can neither end the string nor the element.
    return Markup('"' + "".join(out) + '"')  # nosec B704
