"""Where uploaded files live: one small interface, a local-disk implementation, more to come.

Domain code never touches paths. It saves a stream and keeps the key it gets back::

    from evalapp.core.storage import storage

    key = storage().save(stream, max_bytes=10 * 1024 * 1024)   # TooLarge if the stream is longer
    with storage().open(key) as f: ...
    storage().size(key)
    return storage().send(key, mimetype="image/jpeg")          # a Flask response, Range requests included
    storage().delete(key)

Inside an operation, pair a save with `discard_on_rollback(key)` and a deletion with
`delete_on_commit(key)`, so that the files follow the fate of the database transaction.

Keys are random (128 bits, hex), never derived from a user's file name, and checked against a strict
pattern before any use, so a key taken from the database or a URL can never name a path outside the
store. The store knows nothing about who may read a file: the view that calls `send` decides that,
and it must also choose the Content-Type (never echo what the uploader's browser claimed). `open`,
`size` and `send` raise FileNotFoundError for a missing or malformed key: answer 404.

`STORAGE_BACKEND` picks the implementation ("local" by default, or the dotted path of a class that
takes the app); `UPLOAD_FOLDER` is the local root (default: instance/uploads). An object store
(S3, MinIO, OSS) can be added as another `Storage` subclass whose `send` redirects to a short-lived
signed URL (with the response Content-Type and Content-Disposition fixed in the signature); nothing
else in the application has to change.
"""
import abc
import io
import os
import re
import secrets
from importlib import import_module
from pathlib import Path

from flask import current_app, send_file
from sqlalchemy import event

from evalapp.core.db import db, final_commit
from evalapp.core.downloads import content_disposition

KEY = re.compile(r"[0-9a-f]{32}")
CHUNK = 1 << 20
IN_MEMORY_BYTES = 2 * 1024 * 1024


class TooLarge(Exception):
    """The stream was longer than `max_bytes`; nothing was stored."""


class Storage(abc.ABC):
    """The interface an object store implements (LocalStorage below); `save` must be all-or-nothing."""

    @abc.abstractmethod
    def save(self, stream, max_bytes=None):
        """Store the rest of binary `stream` under a new random key and return the key."""

    @abc.abstractmethod
    def open(self, key):
        """Return a readable, seekable binary file object (use it as a context manager)."""

    @abc.abstractmethod
    def size(self, key):
        """Return the object's size in bytes."""

    @abc.abstractmethod
    def exists(self, key):
        """Return whether an object is stored under `key`."""

    @abc.abstractmethod
    def delete(self, key):
        """Remove the object if it is there; deleting a missing key is not an error."""

    @abc.abstractmethod
    def send(self, key, mimetype, download_name=None, as_attachment=False):
        """Return a response that delivers the object, honouring conditional and Range requests."""


def new_key():
    return secrets.token_hex(16)


def check_key(key):
    """Return `key` if it is a well-formed storage key; raise FileNotFoundError otherwise."""
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise FileNotFoundError("not a storage key")
    return key


