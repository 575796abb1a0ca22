"""Model uploads: validated (size, TFLite flatbuffer) before anything is stored.

Files are content-addressed: the file lives at `<store>/<sha256>.tflite`, so a phone caches
each file exactly once. Records are not: the same bytes uploaded by two users are two model
records (each with its owner, name and privacy) sharing one file; the same user uploading
the same bytes twice gets their first record back. Only admins publish zoo names.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from contracts.settings import get_settings
from contracts.tflite import TFLiteError, inspect_file
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
    """Validate and store an upload. Returns the caller's model record and whether it was new."""
    name = check_name(name)
    if zoo_name is not None:
        zoo_name = _check_zoo_name(db, owner, zoo_name)
    limit = get_settings().max_upload_mb << 20
    tmp, sha, size = _spool(stream, limit)
    owner_id = owner.user_id if owner else None
    try:
        if size == 0:
            raise ProblemError(422, "Empty file", "The uploaded file is empty; send a .tflite model.")
        try:
            info = inspect_file(tmp)  # in a child process with CPU and memory limits
        except TFLiteError as exc:
            raise ProblemError(422, "Not a TFLite model", f"{name}: {exc}") from exc
        existing = _own_copy(db, sha, owner_id)
        if existing is not None:
            return existing, False
        final = get_settings().model_store / f"{sha}.tflite"
        os.replace(tmp, final)  # same bytes, same name: replacing another owner's file changes nothing
        model = Model(
            sha256=sha,
            name=name,
            size_bytes=size,
            inputs=[t.as_dict() for t in info.inputs],
            outputs=[t.as_dict() for t in info.outputs],
            operators=list(info.operators),
            path=str(final.resolve()),
            owner_id=owner_id,
            public=public,
            zoo_name=zoo_name,
        )
        try:
            with db.begin_nested():  # two uploads of the same bytes at once: one record, no 500
                db.add(model)
        except IntegrityError:
            again = _own_copy(db, sha, owner_id)
            if again is None:
                raise
            return again, False
        return model, True
    finally:
        tmp.unlink(missing_ok=True)


def _own_copy(db: Session, sha: str, owner_id: int | None) -> Model | None:
    owned = Model.owner_id.is_(None) if owner_id is None else Model.owner_id == owner_id
    return db.scalar(select(Model).where(Model.sha256 == sha, owned).order_by(Model.id).limit(1))


def _check_zoo_name(db: Session, owner: Principal | None, zoo_name: str) -> str:
    """Zoo names are published by admins and unique: nobody can take over a name others rely on."""
    zoo_name = check_name(zoo_name)
    if owner is not None and not owner.is_admin:
        raise ProblemError(
            403, "Forbidden", "Only admins publish zoo names; upload without zoo_name and refer to it by id."
        )
    taken = db.scalar(select(Model.id).where(Model.zoo_name == zoo_name).limit(1))
    if taken is not None:
        raise ProblemError(409, "Zoo name taken", f"Zoo name {zoo_name!r} already names model {taken}.")
    return zoo_name


def visible(principal: Principal) -> ColumnElement[bool]:
    """SQL filter: public models, plus the caller's own, plus everything for admins."""
    if principal.is_admin:
        return true()
    return or_(Model.public, principal.mine(Model.owner_id))


def list_models(db: Session, principal: Principal) -> list[Model]:
    query = select(Model).options(selectinload(Model.owner_user)).where(visible(principal))
    return list(db.scalars(query.order_by(Model.id.desc())))


def get_model(db: Session, principal: Principal, model_id: int) -> Model:
    model = db.get(Model, model_id)
    if model is None or not (model.public or principal.is_admin or principal.owns(model.owner_id)):
        raise NotFound("model", model_id)
    return model


def find_model(db: Session, principal: Principal, ref: str) -> Model:
    """A model by id, sha256 (or a unique prefix of 8+ chars), name or zoo name.

    Names resolve to the caller's own model first (their newest upload of that name), then
    to an admin-published zoo name, then to another visible model only when exactly one
    matches; otherwise 409 with the candidates, never whichever row comes first.
    """
    query = select(Model).where(visible(principal))
    mine = principal.mine(Model.owner_id)
    if ref.isdecimal():
        rows = list(db.scalars(query.where(Model.id == int(ref))))
    elif re.fullmatch(r"[0-9a-f]{8,64}", ref):
        rows = list(
            db.scalars(
                query.where(Model.sha256.startswith(ref)).order_by(mine.desc(), Model.id.desc()).limit(20)
            )
        )
        own = [m for m in rows if principal.owns(m.owner_id)]
        rows = own[:1] or rows
    else:
        own = db.scalar(
            query.where(mine, or_(Model.name == ref, Model.zoo_name == ref))
            .order_by(Model.id.desc())
            .limit(1)
        )
        zoo = None if own else db.scalar(query.where(Model.zoo_name == ref).limit(1))
        found = own or zoo
        rows = (
            [found]
            if found
            else list(db.scalars(query.where(Model.name == ref).order_by(Model.id.desc()).limit(20)))
        )
    if not rows:
        raise ProblemError(
            422, "Unknown model", f"No model matches {ref!r}; upload it first (POST /api/v1/models)."
        )
    # several records of the same bytes (different owners) measure the same thing: any will do
    if len(rows) > 1 and (len({m.sha256 for m in rows}) > 1 or not re.fullmatch(r"[0-9a-f]{8,64}", ref)):
        candidates = [{"id": m.id, "name": m.name, "owner": m.owner, "sha256": m.sha256} for m in rows]
        raise ProblemError(
            409,
            "Ambiguous model",
            f"{len(rows)} models match {ref!r}; refer to one by id.",
            candidates=candidates,
        )
    return rows[0]
