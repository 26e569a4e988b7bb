"""What an uploaded file really is, judged by its content, and the re-encoding of images.

Nothing here trusts a file name or the Content-Type a browser sent: images must decode with Pillow,
videos must carry a real MP4 or WebM container structure, PDFs their header and DOCX files the parts
of a Word document. Every refusal is a `Rejected` with a message for the uploader; nothing here
writes anywhere. core.uploads is the way in that uses these checks.
"""
import io
import re
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from xml.etree import ElementTree  # nosec B405: only small parts, refused when they declare a DTD (see _xml)

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
#: Longest side of the image as shown when opened.
LARGE_SIDE = 1600
MAX_SIDE = 12_000
PDF_TYPE = "application/pdf"
PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOCX_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
#: ISO base-media brands that browsers play as MP4; QuickTime ("qt  ") is refused with its own message.
MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V ",
              b"M4VH", b"M4VP", b"dash", b"mmp4", b"MSNV", b"XAVC", b"3gp4", b"3gp5", b"3gp6"}
BOX_TYPE = re.compile(rb"[\x20-\x7e]{4}")
WEBM_MAGIC = b"\x1a\x45\xdf\xa3"


class Rejected(Exception):
    """`unrecognised`: the file is not of the kind checked at all (rather than a bad or too large one)."""

    def __init__(self, message, unrecognised=False):
        super().__init__(message)
        self.message = message
        self.unrecognised = unrecognised


def megabytes(limit):
    return f"{limit / (1024 * 1024):g} MB"


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


# --- images -----------------------------------------------------------------------------------


@dataclass
class ProcessedImage:
    large: bytes
    #: The light variant (longest side `small_side`), when asked for.
    small: bytes | None
    width: int
    height: int


def process_image(f, max_bytes, max_pixels, small_side=None):
    """Decode an image, refuse anything suspicious, and re-encode it as metadata-free JPEGs.

    `large` has the longest side LARGE_SIDE at most; `small` is made only when `small_side` is given.
    """
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
            raise Rejected("不是可识别的图片，请上传 JPEG、PNG、WebP 或 GIF 格式的图片。", unrecognised=True) from None
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
    large = _shrunk(image, LARGE_SIDE)
    small = _jpeg(_shrunk(image, small_side), 75) if small_side else None
    return ProcessedImage(_jpeg(large, 85), small, large.width, large.height)


def _shrunk(image, side):
    copy = image.copy()
    copy.thumbnail((side, side), Image.Resampling.LANCZOS)
    return copy


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


def looks_like_video(head):
    """Whether the first bytes of a file are those of an MP4 or a WebM (Matroska) container."""
    return head[4:8] == b"ftyp" or head[:4] == WEBM_MAGIC


def video_type(f, max_bytes):
    """Return (MIME type, extension) of an MP4 or WebM video after checking its container; refuse anything else."""
    size = check_size(f, max_bytes, "视频")
    head = f.read(12)
    f.seek(0)
    if head[4:8] == b"ftyp":
        _check_mp4(f, size)
        return "video/mp4", ".mp4"
    if head[:4] == WEBM_MAGIC:
        _check_webm(f)
        return "video/webm", ".webm"
    raise Rejected("视频只支持 MP4 或 WebM 格式。", unrecognised=True)


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


def looks_like_document(head):
    """Whether the first bytes of a file are those of a PDF or of a zip package (as DOCX files are)."""
    return head.startswith((PDF_MAGIC, ZIP_MAGIC))


def document_type(f, max_bytes):
    """Return (MIME type, extension) of a PDF or DOCX file; refuse anything else, and documents carrying
    something else: macros, OLE objects or programs, external templates and content, web pages, scripts."""
    check_size(f, max_bytes, "附件")
    head = f.read(8)
    f.seek(0)
    if head.startswith(PDF_MAGIC):
        _check_pdf(f)
        return PDF_TYPE, ".pdf"
    if head.startswith(ZIP_MAGIC):
        _check_docx(f)
        return DOCX_TYPE, ".docx"
    raise Rejected("附件只支持 PDF 和 Word（.docx）文件。", unrecognised=True)


# A PDF may not also be a web page (a polyglot: served or saved as HTML, its script runs) nor carry
# scripts, launch actions or embedded files. Browsers sniff the first bytes for tags; anywhere else
# only markers long enough never to occur by chance in compressed streams are sought.
HTML_AT_START = re.compile(rb"<(?:!doctype|!--|html|head|body|script|iframe|frameset|svg|img|object|embed|meta|link"
                           rb"|style|base|form|title)[\s/>]", re.IGNORECASE)
