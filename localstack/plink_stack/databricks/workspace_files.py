"""Workspace objects (notebooks, workspace files, directories) on the workspace host: the part of the
Workspace API a client needs to upload a task file, run it and remove it again (databricks-sdk 0.162
``w.workspace``: ``import_``, ``get_status``, ``list``, ``mkdirs``, ``delete``; docs
``api/workspace-files/v1/import``).

Routes (workspace host, or the account host with ``X-Databricks-Workspace-Id``):

* ``POST /api/2.0/workspace/import`` ``{path, content (base64), format?, language?, overwrite?}`` ->
  ``{}``; a multipart form with the same fields and a ``content`` file part (the SDK's
  ``workspace.upload``) is accepted too. What gets created (docs: "AUTO: The item is imported depending
  on an analysis of the item's extension and the header content ... If the item is imported as a
  notebook, then the item's extension is automatically removed"; "To import a single file as SOURCE,
  you must set the language field"):

  - ``AUTO``: a ``NOTEBOOK`` at the path minus its extension when the extension is a notebook
    language's (``.py``, ``.sql``, ``.scala``, ``.r``) *and* the content starts with that language's
    ``Databricks notebook source`` header; otherwise a ``FILE`` at the path as given;
  - ``SOURCE`` (the default): a ``NOTEBOOK`` at the path as given; ``language`` is required (without
    it the real API imports a directory, not emulated: 400);
  - ``RAW``: a ``FILE``; ``JUPYTER``, ``HTML``, ``R_MARKDOWN``: a ``NOTEBOOK`` (content not
    interpreted); ``DBC``: 501 ``NOT_IMPLEMENTED``.

  A task of ``spark_python_task`` must point at a ``FILE`` (jobs.py): upload it with ``AUTO`` (no
  notebook header) or ``RAW``.
* ``GET /api/2.0/workspace/get-status?path=`` -> ``ObjectInfo`` ``{object_type, path, object_id,
  resource_id, created_at, modified_at, language (notebooks), size (files)}``.
* ``GET /api/2.0/workspace/list?path=`` -> ``{"objects": [ObjectInfo]}`` (``{}`` when empty; the
  object itself when ``path`` is not a directory).
* ``POST /api/2.0/workspace/mkdirs`` ``{path}`` -> ``{}``: creates missing parents; an existing
  directory is fine.
* ``POST /api/2.0/workspace/delete`` ``{path, recursive?}`` -> ``{}``.

Errors (SDK docstrings of ``import_``/``delete``/``mkdirs``/``get_status`` name the codes; the statuses
follow databricks-api.md §7.2):

* path missing / not absolute, bad base64, bad ``format``/``language``, ``SOURCE`` without language
  -> 400 ``INVALID_PARAMETER_VALUE``; content over 10 MB -> 400 ``MAX_NOTEBOOK_SIZE_EXCEEDED``;
* the object exists and ``overwrite`` is not true, an import over a directory, a ``mkdirs`` through a
  non-directory -> 409 ``RESOURCE_ALREADY_EXISTS`` "Path (...) already exists." (status UNCONFIRMED;
  match on the error code);
* unknown path (get-status, list, delete), a missing parent folder on import -> 404
  ``RESOURCE_DOES_NOT_EXIST`` "Path (...) doesn't exist." / "The parent folder (...) does not exist.";
* a non-empty directory without ``recursive`` -> 400 ``DIRECTORY_NOT_EMPTY``; the root -> 400.

Seeded per workspace: ``/``, ``/Users``, ``/Users/<service principal application id>`` (its home
folder), ``/Shared``. Control route ``GET /_plink/workspace-files[?workspace_id=]`` lists every object
but the root (tests check that a client removed what it uploaded).
"""
import base64
import binascii
import hashlib
import itertools
from dataclasses import dataclass

from . import errors, fixtures
from .context import Ctx, get_bool, get_str
from .model import now_ms

