"""Evidence uploads: checked by content and size, never by the client's name or type, and stored by SHA-256."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from govflow.organisations import uploads
from govflow.organisations.uploads import ALLOWED, UploadRefused, inspect_upload, read_limited, storage_path, store

from .. import samples

MB = 1024 * 1024
LIMIT = 10 * MB
DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
DOCM_MAIN = "application/vnd.ms-word.document.macroEnabled.main+xml"


# -- real, minimal files ---------------------------------------------------------------------------------------
def pdf() -> bytes:
    return samples.PDF


def png() -> bytes:
    return samples.PNG


def jpeg() -> bytes:
    return samples.JPEG


def webp() -> bytes:
    return samples.WEBP


def content_types(main: str, padding: int = 0) -> str:
    types = '<Default Extension="xml" ContentType="application/xml"/>' + f'<Override PartName="/main.xml" ContentType="{main}"/>'
    namespace = "http://schemas.openxmlformats.org/package/2006/content-types"
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="{namespace}">{" " * padding}{types}</Types>'


def ooxml(main: str, *, padding: int = 0, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", content_types(main, padding), compress_type=compression)
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("main.xml", "<document>Evidence</document>")
    return buffer.getvalue()


def odf(mime: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", mime, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", "<office:document-content/>", compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("META-INF/manifest.xml", "<manifest:manifest/>", compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("holiday/photo.txt", "not an office document")
    return buffer.getvalue()


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 44 + b"PE\x00\x00" + b"\x00" * 64
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 120
HTML = b"<!DOCTYPE html>\n<html><body><script>alert(document.cookie)</script></body></html>\n"
SVG = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><circle r="4"/></svg>\n'
TEXT = "Minutes of the ethics board, 12 March: the charter was read aloud. Décision adoptée à l'unanimité ✓.\n".encode()
CSV = b"theme,year,level\nloyalty,2024,3\nsafety,2024,2\n"
MARKDOWN = b"# Annual report\n\n- loyalty: level 3\n- *safety*: level 2\n"


def refused(data: bytes, filename: str, max_bytes: int = LIMIT) -> str:
    with pytest.raises(UploadRefused) as caught:
        inspect_upload(data, filename, max_bytes)
    return str(caught.value)


# -- accepted files ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "filename", "kind", "extension"),
    [
        (pdf(), "report.pdf", "pdf", "pdf"),
        (png(), "photo.png", "png", "png"),
        (jpeg(), "photo.jpeg", "jpeg", "jpg"),
        (webp(), "photo.webp", "webp", "webp"),
        (ooxml(DOCX_MAIN), "policy.docx", "docx", "docx"),
        (ooxml(XLSX_MAIN), "figures.xlsx", "xlsx", "xlsx"),
        (odf("application/vnd.oasis.opendocument.text"), "policy.odt", "odt", "odt"),
        (odf("application/vnd.oasis.opendocument.spreadsheet"), "figures.ods", "ods", "ods"),
        (TEXT, "minutes.txt", "text", "txt"),
        (CSV, "levels.csv", "csv", "csv"),
        (MARKDOWN, "report.md", "markdown", "md"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_allowed_kind_is_recognised_by_its_content(data, filename, kind, extension):
    checked = inspect_upload(data, filename, LIMIT)
    assert (checked.kind, checked.extension, checked.mime) == (kind, extension, ALLOWED[kind].mime)
    assert checked.label == ALLOWED[kind].label
    assert checked.size == len(data)
    assert checked.sha256 == hashlib.sha256(data).hexdigest()
    assert checked.original_name == filename


def test_the_extension_comes_from_the_content_not_the_name():
    assert inspect_upload(png(), "scan", LIMIT).extension == "png"
    assert inspect_upload(pdf(), "REPORT.PDF", LIMIT).extension == "pdf"
    assert inspect_upload(jpeg(), "photo.JPG", LIMIT).mime == "image/jpeg"
    # An ending that names no kind (a date, a version) says nothing about the content and is not held against it.
    assert inspect_upload(pdf(), "minutes 12.03.2024", LIMIT).kind == "pdf"


def test_text_without_a_text_ending_is_stored_as_plain_text():
    checked = inspect_upload(CSV, "export", LIMIT)
    assert (checked.kind, checked.mime, checked.extension) == ("text", "text/plain", "txt")


def test_text_with_a_byte_order_mark_is_text():
    assert inspect_upload(b"\xef\xbb\xbf" + TEXT, "minutes.txt", LIMIT).kind == "text"


def test_a_file_of_exactly_the_limit_is_accepted():
    data = b"a" * 1000
    assert inspect_upload(data, "a.txt", max_bytes=1000).size == 1000


# -- refusals ---------------------------------------------------------------------------------------------------
def test_an_empty_file_is_refused():
    assert refused(b"", "report.pdf") == "The file is empty."


def test_an_oversized_file_is_refused_with_the_limit_in_megabytes():
    message = refused(pdf() + b"\x00" * LIMIT, "report.pdf")
    assert message == "The file is larger than the limit of 10 MB."
    assert "2.5 MB" in refused(b"a" * (5 * MB // 2 + 1), "a.txt", max_bytes=5 * MB // 2)


@pytest.mark.parametrize(
    ("data", "looks_like"),
    [(EXE, "a Windows program"), (ELF, "a Linux program"), (HTML, "a web page (HTML)"), (png(), "it is a PNG image"), (TEXT, "it is plain text")],
    ids=["exe", "elf", "html", "png", "text"],
)
def test_content_that_disagrees_with_the_name_is_refused(data, looks_like):
    message = refused(data, "report.pdf")
    assert message.startswith("The file's content is not a PDF although its name ends in .pdf: ")
    assert looks_like in message


@pytest.mark.parametrize(
    ("data", "filename", "what"),
    [
        (EXE, "setup.exe", "a Windows program"),
        (EXE, "setup", "a Windows program"),
        (b"\xcf\xfa\xed\xfe" + b"\x00" * 60, "tool", "a macOS program"),
        (HTML, "page.html", "a web page (HTML)"),
        (b"  <p>Hello</p>", "page", "a web page (HTML)"),
        (SVG, "chart.svg", "an SVG image, which can carry scripts"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "chart", "an SVG image"),
        (b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"/>', "page.xml", "an XML document"),
        (b"#!/bin/sh\nrm -rf ~\n", "cleanup", "a script"),
    ],
    ids=["exe", "exe-no-name", "mach-o", "html", "html-fragment", "svg", "svg-no-declaration", "xml", "shebang"],
)
def test_programs_scripts_web_pages_and_svg_are_refused(data, filename, what):
    message = refused(data, filename)
    assert message.startswith("Programs, scripts, web pages and SVG images are not accepted as evidence")
    assert what in message


def test_an_svg_renamed_as_an_image_is_refused():
    assert "an SVG image" in refused(SVG, "chart.png")


def test_harmless_text_named_like_code_is_refused():
    assert "can run code" in refused(b"print('hello')\n", "tool.py")
    assert "can run code" in refused(b"plain words\n", "notes.html")


def test_a_zip_that_is_not_an_office_document_is_refused_even_when_named_docx():
    message = refused(plain_zip(), "policy.docx")
    assert message.startswith("The file's content is not a Word document (.docx) although its name ends in .docx")
    assert "a ZIP archive that is not an OpenDocument, Word or Excel document" in message
    assert "not accepted as evidence" in refused(plain_zip(), "archive.zip")


def test_a_macro_enabled_document_renamed_docx_is_refused():
    assert "not a Word document" in refused(ooxml(DOCM_MAIN), "policy.docx")


def test_an_opendocument_with_a_foreign_mimetype_is_refused():
    assert "not an OpenDocument text" in refused(odf("application/x-evil"), "policy.odt")


def test_a_docx_is_not_an_xlsx():
    assert refused(ooxml(DOCX_MAIN), "figures.xlsx").endswith("it is a Word document (.docx).")


def test_a_damaged_zip_is_refused():
    data = ooxml(DOCX_MAIN)
    assert "a damaged or encrypted ZIP archive" in refused(data[: len(data) // 2], "policy.docx")


def test_only_a_few_kilobytes_of_the_content_types_member_are_inflated():
    # 50 MB of white space before the main part compresses to a few KB; only a reader that inflated all of it would
    # find the declaration, so a refusal shows the read stopped early.
    data = ooxml(DOCX_MAIN, padding=50 * MB)
    assert len(data) < 200_000
    assert "not a Word document" in refused(data, "policy.docx")


def test_a_zip_declaring_a_huge_unpacked_size_is_refused_without_inflating_it():
    data = bytearray(ooxml(DOCX_MAIN))
    directory_entry = data.index(b"PK\x01\x02")
    # Uncompressed size of the first central directory entry, as a zip bomb would declare it.
    data[directory_entry + 24 : directory_entry + 28] = struct.pack("<I", 0xF000_0000)
    assert "not a Word document" in refused(bytes(data), "policy.docx")


def test_a_zip_with_too_many_entries_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", content_types(DOCX_MAIN))
        for number in range(5001):
            archive.writestr(f"part{number}.xml", "")
    assert "not a Word document" in refused(buffer.getvalue(), "policy.docx")


def test_content_types_compressed_with_an_unbounded_method_is_not_read():
    assert "not a Word document" in refused(ooxml(DOCX_MAIN, compression=zipfile.ZIP_BZIP2), "policy.docx")


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"level 3\x00\x00\x00level 4\n", "binary data (it contains NUL bytes)"),
        ("Décision adoptée\n".encode("latin-1"), "not UTF-8"),
        (b"\x01\x02\x03\x04 text \x05\x06\x07\x08\n", "too many control characters"),
    ],
    ids=["nul", "latin-1", "control"],
)
def test_text_that_is_not_clean_utf8_is_refused(data, what):
    assert what in refused(data, "minutes.txt")
    assert what in refused(data, "minutes")


def test_an_unknown_binary_kind_is_refused_with_the_accepted_kinds_listed():
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    message = refused(gif, "animation")
    assert "a .gif file" in message
    assert "Send a PDF, a PNG, JPEG or WebP image" in message


# -- display names ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("filename", "shown"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\ana\\Desktop\\report.pdf", "report.pdf"),
        ("re\x00po\x1brt\n.pdf", "report.pdf"),
        ("invoice\u202efdp.pdf", "invoicefdp.pdf"),
        ("  report.pdf  ", "report.pdf"),
        ("..", "file"),
        ("", "file"),
    ],
    ids=["traversal", "windows-path", "controls", "bidi-override", "spaces", "dot-dot", "empty"],
)
def test_the_original_name_is_cleaned_for_display(filename, shown):
    assert inspect_upload(pdf(), filename, LIMIT).original_name == shown


def test_a_long_name_is_cut_to_120_characters_keeping_its_ending():
    name = inspect_upload(pdf(), "a" * 300 + ".pdf", LIMIT).original_name
    assert len(name) == 120
    assert name.endswith("aaa.pdf")


def test_a_trailing_dot_does_not_hide_an_executable_ending():
    assert "can run code" in refused(b"echo hi\n", "run.bat. ")


def test_a_traversal_name_gives_a_safe_storage_path(tmp_path):
    data = pdf()
    checked = inspect_upload(data, "../../etc/passwd.pdf", LIMIT)
    path = store(tmp_path / "evidence", data, checked)
    assert path.resolve().is_relative_to((tmp_path / "evidence").resolve())
    assert path.name == f"{checked.sha256}.pdf"
    assert "passwd" not in str(path)


# -- reading with a limit ---------------------------------------------------------------------------------------
class TrickleStream(io.RawIOBase):
    """A stream that hands out at most three bytes per read, as sockets and raw files may."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)
        self.asked: list[int] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.asked.append(size)
        return self.data.read(min(size, 3))


