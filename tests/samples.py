"""Real, small files of each kind accepted as evidence (made with pypdf and Pillow), for tests that upload them."""

from __future__ import annotations

import io
from functools import cache


@cache
def pdf(text: str = "Evidence") -> bytes:
    """A one-page PDF that pypdf reads back whole."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Title": text})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@cache
def image(kind: str = "PNG") -> bytes:
    """A 4×4 image (PNG, JPEG or WEBP) that Pillow decodes whole."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (30, 90, 160)).save(buffer, format=kind)
    return buffer.getvalue()


PDF = pdf()
PNG = image("PNG")
JPEG = image("JPEG")
WEBP = image("WEBP")
