"""The report's rich text: an allow-list sanitiser (nh3) and the plain-text fallback.

Only structure survives: paragraphs, headings, emphasis, lists, quotes and links to http(s) or
mailto. No attribute but a link's href is kept (no style, no class, no event handler), so the page's
strict Content-Security-Policy never has to make exceptions for report content.
"""
import html
import re

import nh3

TAGS = {"p", "br", "h2", "h3", "h4", "strong", "b", "em", "i", "u", "ul", "ol", "li", "blockquote", "a"}
ATTRIBUTES = {"a": {"href"}}
URL_SCHEMES = {"http", "https", "mailto"}
#: Block-level wrappers that editors and word processors produce; their text is kept, the tag is not.
BLOCKS = re.compile(r"</?(div|section|article|header|footer|main)\b[^>]*>", re.IGNORECASE)
#: Headings outside the allowed range are moved into it rather than flattened to text.
HEADINGS = re.compile(r"<(/?)h([1-6])\b", re.IGNORECASE)
BLOCK_TAG = re.compile(r"<(p|h[1-6]|ul|ol|li|blockquote|div|br|section|article|table)\b", re.IGNORECASE)
ABSOLUTE_URL = re.compile(r"(https?://[^\s/?#]+|mailto:[^\s]+)", re.IGNORECASE)
TAG = re.compile(r"<[a-zA-Z/!]")


def _only_absolute_links(tag, attribute, value):
    # nh3 checks the scheme of absolute URLs only; relative ones ("/logout", "//host") go too.
    if tag == "a" and attribute == "href":
        return value if ABSOLUTE_URL.match(value.strip()) else None
    return value


def sanitise(fragment):
    """Return `fragment` with everything outside the allow-list removed."""
    fragment = BLOCKS.sub(lambda m: "</p>" if m.group(0).startswith("</") else "<p>", fragment or "")
    fragment = HEADINGS.sub(lambda m: f"<{m.group(1)}h{min(max(int(m.group(2)), 2), 4)}", fragment)
    cleaned = nh3.clean(fragment, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES,
                        link_rel="noopener noreferrer", strip_comments=True,
                        clean_content_tags={"script", "style", "template", "noscript", "iframe", "object", "svg",
                                            "math", "textarea", "select", "title"},
                        attribute_filter=_only_absolute_links)
    return re.sub(r"<p>\s*</p>", "", cleaned).strip()


def looks_like_html(text):
    return bool(TAG.search(text or ""))


def paragraphs(text, escape=True):
    """Plain text (typed without the editor) as HTML: a paragraph per blank-line block, <br> per line."""
    blocks = [block.strip() for block in (text or "").replace("\r\n", "\n").split("\n\n")]
    if escape:
        blocks = [html.escape(block, quote=False) for block in blocks]
    return "".join("<p>" + block.replace("\n", "<br>") + "</p>" for block in blocks if block)


def from_input(text):
    """Return the sanitised HTML of what the chair submitted.

    That is the editor's HTML; or, typed into the bare text area (no JavaScript), plain text whose
    blank lines separate paragraphs, possibly with a few inline tags such as <b>.
    """
    text = (text or "").strip()
    if not looks_like_html(text):
        return sanitise(paragraphs(text))
    if not BLOCK_TAG.search(text):
        return sanitise(paragraphs(text, escape=False))
    return sanitise(text)


def text_length(fragment):
    """Characters of visible text, which is what the length limit is about (markup does not count)."""
    return len(html.unescape(nh3.clean(fragment or "", tags=set())).strip())
