"""What an uploaded file really is, judged by its content, and the re-encoding of images.

Nothing here trusts a file name or the Content-Type a browser sent: images must decode with Pillow,
videos must carry a real MP4 or WebM container structure, PDFs their header and DOCX files the parts
of a Word document. Every refusal is a `Rejected` with a message for the uploader; nothing here
writes anywhere.
"""
import io
import re
import struct
import tempfile
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from evalapp.duty_reports.models import SMALL_SIDE

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
#: Longest side of the image as shown when opened, and of the light variant in the report page.
LARGE_SIDE = 1600
MAX_SIDE = 12_000
PDF_TYPE = "application/pdf"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOCX_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
#: ISO base-media brands that browsers play as MP4; QuickTime ("qt  ") is refused with its own message.
MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
              b"M4VH", b"M4VP", b"dash", b"mmp4", b"MSNV", b"XAVC", b"3gp4", b"3gp5", b"3gp6"}
BOX_TYPE = re.compile(rb"[\x20-\x7e]{4}")


class Rejected(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


def megabytes(limit):
    return f"{limit / (1024 * 1024):g} MB"


def spooled(stream):
    """Return a seekable binary file with the content of `stream` (the stream itself when it seeks)."""
    try:
        stream.seek(0)
        return stream
    except (AttributeError, OSError, io.UnsupportedOperation):
        copy = tempfile.SpooledTemporaryFile(max_size=1 << 20)
        while chunk := stream.read(1 << 20):
            copy.write(chunk)
        copy.seek(0)
        return copy


def size_of(f):
    f.seek(0, io.SEEK_END)
    size = f.tell()
    f.seek(0)
    return size


def check_size(f, max_bytes, what):
    size = size_of(f)
    if size == 0:
        raise Rejected(f"{what}是空文件。")
    if size > max_bytes:
        raise Rejected(f"{what}不能超过 {megabytes(max_bytes)}。")
    return size


def display_name(name):
    """The uploader's file name without any path, control or format characters (NUL, newlines, RTL overrides)."""
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and unicodedata.category(ch) not in ("Zl", "Zp"))
    return name.strip(" .")


def clean_name(name, extension):
    """A display and download name from the uploader's file name, with the extension the content has."""
    name = display_name(name)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return (stem.strip(" .")[:150] or "附件") + extension


# --- images -----------------------------------------------------------------------------------


@dataclass
class ProcessedImage:
    large: bytes
    small: bytes
    width: int
    height: int


def process_image(f, max_bytes, max_pixels):
    """Decode an image, refuse anything suspicious, and re-encode it as two metadata-free JPEGs."""
    check_size(f, max_bytes, "图片")
    with warnings.catch_warnings():
        # Pillow only warns between its own limit and twice that; every bomb must be a refusal.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        too_large = f"图片尺寸过大，请缩小到 {max_pixels // 1_000_000} 百万像素、每边 {MAX_SIDE} 像素以内。"
        try:
            image = Image.open(f, formats=IMAGE_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise Rejected(too_large) from None
        except UnidentifiedImageError:
            raise Rejected("不是可识别的图片，请上传 JPEG、PNG、WebP 或 GIF 格式的图片。") from None
        except (OSError, SyntaxError, ValueError, struct.error):
            raise Rejected("图片文件已损坏，无法读取。") from None
        width, height = image.size
        if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE or width * height > max_pixels:
            raise Rejected(too_large)
        try:
            if image.format == "JPEG":
                image.draft("RGB", (LARGE_SIDE * 2, LARGE_SIDE * 2))  # decode big photos at a reduced scale
            image.load()  # a GIF or WebP animation stays at its first frame
            image = _to_srgb(ImageOps.exif_transpose(image))
        except (OSError, SyntaxError, ValueError, struct.error, Image.DecompressionBombError,
                Image.DecompressionBombWarning):
            raise Rejected("图片文件已损坏，无法读取。") from None
    large, small = image.copy(), image.copy()
    large.thumbnail((LARGE_SIDE, LARGE_SIDE), Image.Resampling.LANCZOS)
    small.thumbnail((SMALL_SIDE, SMALL_SIDE), Image.Resampling.LANCZOS)
    return ProcessedImage(_jpeg(large, 85), _jpeg(small, 75), large.width, large.height)


def _to_srgb(image):
    """Return an RGB image in sRGB, transparency flattened onto white (the JPEGs carry neither)."""
    profile = image.info.get("icc_profile")
    if profile and image.mode in ("RGB", "CMYK", "L"):
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            image = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a broken profile: keep the pixels as they are
    if image.mode.startswith("I") or image.mode == "F":
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L") \
            if image.getextrema()[1] > 255 else image.convert("L")
    if image.mode in ("P", "PA", "LA", "La", "1"):
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "RGBa"):
        background = Image.new("RGB", image.size, "white")
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")


def _jpeg(image, quality):
    # A new image carries no info dict: no EXIF, no GPS, no XMP, no ICC profile, no comments.
    clean = Image.new("RGB", image.size)
    clean.paste(image)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


# --- video ------------------------------------------------------------------------------------


