"""Model uploads: validated (size, TFLite flatbuffer) before anything is stored.

Models are content-addressed: the file lives at `<store>/<sha256>.tflite` and the same
bytes uploaded twice are the same model, so a phone caches each model exactly once.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from contracts.settings import get_settings
from contracts.tflite import TFLiteError, inspect_tflite
from server.api.errors import NotFound, ProblemError
from server.auth.service import Principal
from server.models.models import Model

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ +()-]{0,199}$")
CHUNK = 1 << 20


def check_name(name: str) -> str:
    name = name.strip()
    if "/" in name or "\\" in name or "\x00" in name:
        raise ProblemError(
            422, "Invalid model name", f"Model name {name!r} must not contain path separators."
        )
    if not NAME_RE.match(name):
        raise ProblemError(
            422,
            "Invalid model name",
            f"Model name {name!r} must be 1-200 letters, digits, spaces or ._+()- and start with a letter or digit.",
        )
    return name


def _spool(stream: BinaryIO, limit: int) -> tuple[Path, str, int]:
    """Copy the upload to a temp file in the store, hashing as we go; stop at the size limit."""
    store = get_settings().model_store
    store.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=store, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ProblemError(
                        413,
                        "Model too large",
                        f"The file is larger than the {limit // (1 << 20)} MiB limit (FARM_MAX_UPLOAD_MB).",
                    )
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp), digest.hexdigest(), size


def store_model(
    db: Session,
    stream: BinaryIO,
    name: str,
    owner: Principal | None,
    public: bool = True,
    zoo_name: str | None = None,
) -> tuple[Model, bool]:
    """Validate and store an upload. Returns the model and whether it was new."""
    name = check_name(name)
    limit = get_settings().max_upload_mb << 20
    tmp, sha, size = _spool(stream, limit)
    try:
        if size == 0:
            raise ProblemError(422, "Empty file", "The uploaded file is empty; send a .tflite model.")
        try:
            info = inspect_tflite(tmp.read_bytes())
        except TFLiteError as exc:
            raise ProblemError(422, "Not a TFLite model", f"{name}: {exc}") from exc
        existing = db.scalar(select(Model).where(Model.sha256 == sha))
        if existing is not None:
            if zoo_name and not existing.zoo_name:
                existing.zoo_name = zoo_name
            return existing, False
        final = get_settings().model_store / f"{sha}.tflite"
        os.replace(tmp, final)
        model = Model(
            sha256=sha,
            name=name,
            size_bytes=size,
            inputs=[t.as_dict() for t in info.inputs],
            outputs=[t.as_dict() for t in info.outputs],
            operators=list(info.operators),
            path=str(final.resolve()),
            owner=owner.name if owner else None,
            public=public,
            zoo_name=zoo_name,
        )
        db.add(model)
        db.flush()
        return model, True
    finally:
        tmp.unlink(missing_ok=True)


def visible(principal: Principal) -> ColumnElement[bool]:
    """SQL filter: public models, plus the caller's own, plus everything for admins."""
    if principal.is_admin:
        return true()
    return or_(Model.public, Model.owner == principal.name)


def list_models(db: Session, principal: Principal) -> list[Model]:
    return list(db.scalars(select(Model).where(visible(principal)).order_by(Model.id.desc())))


def get_model(db: Session, principal: Principal, model_id: int) -> Model:
    model = db.get(Model, model_id)
    if model is None or not (model.public or principal.is_admin or model.owner == principal.name):
        raise NotFound("model", model_id)
    return model


def find_model(db: Session, principal: Principal, ref: str) -> Model:
    """A model by id, sha256 (or a unique prefix of 8+ chars) or zoo name."""
    query = select(Model).where(visible(principal))
    if ref.isdecimal():
        query = query.where(Model.id == int(ref))
    elif re.fullmatch(r"[0-9a-f]{8,64}", ref):
        query = query.where(Model.sha256.startswith(ref))
    else:
        query = query.where(or_(Model.zoo_name == ref, Model.name == ref))
    rows = list(db.scalars(query.order_by(Model.id.desc()).limit(2)))
    if not rows:
        raise ProblemError(
            422, "Unknown model", f"No model matches {ref!r}; upload it first (POST /api/v1/models)."
        )
    return rows[0]