class LocalStorage(Storage):
    """Files under one root folder, fanned out by the key's first two characters (ab/abcd…).

    Files and folders are private to the app's user by default (0600, 0700). Behind nginx with
    X-Accel-Redirect, nginx (another user) reads them: the modes then give a group both share read
    access (UPLOAD_FILE_MODE 0640, UPLOAD_DIR_MODE 2750, docs/deployment.md). They are set with chmod,
    whatever the process's umask.
    """

    def __init__(self, root, file_mode=0o600, dir_mode=0o700):
        self.root = Path(root)
        self.file_mode, self.dir_mode = file_mode, dir_mode

    def _folder(self, path):
        for folder in (self.root, path):
            if not folder.exists():
                folder.mkdir(parents=True, exist_ok=True)
                os.chmod(folder, self.dir_mode)

    def _path(self, key):
        key = check_key(key)
        return self.root / key[:2] / key

    def save(self, stream, max_bytes=None):
        key = new_key()
        target = self._path(key)
        self._folder(target.parent)
        # Write under a temporary name and rename at the end, so that no reader ever sees half a file.
        partial = target.with_name(f".{key}.part")
        written = 0
        try:
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.fchmod(descriptor, self.file_mode)
            with open(descriptor, "wb") as out:
                while chunk := stream.read(CHUNK):
                    written += len(chunk)
                    if max_bytes is not None and written > max_bytes:
                        raise TooLarge(max_bytes)
                    out.write(chunk)
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return key

    def open(self, key):
        return open(self._path(key), "rb")

    def size(self, key):
        return self._path(key).stat().st_size

    def exists(self, key):
        try:
            return self._path(key).is_file()
        except FileNotFoundError:
            return False

    def delete(self, key):
        try:
            self._path(key).unlink(missing_ok=True)
        except FileNotFoundError:  # a malformed key names nothing
            pass

    def send(self, key, mimetype, download_name=None, as_attachment=False):
        path = self._path(key)
        stat = path.stat()  # FileNotFoundError when it is gone
        accel_prefix = current_app.config.get("UPLOADS_ACCEL_PREFIX")
        if accel_prefix:
            return _accel_redirect(accel_prefix, key, mimetype, download_name, as_attachment)
        source = path
        if stat.st_size <= IN_MEMORY_BYTES and not current_app.config.get("USE_X_SENDFILE"):
            # Small files (pictures) are read whole: no descriptor stays open while a slow phone
            # downloads, or when a response is never read to the end.
            source = io.BytesIO(path.read_bytes())
        # conditional=True answers Range requests with 206 + Content-Range (phones seek in videos that
        # way). The bytes under a key never change, so the key is a perfect ETag.
        return send_file(source, mimetype=mimetype, as_attachment=as_attachment, download_name=download_name,
                         conditional=True, etag=key, last_modified=stat.st_mtime, max_age=0)


def _accel_redirect(prefix, key, mimetype, download_name, as_attachment):
    """Let nginx send the bytes (X-Accel-Redirect to its internal location), after our checks.

    The view has already decided who may read the file; nginx then serves it with Range support
    and without holding a Python worker for the length of a slow download (docs/deployment.md).
    """
    response = current_app.response_class(b"", mimetype=mimetype)
    response.headers["X-Accel-Redirect"] = f"{prefix.rstrip('/')}/{key[:2]}/{key}"
    if download_name is not None:
        response.headers["Content-Disposition"] = content_disposition(download_name, as_attachment)
    response.headers["Cache-Control"] = "private, max-age=0"
    return response


def discard_on_rollback(key):
    """Delete the object `key` (just saved) unless the current database transaction commits.

    An operation stores the bytes before it writes the row that points at them; if anything later
    refuses or fails, the bytes must not stay behind as an orphan nobody can reach or clean up.
    """
    db.session.info.setdefault(_NEW, []).append((storage(), key))


def delete_on_commit(key):
    """Delete the object `key` once the current database transaction commits (not if it rolls back).

    Deleting at once would lose the bytes of a row that a rollback brings back.
    """
    db.session.info.setdefault(_DOOMED, []).append((storage(), key))


_NEW, _DOOMED = "evalapp.storage.new", "evalapp.storage.doomed"


@event.listens_for(db.session, "after_commit")
def _after_commit(session):
    if not final_commit(session):
        return
    session.info.pop(_NEW, None)
    for store, key in session.info.pop(_DOOMED, []):
        store.delete(key)


@event.listens_for(db.session, "after_transaction_end")
def _after_transaction_end(session, transaction):
    # After a commit nothing is left here; after a rollback (or a session closed without committing)
    # the new files had their rows undone, and the doomed ones keep theirs.
    if transaction.parent is None:
        session.info.pop(_DOOMED, None)
        for store, key in session.info.pop(_NEW, []):
            store.delete(key)


BACKENDS = {"local": lambda app: LocalStorage(app.config.get("UPLOAD_FOLDER") or Path(app.instance_path) / "uploads",
                                              app.config["UPLOAD_FILE_MODE"], app.config["UPLOAD_DIR_MODE"])}


def storage():
    """Return the configured store of the current app (built on first use, then kept)."""
    app = current_app._get_current_object()
    wanted = (app.config.get("STORAGE_BACKEND") or "local", str(app.config.get("UPLOAD_FOLDER") or ""))
    cached = app.extensions.get("evalapp.storage")
    if cached is None or cached[0] != wanted:  # tests point UPLOAD_FOLDER elsewhere per test
        cached = (wanted, _build(app, wanted[0]))
        app.extensions["evalapp.storage"] = cached
    return cached[1]


def _build(app, backend):
    if backend in BACKENDS:
        return BACKENDS[backend](app)
    module, _, name = backend.rpartition(".")
    return getattr(import_module(module), name)(app)
