"""The one way in for uploaded files: checked completely first, stored so that they follow the transaction.

    photo = uploads.accept(stream, name, (Kind.image, Kind.document), max_bytes=..., max_pixels=...)
    ...                                  # every file of the request accepted, the rows locked
    key = photo.store()

`accept` spools the stream, tells by the first bytes which of the allowed kinds the file claims to
be, checks it as that kind (core.filetypes: images decoded and re-encoded as JPEGs without metadata,
videos by their container, PDF and DOCX by their structure) and cleans the uploader's file name.
Anything wrong is a `Refused` (400) that quotes the file name; nothing has been stored then. Each
caller passes its own limits and the kinds it takes.
"""
import enum
import io
import tempfile
import unicodedata
from dataclasses import dataclass

from evalapp.core import filetypes
from evalapp.core.errors import Refused
from evalapp.core.storage import discard_on_rollback, storage


class Kind(enum.StrEnum):
    image = "image"
    video = "video"
    document = "document"


@dataclass(frozen=True)
class Accepted:
    """A file that passed its checks: what to store and what to record about it."""

    kind: Kind
    #: The bytes of a re-encoded image, or the uploaded file itself (seekable).
    content: object
    mimetype: str
    size: int
    #: The uploader's file name, cleaned, with the extension that the content has.
    name: str
    width: int | None = None
    height: int | None = None
    #: An image's light variant, when `small_side` was given.
    small: bytes | None = None

    def store(self):
        return store(self.content)


def accept(stream, name, kinds, *, max_bytes, max_pixels=None, small_side=None, unrecognised=None,
           quote_name=True):
    """Check an uploaded file against the allowed `kinds` (in order of preference); return it `Accepted`.

    `max_pixels` and `small_side` apply to images; `unrecognised` replaces the refusal of a file
    that is none of the kinds; `quote_name=False` leaves the file name out of the refusal.
    """
    f = _spooled(stream)
    try:
        return _checked(f, name, _kind_of(f, kinds), max_bytes, max_pixels, small_side)
    except filetypes.Rejected as rejected:
        message = unrecognised if rejected.unrecognised and unrecognised else rejected.message
        raise Refused(f"“{shown_name(name)}”：{message}" if quote_name else message, 400) from None


def store(content):
    """Save bytes or a seekable file through core.storage; the bytes go again if the transaction rolls back."""
    stream = io.BytesIO(content) if isinstance(content, bytes) else content
    stream.seek(0)
    key = storage().save(stream)
    discard_on_rollback(key)
    return key


def shown_name(name):
    """The uploader's file name as quoted back in a message (short, no path)."""
    return _display_name(name)[:60] or "文件"


def _kind_of(f, kinds):
    """The allowed kind that the first bytes point at. Only decoding tells an image, so images take the
    rest; a file that looks like none of the kinds goes to the first one, whose check refuses it."""
    head = f.read(12)
    f.seek(0)
    if Kind.document in kinds and filetypes.looks_like_document(head):
        return Kind.document
    if Kind.video in kinds and filetypes.looks_like_video(head):
        return Kind.video
    return Kind.image if Kind.image in kinds else kinds[0]


def _checked(f, name, kind, max_bytes, max_pixels, small_side):
    if kind == Kind.image:
        image = filetypes.process_image(f, max_bytes, max_pixels, small_side)
        return Accepted(kind, image.large, "image/jpeg", len(image.large), _clean_name(name, ".jpg"),
                        image.width, image.height, image.small)
    check = filetypes.video_type if kind == Kind.video else filetypes.document_type
    mimetype, extension = check(f, max_bytes)
    return Accepted(kind, f, mimetype, filetypes.size_of(f), _clean_name(name, extension))


def _spooled(stream):
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


def _display_name(name):
    """The uploader's file name without any path, control or format characters (NUL, newlines, RTL overrides)."""
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C" and unicodedata.category(ch) not in ("Zl", "Zp"))
    return name.strip(" .")


def _clean_name(name, extension):
    """A display and download name from the uploader's file name, with the extension the content has."""
    name = _display_name(name)
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return (stem.strip(" .")[:150] or "附件") + extension
