"""Evidence files: checked by content and size, named by their SHA-256 and stored under a safe, content-addressed path.

Nothing the client says is trusted: the kind comes from the bytes (magic numbers through ``filetype``, ZIP central
directories read with limits, UTF-8 checks), the stored name from the hash, and the client's file name is kept for
display only, after it has been cleaned. The name still counts as a claim: one that disagrees with the content is
refused, since a file called report.pdf that is really a program is an attack or a mistake, never evidence.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import filetype
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..engine import Refused

__all__ = ["ALLOWED", "CheckedUpload", "Kind", "UploadRefused", "inspect_upload", "read_limited", "storage_path", "store"]


@dataclass(frozen=True)
class Kind:
    """A kind of file accepted as evidence: its label, MIME type, stored extension and the name endings that claim it."""

    key: str
    label: str
    noun: str  # translatable (lazy), with its article, to say "the file's content is not <noun>"
    mime: str
    extension: str
    name_endings: frozenset[str]


def _kind(key: str, label: str, noun: Any, mime: str, *endings: str) -> Kind:
    return Kind(key, label, noun, mime, endings[0], frozenset(endings))


_ODT_MIME = "application/vnd.oasis.opendocument.text"
_ODS_MIME = "application/vnd.oasis.opendocument.spreadsheet"
_DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

ALLOWED: dict[str, Kind] = {
    kind.key: kind
    for kind in (
        _kind("pdf", "PDF", _l("a PDF"), "application/pdf", "pdf"),
        _kind("png", "PNG image", _l("a PNG image"), "image/png", "png"),
        _kind("jpeg", "JPEG image", _l("a JPEG image"), "image/jpeg", "jpg", "jpeg", "jpe", "jfif"),
        _kind("webp", "WebP image", _l("a WebP image"), "image/webp", "webp"),
        _kind("odt", "OpenDocument text", _l("an OpenDocument text"), _ODT_MIME, "odt"),
        _kind("ods", "OpenDocument spreadsheet", _l("an OpenDocument spreadsheet"), _ODS_MIME, "ods"),
        _kind("docx", "Word document", _l("a Word document (.docx)"), _DOCX_MIME, "docx"),
        _kind("xlsx", "Excel workbook", _l("an Excel workbook (.xlsx)"), _XLSX_MIME, "xlsx"),
        _kind("text", "Plain text", _l("plain text"), "text/plain", "txt", "text"),
        _kind("csv", "CSV", _l("CSV text"), "text/csv", "csv"),
        _kind("markdown", "Markdown", _l("Markdown text"), "text/markdown", "md", "markdown"),
    )
}

_BY_MAGIC_MIME = {kind.mime: kind for kind in (ALLOWED["pdf"], ALLOWED["png"], ALLOWED["jpeg"], ALLOWED["webp"])}
_BY_NAME_ENDING = {ending: kind for kind in ALLOWED.values() for ending in kind.name_endings}
_TEXT_KINDS = (ALLOWED["text"], ALLOWED["csv"], ALLOWED["markdown"])
_STORED_EXTENSIONS = frozenset(kind.extension for kind in ALLOWED.values())

# Name endings that run code when opened on someone's machine or in a browser: refused even when the content looks
# harmless, because whoever downloads the evidence later goes by the name.
_CODE_ENDINGS = frozenset(
    {"exe", "com", "scr", "msi", "msp", "dll", "cpl", "bat", "cmd", "ps1", "psm1", "vbs", "vbe", "js", "jse", "wsf", "wsh", "hta", "lnk", "reg"}
    | {"jar", "apk", "app", "dmg", "sh", "bash", "zsh", "command", "py", "pyw", "pl", "rb", "php", "phtml", "asp", "aspx", "jsp", "cgi", "mjs"}
    | {"html", "htm", "xhtml", "shtml", "mht", "mhtml", "svg", "svgz", "xml", "xsl", "swf"}
)

# Magic numbers of things that run, named for the refusal message; filetype knows the first ones, not the Mach-O ones.
_CODE_BY_MAGIC_MIME = {
    "application/x-msdownload": _l("a Windows program"),
    "application/x-executable": _l("a Linux program"),
    "application/wasm": _l("a WebAssembly program"),
    "application/x-shockwave-flash": _l("a Flash animation"),
    "application/x-google-chrome-extension": _l("a browser extension"),
    "application/x-deb": _l("a software package"),
    "application/x-rpm": _l("a software package"),
    "application/vnd.ms-cab-compressed": _l("a Windows installer cabinet"),
}
_MACHO_MAGICS = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")

# The WHATWG MIME sniffing standard: content starting with one of these (after white space) is taken for HTML by a
# browser that sniffs, whatever it is served as.
_HTML_STARTS = tuple(
    f"<{tag}".encode()
    for tag in ("!doctype html", "html", "head", "script", "iframe", "h1", "div", "font", "table", "a", "style", "title", "b", "body", "br", "p", "!--")
)
# The standard ends a tag name with a space or ">"; other white space and "/" are taken too, to err on the safe side.
_TAG_ENDS = frozenset((b" ", b">", b"/", b"\t", b"\n", b"\r", b"\f"))
# How far in to look for markup: an SVG root may come after an XML declaration, a doctype and comments.
_SNIFF_WINDOW = 4096

_ZIP_MAGIC = b"PK\x03\x04"
_MAX_ZIP_ENTRIES = 5000
# A document's declared unpacked size beyond this is a zip bomb waiting for whoever opens it, not evidence.
_MAX_UNPACKED_BYTES = 512 * 1024 * 1024
# zipfile bounds what it inflates per read only for these; a few KB of bzip2 or LZMA could unpack to gigabytes at once.
_BOUNDED_COMPRESSION = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
# [Content_Types].xml declares the main part near its top; real documents have it within the first few KB.
_CONTENT_TYPES_READ = 16 * 1024
_ODF_MAIN = {_ODT_MIME.encode(): ALLOWED["odt"], _ODS_MIME.encode(): ALLOWED["ods"]}
_OOXML_MAIN = {
    b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": ALLOWED["docx"],
    b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": ALLOWED["xlsx"],
}
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError)

# Text is "mostly printable": a stray form feed or escape in a log is fine, a run of control characters is binary.
_MAX_CONTROL_SHARE = 0.01
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")  # Unicode's Cc category less tab, newlines and form feed

_DISPLAY_NAME_MAX = 120
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_FILE_MODE = 0o640
_DIR_MODE = 0o750


class UploadRefused(Refused):
    """An upload that is not accepted as evidence; the message is a plain sentence for the person who sent it."""


@dataclass(frozen=True)
class CheckedUpload:
    """What the content check found: the kind and its MIME type, the extension to store under, size and SHA-256."""

    kind: str
    label: str
    mime: str
    extension: str
    size: int
    sha256: str
    original_name: str


@dataclass(frozen=True)
class _Detection:
    kind: Kind | None
    looks_like: Any  # for refusals (translatable): what the content appears to be
    runs_code: bool = False


def read_limited(stream: BinaryIO, max_bytes: int) -> bytes:
    """Read at most ``max_bytes + 1`` bytes, enough to tell an oversized upload without reading all of it."""
    remaining = max_bytes + 1
    chunks = []
    # A stream may return fewer bytes than asked for before its end, so read until it is empty or the limit is met.
    while remaining > 0:
        chunk = stream.read(min(remaining, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def inspect_upload(data: bytes, filename: str, max_bytes: int) -> CheckedUpload:
    """Check an upload by its content and size; raise UploadRefused with a plain sentence if it is not acceptable."""
    if not data:
        raise UploadRefused(_("The file is empty."))
    if len(data) > max_bytes:
        raise UploadRefused(_("The file is larger than the limit of %(size)s MB.", size=_megabytes(max_bytes)))
    display_name = _display_name(filename)
    ending = PurePosixPath(display_name).suffix.lower().removeprefix(".")
    detected = _detect(data)
    kind = detected.kind
    if kind is not None and kind.mime.startswith("text/"):
        # Text, CSV and Markdown cannot be told apart by content alone, and any of them is harmless: the name picks.
        kind = next((k for k in _TEXT_KINDS if ending in k.name_endings), ALLOWED["text"])
    claimed = _BY_NAME_ENDING.get(ending)
    if claimed is not None and claimed != kind:
        if kind is None:
            sentence = _(
                "The file's content is not %(expected)s although its name ends in .%(ending)s: it looks like %(found)s.",
                expected=claimed.noun,
                ending=ending,
                found=detected.looks_like,
            )
        else:
            sentence = _(
                "The file's content is not %(expected)s although its name ends in .%(ending)s: it is %(found)s.",
                expected=claimed.noun,
                ending=ending,
                found=kind.noun,
            )
        raise UploadRefused(sentence)
    if detected.runs_code:
        raise UploadRefused(
            _("Programs, scripts, web pages and SVG images are not accepted as evidence: this file looks like %(found)s.", found=detected.looks_like)
        )
    if kind is None:
        raise UploadRefused(
            _(
                "This kind of file is not accepted as evidence (it looks like %(found)s). Send a PDF, a PNG, JPEG or WebP image, "
                "an OpenDocument or Word/Excel document, or plain text, CSV or Markdown.",
                found=detected.looks_like,
            )
        )
    if ending in _CODE_ENDINGS:
        raise UploadRefused(_("Files whose name ends in .%(ending)s can run code when opened and are not accepted as evidence.", ending=ending))
    _refuse_markup(data, kind)
    _parse_whole(data, kind)
    return CheckedUpload(
        kind=kind.key,
        label=kind.label,
        mime=kind.mime,
        extension=kind.extension,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        original_name=display_name,
    )


# Markers of a page or a script anywhere in the bytes: a file that is also a web page (a polyglot: a PDF or a PNG with
# HTML inside) is refused whatever it claims to be, because a browser or a viewer may run that part.
_MARKUP_MARKERS = (b"<script", b"<html", b"<!doctype html", b"<iframe", b"<body", b"<svg", b"<object", b"<embed", b"<meta http-equiv", b"javascript:", b"<?php")
# Actions a PDF viewer runs: scripts and launching programs.
_PDF_ACTIONS = re.compile(rb"/(JavaScript|JS|Launch)[\s/<(\[]")


def _refuse_markup(data: bytes, kind: Kind) -> None:
    lowered = data.lower()
    found = next((m for m in _MARKUP_MARKERS if m in lowered), None)
    if found is not None:
        raise UploadRefused(
            _("The file carries web-page or script markup (%(marker)s…), which a browser could run: it is not accepted as evidence.", marker=found.decode())
        )
    if kind.key == "pdf" and _PDF_ACTIONS.search(data):
        raise UploadRefused(_("The PDF carries a script or an action that launches a program: it is not accepted as evidence."))


def _parse_whole(data: bytes, kind: Kind) -> None:
    """Open the whole file with a library that understands its kind: a file that only starts like a PDF or an image is
    refused."""
    if kind.key == "pdf":
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError, PdfStreamError

        try:
            reader = PdfReader(io.BytesIO(data), strict=True)
            if len(reader.pages) < 1:
                raise UploadRefused(_("The PDF has no page."))
            for page in reader.pages:
                page.get_contents()
        except (PdfReadError, PdfStreamError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError, zlib.error) as error:
            raise UploadRefused(_("The PDF cannot be read as a whole (%(error)s): send the file exactly as exported.", error=type(error).__name__)) from None
    elif kind.key in ("png", "jpeg", "webp"):
        import warnings

        from PIL import Image, UnidentifiedImageError

        formats = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(io.BytesIO(data)) as image:
                    if image.format != formats[kind.key]:
                        raise UploadRefused(_("The image is not %(expected)s inside.", expected=kind.noun))
                    image.verify()
                with Image.open(io.BytesIO(data)) as image:
                    image.load()  # decodes every pixel: a truncated or damaged image fails here
        except UploadRefused:
            raise
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
            raise UploadRefused(
                _("The image cannot be decoded as a whole (%(error)s): send the file exactly as exported.", error=type(error).__name__)
            ) from None


def storage_path(root: Path, sha256: str, extension: str) -> Path:
    """The content-addressed place of a file: ``root/ab/cd/<sha256>.<extension>``; never derived from a user's name."""
    if not _SHA256_HEX.fullmatch(sha256):
        raise ValueError(f"not a lowercase hexadecimal SHA-256: {sha256!r}")
    if extension not in _STORED_EXTENSIONS:
        raise ValueError(f"not the extension of an accepted kind: {extension!r}")
    return root / sha256[:2] / sha256[2:4] / f"{sha256}.{extension}"