def video_type(f, max_bytes):
    """Return the MIME type of an MP4 or WebM video after checking its container; refuse anything else."""
    size = check_size(f, max_bytes, "视频")
    head = f.read(12)
    f.seek(0)
    if head[4:8] == b"ftyp":
        _check_mp4(f, size)
        return "video/mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        _check_webm(f)
        return "video/webm"
    raise Rejected("视频只支持 MP4 或 WebM 格式。")


def _check_mp4(f, size):
    """Walk the top-level boxes: they must tile the file exactly, start with ftyp and hold moov and mdat."""
    position, boxes = 0, []
    while position < size:
        f.seek(position)
        header = f.read(8)
        if len(header) < 8:
            raise Rejected("MP4 视频文件不完整或已损坏。")
        box_size, box_type = struct.unpack(">I4s", header)
        header_size = 8
        if box_size == 1:
            extended = f.read(8)
            if len(extended) < 8:
                raise Rejected("MP4 视频文件不完整或已损坏。")
            box_size, header_size = struct.unpack(">Q", extended)[0], 16
        elif box_size == 0:
            box_size = size - position
        if not BOX_TYPE.fullmatch(box_type) or box_size < header_size or position + box_size > size:
            raise Rejected("MP4 视频文件不完整或已损坏。")
        if not boxes:
            if box_type != b"ftyp" or box_size < 16:
                raise Rejected("视频只支持 MP4 或 WebM 格式。")
            brands = f.read(min(box_size, 256) - header_size)
            major, compatible = brands[:4], {brands[i:i + 4] for i in range(8, len(brands) - 3, 4)}
            if major == b"qt  ":
                raise Rejected("这是 QuickTime（.mov）视频，请先导出为 MP4 格式再上传。")
            if not ({major} | compatible) & MP4_BRANDS:
                raise Rejected("视频只支持 MP4 或 WebM 格式。")
        boxes.append(box_type)
        if len(boxes) > 100_000:
            raise Rejected("MP4 视频文件结构异常。")
        position += box_size
    if b"moov" not in boxes or b"mdat" not in boxes:
        raise Rejected("MP4 视频文件不完整或已损坏。")
    f.seek(0)


def _read_vint(f, keep_marker):
    first = f.read(1)
    if not first or first[0] == 0:
        raise Rejected("WebM 视频文件不完整或已损坏。")
    length = 8 - first[0].bit_length() + 1
    rest = f.read(length - 1)
    if len(rest) != length - 1:
        raise Rejected("WebM 视频文件不完整或已损坏。")
    value = first[0] if keep_marker else first[0] & ((1 << (8 - length)) - 1)
    for byte in rest:
        value = (value << 8) | byte
    return value


def _check_webm(f):
    """Read the EBML header: its DocType must be "webm", and a Segment must follow it."""
    f.seek(4)
    header_size = _read_vint(f, keep_marker=False)
    if header_size > 1024:
        raise Rejected("WebM 视频文件结构异常。")
    start, doc_type = f.tell(), None
    while f.tell() < start + header_size:
        element, length = _read_vint(f, keep_marker=True), _read_vint(f, keep_marker=False)
        if length > 256:
            raise Rejected("WebM 视频文件结构异常。")
        data = f.read(length)
        if element == 0x4282:
            doc_type = data.rstrip(b"\x00")
    if f.tell() != start + header_size:
        raise Rejected("WebM 视频文件结构异常。")
    if doc_type != b"webm":
        raise Rejected("视频只支持 MP4 或 WebM 格式（Matroska/MKV 请先导出为 WebM 或 MP4）。")
    if _read_vint(f, keep_marker=True) != 0x18538067:
        raise Rejected("WebM 视频文件不完整或已损坏。")
    f.seek(0)


# --- attachments ------------------------------------------------------------------------------


def attachment_type(f, max_bytes):
    """Return (MIME type, extension) of a PDF or DOCX file; refuse anything else, macro documents included."""
    check_size(f, max_bytes, "附件")
    head = f.read(8)
    f.seek(0)
    if head.startswith(b"%PDF-"):
        return PDF_TYPE, ".pdf"
    if head.startswith(b"PK\x03\x04"):
        _check_docx(f)
        return DOCX_TYPE, ".docx"
    raise Rejected("附件只支持 PDF 和 Word（.docx）文件。")


def _check_docx(f):
    try:
        with zipfile.ZipFile(f) as archive:
            names = archive.namelist()
            if len(names) > 10_000:
                raise Rejected("Word 文件结构异常。")
            lowered = {name.lower() for name in names}
            if "[content_types].xml" not in lowered or "word/document.xml" not in lowered:
                raise Rejected("不是有效的 Word（.docx）文件。")
            if any(name.endswith("vbaproject.bin") or name.endswith(".bin") and "vba" in name for name in lowered):
                raise Rejected("不接受含宏的 Word 文件，请另存为普通 .docx 文件后上传。")
            info = next(i for i in archive.infolist() if i.filename.lower() == "[content_types].xml")
            if info.file_size > 1024 * 1024:
                raise Rejected("Word 文件结构异常。")
            types = archive.read(info)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
        raise Rejected("不是有效的 Word（.docx）文件。") from None
    finally:
        f.seek(0)
    if b"macroenabled" in types.lower():
        raise Rejected("不接受含宏的 Word 文件，请另存为普通 .docx 文件后上传。")
    if DOCX_MAIN not in types:
        raise Rejected("不是有效的 Word（.docx）文件。")