def test_read_limited_reads_one_byte_past_the_limit_and_no_more():
    assert read_limited(io.BytesIO(b"x" * 100), 10) == b"x" * 11
    assert read_limited(io.BytesIO(b"short"), 10) == b"short"
    assert read_limited(io.BytesIO(b""), 10) == b""


def test_read_limited_keeps_reading_short_reads_up_to_the_limit():
    stream = TrickleStream(b"y" * 100)
    assert read_limited(stream, 10) == b"y" * 11
    assert sum(min(size, 3) for size in stream.asked) == 11


def test_an_oversized_stream_is_refused_after_a_limited_read():
    data = read_limited(io.BytesIO(b"z" * (2 * MB)), MB)
    assert len(data) == MB + 1
    assert "1 MB" in refused(data, "big.txt", max_bytes=MB)


# -- storage ----------------------------------------------------------------------------------------------------
SHA = "ab" + "cd" + "0" * 60


def test_storage_path_is_content_addressed(tmp_path):
    assert storage_path(tmp_path, SHA, "pdf") == tmp_path / "ab" / "cd" / f"{SHA}.pdf"


@pytest.mark.parametrize("sha", ["", SHA.upper(), SHA[:-1], SHA + "0", "../" + SHA[3:], "g" * 64])
def test_storage_path_refuses_anything_but_a_sha256(tmp_path, sha):
    with pytest.raises(ValueError, match="SHA-256"):
        storage_path(tmp_path, sha, "pdf")


