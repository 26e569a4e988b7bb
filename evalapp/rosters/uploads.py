"""Uploaded roster files: random names in the instance folder, owner-only, deleted when the import ends.

They hold national ID numbers in the clear, so nothing else may copy them, and every way out of an
import (applied, failed, abandoned, left too long) deletes them.
"""
import io
import os
import re
import secrets
import shutil
from pathlib import Path

from flask import current_app, g

STORED_NAME = re.compile(r"[0-9a-f]{32}")


def folder():
    """Return the upload folder (ROSTER_UPLOAD_FOLDER, else instance/uploads/rosters), creating it."""
    configured = current_app.config.get("ROSTER_UPLOAD_FOLDER")
    path = Path(configured) if configured else Path(current_app.instance_path) / "uploads" / "rosters"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


class SpooledUpload(io.FileIO):
    """An upload that the request parser writes straight into the upload folder."""

    stored_name = None


def stream_factory(total_content_length, content_type, filename=None, content_length=None):
    """Werkzeug's file-stream hook: spool an upload into the upload folder, not into /tmp.

    The file is deleted when the request ends unless a view `claim`s it for an import job.
    """
    name = secrets.token_hex(16)
    stream = SpooledUpload(_create(name), "r+")
    stream.stored_name = name
    g.setdefault("roster_spools", []).append(name)
    return stream


def claim(name):
    """Keep the spooled upload `name` beyond the request (a job now owns it)."""
    spools = g.get("roster_spools", [])
    if name in spools:
        spools.remove(name)


def discard_unclaimed():
    """Delete the spooled uploads of this request that no job owns."""
    for name in g.pop("roster_spools", []):
        delete(name)


def save(stream):
    """Return the stored name of an uploaded stream, copying it into a new file unless already spooled."""
    if isinstance(stream, SpooledUpload):
        stream.flush()
        return stream.stored_name
    name = secrets.token_hex(16)
    with os.fdopen(_create(name), "wb") as target:
        shutil.copyfileobj(stream, target, 1 << 20)
    return name


def _create(name):
    return os.open(folder() / name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)


def path_of(stored_name):
    if not stored_name or not STORED_NAME.fullmatch(stored_name):
        raise FileNotFoundError("no stored roster file")
    return folder() / stored_name


def delete(stored_name):
    """Delete a stored file if it is still there."""
    if stored_name and STORED_NAME.fullmatch(stored_name):
        (folder() / stored_name).unlink(missing_ok=True)
