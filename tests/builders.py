"""Files the tests upload (images, video, documents, rosters), and a reader for the PDFs the app returns.

The files are made in memory, as small as the checks allow; the domain objects come from factories.py.
"""
import csv
import io
import struct
import subprocess
import zipfile
from pathlib import Path

import openpyxl
from PIL import Image

from evalapp.unions.operations import ID_CHECK_CHARS, ID_WEIGHTS

# --- Report files and evidence --------------------------------------------------------------------

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def jpeg(size=(1200, 900), color=(30, 120, 200), exif=None):
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", **({"exif": exif.tobytes()} if exif is not None else {}))
    return out.getvalue()


def box(kind, payload=b""):
    """One box (atom) of an MP4 file: its size, its four-letter kind, its payload."""
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4(payload_size=4000, brand=b"isom"):
    media = bytes(i % 251 for i in range(payload_size))
    return (box(b"ftyp", brand + b"\x00\x00\x02\x00" + brand + b"mp41") + box(b"moov", box(b"mvhd", b"\x00" * 100))
            + box(b"mdat", media))


def docx(main_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", extra=()):
    """A minimal Word document; `extra` adds parts (by name) such as a macro project."""
    out = io.BytesIO()

    def part(name):  # a fixed date: the same document byte for byte, whenever it is made
        return zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))

    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(part("[Content_Types].xml"), f'<?xml version="1.0"?><Types><Override PartName="/word/document.xml" '
                                                      f'ContentType="{main_type}"/></Types>')
        archive.writestr(part("word/document.xml"), "<w:document/>")
        for name in extra:
            archive.writestr(part(name), b"\x00" * 10)
    return out.getvalue()


# --- Rosters --------------------------------------------------------------------------------------

ROSTER_HEADER = ["姓名", "手机号", "身份证号", "工会"]


def make_id(serial, region="440703", born="19900101"):
    """Return a valid national ID number (correct GB 11643 check digit)."""
    body = f"{region}{born}{serial % 1000:03d}"
    return body + ID_CHECK_CHARS[sum(int(d) * world for d, world in zip(body, ID_WEIGHTS)) % 11]


def csv_file(rows, header=ROSTER_HEADER, encoding="utf-8"):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def xlsx_file(rows, header=ROSTER_HEADER, title=None):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Reading back ---------------------------------------------------------------------------------

def stored(folder):
    """The files under `folder` (sorted; none when it was never made)."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file()) if Path(folder).exists() else []


def pdf_text(path):
    """The text of the PDF at `path`, laid out as on the page (poppler's pdftotext)."""
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout


def compact(text):
    """`text` without any white space: words a PDF breaks across lines compare whole."""
    return "".join(text.split())


def next_local_hour(hour):
    """The next `hour` o'clock, Shanghai time, from now (naive UTC, as stored): never in the past, so
    that copies of notices written now are already due then, whatever time the suite runs."""
    from datetime import UTC, timedelta

    from evalapp.core.timeutil import to_local, utcnow

    now = utcnow()
    moment = to_local(now).replace(hour=hour, minute=0, second=0, microsecond=0)
    if moment.astimezone(UTC).replace(tzinfo=None) < now:
        moment += timedelta(days=1)
    return moment.astimezone(UTC).replace(tzinfo=None)