@pytest.mark.parametrize("extension", ["exe", "html", "svg", "pdf/../x", "", "PDF"])
def test_storage_path_refuses_extensions_of_kinds_not_accepted(tmp_path, extension):
    with pytest.raises(ValueError, match="extension"):
        storage_path(tmp_path, SHA, extension)


@pytest.fixture
def strict_umask():
    """A umask that would strip group access, so the stated modes must be set on purpose."""
    previous = os.umask(0o077)
    yield
    os.umask(previous)


def test_store_writes_the_file_with_private_modes(tmp_path, strict_umask):
    data = pdf()
    checked = inspect_upload(data, "report.pdf", LIMIT)
    root = tmp_path / "evidence"
    path = store(root, data, checked)
    assert path == storage_path(root, checked.sha256, "pdf")
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    for directory in (root, path.parent.parent, path.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o750


def test_identical_content_is_stored_once(tmp_path):
    data = pdf()
    first = store(tmp_path, data, inspect_upload(data, "report.pdf", LIMIT))
    written = first.stat().st_mtime_ns
    second = store(tmp_path, data, inspect_upload(data, "../copy of report.pdf", LIMIT))
    assert second == first
    assert first.stat().st_mtime_ns == written
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [first]


def test_store_refuses_data_that_is_not_what_was_checked(tmp_path):
    checked = inspect_upload(pdf(), "report.pdf", LIMIT)
    with pytest.raises(ValueError, match="does not match"):
        store(tmp_path, pdf() + b"tampered", checked)
    assert not any(tmp_path.iterdir())


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path, monkeypatch):
    data = pdf()
    checked = inspect_upload(data, "report.pdf", LIMIT)

    def failing_replace(source: str, target: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(uploads.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        store(tmp_path, data, checked)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
