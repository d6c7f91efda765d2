"""HTML → PDF with WeasyPrint: Debian's DejaVu fonts, A4 or Letter, and no network fetches."""

import functools
import threading
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.template.loader import render_to_string

PAPER_SIZES = {"a4": "A4", "letter": "letter"}


def paper_size() -> str:
    """The CSS `@page` size from settings.INVOICE_PAPER_SIZE ("A4" or "Letter")."""
    size = PAPER_SIZES.get(str(settings.INVOICE_PAPER_SIZE).lower())
    if size is None:
        raise ImproperlyConfigured(f"INVOICE_PAPER_SIZE must be A4 or Letter, not {settings.INVOICE_PAPER_SIZE!r}.")
    return size


def url_fetcher():
    """Local files (a logo) and data: URLs only; an http(s) URL in a template fails instead of fetching."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"file", "data"})


_per_thread = threading.local()


def font_config():
    """This thread's WeasyPrint font configuration, made once and reused by every render.

    Making one (Pango's map of the system's fonts) is about a fifth of a document's CPU time (issue 15).
    The templates use system fonts only, no @font-face, so nothing accumulates in it; one per thread, as
    Pango's font map is not shared across threads.
    """
    if not hasattr(_per_thread, "fonts"):
        from weasyprint.text.fonts import FontConfiguration

        _per_thread.fonts = FontConfiguration()
    return _per_thread.fonts


@functools.cache
def stylesheet():
    """The documents' stylesheet (document_pdf.css), parsed and compiled once per process.

    Compiling it took about a third of a document's CPU time when it sat in every template (issue 15).
    It has no @font-face, so it needs no font configuration and is shared by every thread's renders;
    WeasyPrint only reads a compiled stylesheet. What changes per document (page size, the translated
    "Page x of y") stays in a small <style> of the template.
    """
    from weasyprint import CSS

    return CSS(string=Path(__file__).with_name("document_pdf.css").read_text(), url_fetcher=url_fetcher())


def render(template: str, context: dict, *, title: str) -> bytes:
    # Imported here: WeasyPrint is slow to import and only the PDF paths need it.
    from weasyprint import HTML

    html = render_to_string(template, {**context, "title": title})
    page = HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=url_fetcher())
    return page.write_pdf(stylesheets=[stylesheet()], font_config=font_config())


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    """A PDF download that no shared cache keeps."""
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
