"""PDF reports rendered by WeasyPrint with the system's Noto Sans CJK font."""
from flask import render_template
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

from evalapp.core.timeutil import utcnow
from evalapp.results.presentation import result_context
from evalapp.suggestions.operations import report_listing

_font_config = None


def _fonts():
    # One FontConfiguration per process: building it scans the system fonts, which is slow.
    global _font_config
    if _font_config is None:
        _font_config = FontConfiguration()
    return _font_config


def _refuse_fetch(url, *args, **kwargs):
    """Documents are self-contained; never let a template reach files or the network."""
    raise ValueError(f"external resource refused: {url}")


def render_pdf(template, **context):
    """Render a template under `templates/reviews/` to PDF bytes; `generated_at` is set here."""
    html = render_template(template, generated_at=utcnow(), **context)
    return HTML(string=html, url_fetcher=_refuse_fetch).write_pdf(font_config=_fonts())


def result_pdf(campaign, for_officers=True):
    """Return the result report of a published campaign as PDF bytes (warnings only `for_officers`)."""
    suggestions, hidden_suggestions = report_listing(campaign)
    return render_pdf("reviews/result_pdf.html", for_officers=for_officers, suggestions=suggestions,
                      hidden_suggestions=hidden_suggestions, **result_context(campaign, include_texts=True))