MAX_CONTENT_BYTES = 10 * 1024 * 1024  # "The base64-encoded content. This has a limit of 10 MB."
FORMATS = ("AUTO", "SOURCE", "RAW", "JUPYTER", "HTML", "R_MARKDOWN", "DBC")
LANGUAGES = ("PYTHON", "SQL", "SCALA", "R")
# notebook source headers by extension (what AUTO looks for)
NOTEBOOK_HEADERS = {".py": ("PYTHON", b"# Databricks notebook source"),
                    ".sql": ("SQL", b"-- Databricks notebook source"),
                    ".scala": ("SCALA", b"// Databricks notebook source"),
                    ".r": ("R", b"# Databricks notebook source")}
_object_ids = itertools.count(1_000_000_000_000_001)


@dataclass
class WsObject:
    path: str
    object_type: str  # DIRECTORY | FILE | NOTEBOOK
    object_id: int
    created_at: int
    modified_at: int
    language: str | None = None
    content: bytes = b""


def tree(model, workspace_id: int) -> dict[str, WsObject]:
    """The workspace's objects by path, seeded on first use after a reset (``Model._wipe`` clears it)."""
    objects = model.workspace_objects.get(workspace_id)
    if objects is None:
        objects = {}
        for i, path in enumerate(("/", "/Users", f"/Users/{fixtures.CLIENT_ID}", "/Shared")):
            objects[path] = WsObject(path, "DIRECTORY", i, fixtures.SEED_TIME_MS, fixtures.SEED_TIME_MS)
        model.workspace_objects[workspace_id] = objects
    return objects


def normalize(path) -> str:
    if not isinstance(path, str) or not path:
        raise errors.invalid_parameter("Field 'path' is required.")
    if not path.startswith("/"):
        raise errors.invalid_parameter(f"Path ({path}) doesn't start with '/'.")
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise errors.invalid_parameter(f"Path ({path}) is not a valid workspace path.")
    return "/" + "/".join(parts)


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def _children(objects: dict, path: str) -> list[WsObject]:
    return [o for p, o in objects.items() if p != path and _parent(p) == path]


def _missing(path: str) -> errors.ApiError:
    return errors.not_found(f"Path ({path}) doesn't exist.")


def render(o: WsObject) -> dict:
    out = {"object_type": o.object_type, "path": o.path, "object_id": o.object_id,
           "resource_id": str(o.object_id), "created_at": o.created_at, "modified_at": o.modified_at}
    if o.language:
        out["language"] = o.language
    if o.object_type == "FILE":
        out["size"] = len(o.content)
    return out


# --- import ------------------------------------------------------------------------------------------------

def _form_or_json(ctx: Ctx) -> tuple[dict, bytes | None]:
    """The import request's fields and, for a multipart upload, the raw content."""
    if ctx.request.mimetype == "multipart/form-data":
        fields = dict(ctx.request.form)
        part = ctx.request.files.get("content")
        if "overwrite" in fields:
            fields["overwrite"] = str(fields["overwrite"]).lower() == "true"
        return fields, (part.read() if part is not None else b"")
    return ctx.body(), None


def _decode(content) -> bytes:
    if content is None:
        return b""
    if not isinstance(content, str):
        raise errors.invalid_parameter("Field 'content' must be a base64-encoded string.")
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise errors.invalid_parameter("Field 'content' is not valid base64.") from None


def _kind_of(path: str, fmt: str, language: str | None, data: bytes) -> tuple[str, str, str | None]:
    """(object path, object type, language) of an import."""
    if fmt == "AUTO":
        for ext, (lang, header) in NOTEBOOK_HEADERS.items():
            if path.lower().endswith(ext) and data.lstrip().startswith(header):
                return path[:-len(ext)], "NOTEBOOK", lang
        return path, "FILE", None
    if fmt == "RAW":
        return path, "FILE", None
    if fmt == "DBC":
        raise errors.ApiError(501, "NOT_IMPLEMENTED", "The local emulator does not import DBC archives.")
    if language is None:
        if fmt == "SOURCE":
            raise errors.invalid_parameter(
                "The language field is required to import a single file in SOURCE format "
                "(directory imports are not emulated).")
        language = "PYTHON"
    return path, "NOTEBOOK", language