def store(root: Path, data: bytes, checked: CheckedUpload) -> Path:
    """Write ``data`` at its content-addressed path, atomically and once; ``root``'s parent must exist."""
    if hashlib.sha256(data).hexdigest() != checked.sha256:
        # The path is the content's address: storing other bytes under it would silently swap someone's evidence.
        raise ValueError("the data does not match the SHA-256 of the checked upload")
    path = storage_path(root, checked.sha256, checked.extension)
    for directory in (root, path.parent.parent, path.parent):
        _make_private_dir(directory)
    if path.is_file():
        return path
    fd, temp_name = tempfile.mkstemp(prefix=".upload-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), _FILE_MODE)
            out.write(data)
            out.flush()
            # On disk before it takes the final name, so a crash cannot leave a truncated file under a valid hash.
            os.fsync(out.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path


def _make_private_dir(directory: Path) -> None:
    try:
        directory.mkdir(mode=_DIR_MODE)
    except FileExistsError:
        return
    # mkdir's mode passes through the umask; the stated mode is the one wanted.
    directory.chmod(_DIR_MODE)


def _megabytes(size: int) -> str:
    return f"{round(size / (1024 * 1024), 1):g}"


def _display_name(filename: str) -> str:
    # Browsers on Windows may send a full path; both separators end a directory name.
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    # Control characters break logs and pages; format characters (right-to-left override) disguise "exe.pdf" as "fdp.exe".
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cf"})
    # Windows drops trailing dots and spaces, so "report.exe." would open as report.exe.
    name = name.strip().rstrip(". ")
    if name in {"", ".", ".."}:
        return "file"
    if len(name) > _DISPLAY_NAME_MAX:
        suffix = PurePosixPath(name).suffix
        suffix = suffix if len(suffix) <= 16 else ""
        name = name[: _DISPLAY_NAME_MAX - len(suffix)] + suffix
    return name


def _detect(data: bytes) -> _Detection:
    if data.startswith(_ZIP_MAGIC):
        return _detect_zip(data)
    if data.startswith(_MACHO_MAGICS):
        return _Detection(None, _l("a macOS program"), runs_code=True)
    guess = filetype.guess(data)
    if guess is not None:
        if guess.mime in _BY_MAGIC_MIME:
            kind = _BY_MAGIC_MIME[guess.mime]
            return _Detection(kind, kind.noun)
        if guess.mime in _CODE_BY_MAGIC_MIME:
            return _Detection(None, _CODE_BY_MAGIC_MIME[guess.mime], runs_code=True)
        return _Detection(None, _l("a .%(extension)s file", extension=guess.extension))
    return _detect_text(data)


def _detect_zip(data: bytes) -> _Detection:
    not_a_document = _Detection(None, _l("a ZIP archive that is not an OpenDocument, Word or Excel document"))
    try:
        # Only the central directory is parsed here, and at most a few KB of one member are inflated below.
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
            if not entries or len(entries) > _MAX_ZIP_ENTRIES or sum(e.file_size for e in entries) > _MAX_UNPACKED_BYTES:
                return not_a_document
            first = entries[0]
            # ODF puts an uncompressed "mimetype" member first precisely so that its type can be read this way.
            if first.filename == "mimetype" and first.file_size <= 100 and first.compress_type in _BOUNDED_COMPRESSION:
                with archive.open(first) as member:
                    return _known_document(_ODF_MAIN.get(member.read(100).strip()), not_a_document)
            content_types = next((e for e in entries if e.filename == "[Content_Types].xml"), None)
            if content_types is not None and content_types.compress_type in _BOUNDED_COMPRESSION:
                with archive.open(content_types) as member:
                    head = member.read(_CONTENT_TYPES_READ)
                # A substring test, not an XML parse: no entity expansion, and a truncated read is still conclusive.
                return _known_document(next((kind for main, kind in _OOXML_MAIN.items() if main in head), None), not_a_document)
    except _ZIP_ERRORS:
        return _Detection(None, _l("a damaged or encrypted ZIP archive"))
    return not_a_document


def _known_document(kind: Kind | None, otherwise: _Detection) -> _Detection:
    return _Detection(kind, kind.noun) if kind is not None else otherwise


def _detect_text(data: bytes) -> _Detection:
    head = data[:_SNIFF_WINDOW].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if head.startswith(b"#!"):
        return _Detection(None, _l("a script"), runs_code=True)
    if head.startswith(b"<") and b"<svg" in head:
        return _Detection(None, _l("an SVG image, which can carry scripts"), runs_code=True)
    if head.startswith(b"<?xml"):
        return _Detection(None, _l("an XML document, which a browser may run as a page"), runs_code=True)
    if any(head.startswith(start) and head[len(start) : len(start) + 1] in _TAG_ENDS for start in _HTML_STARTS):
        return _Detection(None, _l("a web page (HTML)"), runs_code=True)
    if b"\x00" in data:
        return _Detection(None, _l("binary data (it contains NUL bytes)"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return _Detection(None, _l("binary data or text that is not UTF-8"))
    controls = sum(1 for _ in _CONTROL.finditer(text))
    if controls > len(text) * _MAX_CONTROL_SHARE:
        return _Detection(None, _l("binary data (too many control characters)"))
    return _Detection(ALLOWED["text"], ALLOWED["text"].noun)