HTML_ANYWHERE = re.compile(rb"<(?:script|iframe|frameset|object|embed)[\s/>]|<!doctype\s+html"
                           rb"|<(?:html|body|svg|img|video|audio|details|input)\b[^>]{0,200}\bon[a-z]+\s*=",
                           re.IGNORECASE)
#: PDF names of actions and contents that run or drop something (hex escapes like /J#61vaScript decoded first).
PDF_ACTIVE = re.compile(rb"/(?:JavaScript|Launch|EmbeddedFile|RichMedia|XFA)(?![A-Za-z])")
PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
PDF_HTML = "该 PDF 文件中夹带了网页代码（HTML 或脚本），可能是伪装的恶意文件。请从原始文档重新导出 PDF 后上传。"
PDF_SCRIPT = "不接受含有脚本、启动程序或内嵌文件的 PDF 文件，请重新导出为普通 PDF 后上传。"
SCAN_CHUNK = 1 << 20
SCAN_OVERLAP = 512


def _check_pdf(f):
    if HTML_AT_START.search(f.read(1024)):
        f.seek(0)
        raise Rejected(PDF_HTML)
    f.seek(0)
    tail = b""
    try:
        while chunk := f.read(SCAN_CHUNK):
            window = tail + chunk
            if HTML_ANYWHERE.search(window):
                raise Rejected(PDF_HTML)
            if PDF_ACTIVE.search(PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m[1], 16)]), window)):
                raise Rejected(PDF_SCRIPT)
            tail = window[-SCAN_OVERLAP:]
    finally:
        f.seek(0)


# A DOCX carries only the Word document: no macro project (under any name), no embedded object or
# program, no ActiveX control, no relationship reaching outside the file except web and mail links.
DOCX_MACRO = "不接受含宏的 Word 文件，请另存为普通 .docx 文件后上传。"
DOCX_OBJECT = "不接受嵌入了其他文件或对象（OLE 对象、可执行程序等）的 Word 文件，请删除嵌入的对象，或另存为 PDF 后上传。"
DOCX_EXTERNAL = ("不接受引用外部模板或外部内容的 Word 文件（打开时会从网络或其他电脑读取内容），"
                 "请在 Word 中另存为新文档或 PDF 后上传。")
DOCX_INVALID = "不是有效的 Word（.docx）文件。"
#: Markers, in lower case, of macro parts and of embedded objects in part names and content types.
MACRO_MARKERS = ("vbaproject", "vbadata", "macroenabled", "keymapcustomizations", "attachedtoolbars")
OBJECT_MARKERS = ("oleobject", "activex", "embeddings/")
#: Relationship types (their last segment) that point at a macro project or an embedded object.
MACRO_RELATIONSHIPS = {"vbaproject", "wordvbadata", "keymapcustomizations", "attachedtoolbars"}
OBJECT_RELATIONSHIPS = {"oleobject", "package", "activex", "activexcontrolbinary", "control"}
#: Relationship types that fetch content from elsewhere when the document opens.
FETCHING_RELATIONSHIPS = {"attachedtemplate", "frame", "subdocument"}
#: What a part may not start with: an OLE compound file (macro project, OLE object), a Windows
#: program, an ELF binary, another zip package.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
PROGRAM_MAGIC = (b"MZ", b"\x7fELF", b"PK\x03\x04")
EXTERNAL_LINKS = re.compile(r"(?:https?://|mailto:)[^\\]*", re.IGNORECASE)
#: A template on the author's own drive (documents made from a custom template name one): nothing is
#: fetched from the network. A share (\\host, file://host/) or a web address is refused.
LOCAL_TEMPLATE = re.compile(r"file:///[a-z]:[\\/][^\\/].*", re.IGNORECASE)
#: Word keeps a chart's data as an embedded workbook; it is allowed when it is a plain .xlsx package.
CHART_WORKBOOK = re.compile(r"word/embeddings/[^/]+\.xlsx")
MAX_CHART_WORKBOOK = 20 * 1024 * 1024
MAX_XML_PART = 1024 * 1024