def import_(ctx: Ctx):
    body, raw = _form_or_json(ctx)
    path = normalize(body.get("path"))
    fmt = body.get("format") or "SOURCE"
    if fmt not in FORMATS:
        raise errors.invalid_parameter(f"Invalid format '{fmt}': one of {', '.join(FORMATS)} (case-sensitive).")
    language = body.get("language")
    if language is not None and language not in LANGUAGES:
        raise errors.invalid_parameter(f"Invalid language '{language}': one of {', '.join(LANGUAGES)}.")
    overwrite = body.get("overwrite") if raw is not None else get_bool(body, "overwrite")
    data = raw if raw is not None else _decode(get_str(body, "content"))
    if len(data) > MAX_CONTENT_BYTES:
        raise errors.ApiError(400, "MAX_NOTEBOOK_SIZE_EXCEEDED",
                              f"The content of {path} exceeds the 10 MB import limit.")
    target, object_type, lang = _kind_of(path, fmt, language, data)
    objects = tree(ctx.model, ctx.workspace.workspace_id)
    parent = objects.get(_parent(target))
    if parent is None or parent.object_type != "DIRECTORY":
        raise errors.not_found(f"The parent folder ({_parent(target)}) does not exist.")
    existing = objects.get(target)
    if existing is not None and (existing.object_type == "DIRECTORY" or not overwrite):
        raise errors.already_exists(f"Path ({target}) already exists.")
    ts = now_ms()
    objects[target] = WsObject(target, object_type, existing.object_id if existing else next(_object_ids),
                               existing.created_at if existing else ts, ts, lang, data)
    return {}


# --- read, mkdirs, delete ------------------------------------------------------------------------------------

def lookup(model, workspace_id: int, path: str) -> WsObject | None:
    return tree(model, workspace_id).get(path)


def get_status(ctx: Ctx):
    path = normalize(ctx.args.get("path"))
    found = lookup(ctx.model, ctx.workspace.workspace_id, path)
    if found is None:
        raise _missing(path)
    return render(found)


def list_(ctx: Ctx):
    path = normalize(ctx.args.get("path"))
    objects = tree(ctx.model, ctx.workspace.workspace_id)
    found = objects.get(path)
    if found is None:
        raise _missing(path)
    items = _children(objects, path) if found.object_type == "DIRECTORY" else [found]
    return {"objects": [render(o) for o in sorted(items, key=lambda o: o.path)]} if items else {}


def mkdirs(ctx: Ctx):
    path = normalize(ctx.body().get("path"))
    objects = tree(ctx.model, ctx.workspace.workspace_id)
    prefix, ts = "", now_ms()
    for part in path.strip("/").split("/") if path != "/" else []:
        prefix += "/" + part
        existing = objects.get(prefix)
        if existing is None:
            objects[prefix] = WsObject(prefix, "DIRECTORY", next(_object_ids), ts, ts)
        elif existing.object_type != "DIRECTORY":
            raise errors.already_exists(f"Path ({prefix}) already exists.")
    return {}


def delete(ctx: Ctx):
    body = ctx.body()
    path = normalize(body.get("path"))
    recursive = get_bool(body, "recursive") or False
    objects = tree(ctx.model, ctx.workspace.workspace_id)
    found = objects.get(path)
    if found is None:
        raise _missing(path)
    if path == "/":
        raise errors.invalid_parameter("The root folder cannot be deleted.")
    below = [p for p in objects if p.startswith(path + "/")]
    if below and not recursive:
        raise errors.ApiError(400, "DIRECTORY_NOT_EMPTY", f"Folder ({path}) is not empty.")
    for p in below + [path]:
        del objects[p]
    return {}


# --- control route -------------------------------------------------------------------------------------------

def snapshot(model, workspace_id: int | None = None) -> dict:
    """``GET /_plink/workspace-files``: every object but the root, per workspace (content as sha256)."""
    ids = [workspace_id] if workspace_id is not None else sorted(model.workspaces)
    out = []
    for wid in ids:
        for o in sorted(tree(model, wid).values(), key=lambda o: o.path):
            if o.path == "/":
                continue
            entry = {"workspace_id": wid, **render(o)}
            if o.object_type != "DIRECTORY":
                entry["sha256"] = hashlib.sha256(o.content).hexdigest()
            out.append(entry)
    return {"objects": out}