def _check_docx(f):
    try:
        with zipfile.ZipFile(f) as archive:
            members = archive.infolist()
            if len(members) > 10_000:
                raise Rejected("Word 文件结构异常。")
            by_name = {member.filename.lower(): member for member in members}
            if "[content_types].xml" not in by_name or "word/document.xml" not in by_name:
                raise Rejected(DOCX_INVALID)
            _check_part_names(by_name)
            types = _content_types(_xml(archive, by_name["[content_types].xml"]))
            _check_markers(types)
            if DOCX_MAIN.decode().lower() not in types:
                raise Rejected(DOCX_INVALID)
            for name, member in by_name.items():
                if name.endswith(".rels"):
                    _check_relationships(_xml(archive, member), charts=name.startswith("word/charts/_rels/"))
            for member in members:
                if not member.is_dir():
                    _check_part_content(archive, member)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError, RuntimeError,
            ValueError, zlib.error):
        raise Rejected(DOCX_INVALID) from None
    finally:
        f.seek(0)


def _check_part_names(by_name):
    for name in by_name:
        if any(marker in name for marker in MACRO_MARKERS):
            raise Rejected(DOCX_MACRO)
        if CHART_WORKBOOK.fullmatch(name):  # checked by its content (_check_chart_workbook)
            continue
        if name.endswith(".bin") or any(marker in name for marker in OBJECT_MARKERS):
            raise Rejected(DOCX_OBJECT)


def _check_markers(values):
    for value in values:
        if any(marker in value for marker in MACRO_MARKERS):
            raise Rejected(DOCX_MACRO)
        if any(marker in value for marker in OBJECT_MARKERS):
            raise Rejected(DOCX_OBJECT)


def _xml(archive, member):
    """Parse a small XML part (content types, relationships); no DTDs, so no entity expansion."""
    if member.file_size > MAX_XML_PART:
        raise Rejected("Word 文件结构异常。")
    data = archive.read(member)
    data.decode("utf-8")  # Word writes UTF-8; another encoding could hide a DTD from the check below
    if b"<!doctype" in data.lower() or b"<!entity" in data.lower():
        raise Rejected(DOCX_INVALID)
    try:
        return ElementTree.fromstring(data)  # nosec B314: no DTD (checked above), at most 1 MB
    except ElementTree.ParseError:
        raise Rejected(DOCX_INVALID) from None


def _content_types(root):
    return [element.get("ContentType", "").lower() for element in root.iter()]


def _check_relationships(root, charts=False):
    """`charts`: the relationships of a chart part, which may point at the chart's embedded workbook."""
    for element in root.iter():
        if not element.tag.endswith("Relationship"):
            continue
        kind = element.get("Type", "").lower().rstrip("/").rsplit("/", 1)[-1]
        external = element.get("TargetMode", "").lower() == "external"
        target = element.get("Target", "").strip()
        if kind == "attachedtemplate" and external and LOCAL_TEMPLATE.fullmatch(target):
            continue
        if kind == "package" and charts and not external and target.lower().endswith(".xlsx"):
            continue
        if kind in FETCHING_RELATIONSHIPS or (external and not (kind == "hyperlink" and EXTERNAL_LINKS.fullmatch(target))):
            raise Rejected(DOCX_EXTERNAL)
        if kind in MACRO_RELATIONSHIPS:
            raise Rejected(DOCX_MACRO)
        if kind in OBJECT_RELATIONSHIPS:
            raise Rejected(DOCX_OBJECT)


def _check_part_content(archive, member):
    with archive.open(member) as part:
        head = part.read(8)
    if head.startswith(OLE_MAGIC):
        raise Rejected(DOCX_MACRO)
    if head.startswith(b"PK\x03\x04") and CHART_WORKBOOK.fullmatch(member.filename.lower()):
        _check_chart_workbook(archive, member)
    elif head.startswith(PROGRAM_MAGIC):
        raise Rejected(DOCX_OBJECT)


def _check_chart_workbook(archive, member):
    """A chart's data: a plain workbook, itself without macros, objects or outside references."""
    if member.file_size > MAX_CHART_WORKBOOK:
        raise Rejected(DOCX_OBJECT)
    with zipfile.ZipFile(io.BytesIO(archive.read(member))) as workbook:
        parts = workbook.infolist()
        by_name = {part.filename.lower(): part for part in parts}
        if len(parts) > 1_000 or "[content_types].xml" not in by_name or "xl/workbook.xml" not in by_name:
            raise Rejected(DOCX_OBJECT)
        _check_part_names(by_name)
        _check_markers(_content_types(_xml(workbook, by_name["[content_types].xml"])))
        for name, part in by_name.items():
            if name.endswith(".rels"):
                _check_relationships(_xml(workbook, part))
        for part in parts:
            if not part.is_dir():
                with workbook.open(part) as content:
                    head = content.read(8)
                if head.startswith(OLE_MAGIC) or head.startswith(PROGRAM_MAGIC):
                    raise Rejected(DOCX_OBJECT)
