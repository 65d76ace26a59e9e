"""The wire format of the QIL model server, shared by the server and the remote engine.

Standard library + numpy + Pillow only: the client side (``engines/remote.py``)
must work in the lite build, which has neither Ray nor torch.

Requests are ``multipart/form-data``: an image file part plus plain fields
named like the ``qil`` options. Responses to jobs are newline-delimited JSON
events, one object per line, each with ``event`` and ``job``:

``queued``   ``position`` (jobs ahead of this one on its replica, 0 = starting)
``progress`` ``step``, ``total``, ``eta_s`` (null until known), ``message``
``result``   decompose: ``width``, ``height``, ``layers`` (index 0 = bottom, each with
             ``name``, ``x``, ``y``, ``png`` base64); edit: ``layer`` (same shape) plus
             ``seed``, ``seconds``, ``model_input``/``model_output`` PNGs
``error``    ``kind`` (usage, input, model, cancelled, server), ``exit_code``, ``message``, ``hint``
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import uuid
from email.parser import BytesParser
from email.policy import HTTP

import numpy as np

from ..errors import CancelledError, InputFileError, ModelError, OutputFileError, QilError, UsageError

API_VERSION = "v1"
DEFAULT_PORT = 8790
#: Uploads larger than this are refused before they are parsed (PNG of a 16k x 16k canvas fits).
DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024
#: A job's events may come this far apart at most (one slow denoising step on a small GPU).
EVENT_TIMEOUT_S = 600.0


class ServerError(QilError):
    """The model server could not be used: unreachable, unauthorized, overloaded, or it failed.

    Defined here rather than in :mod:`qil_editor.errors` because only remote
    work can raise it; the CLI maps it to exit code 5 like any QilError.
    """

    exit_code = 5


# ----- error kinds ------------------------------------------------------------------

_KINDS: dict[str, type[QilError]] = {
    "usage": UsageError, "input": InputFileError, "model": ModelError,
    "cancelled": CancelledError, "server": ServerError, "output": OutputFileError,
}


def error_kind(err: BaseException) -> str:
    """The wire name of an error's class (the most specific known base)."""
    for kind, cls in _KINDS.items():
        if type(err) is cls:
            return kind
    for kind, cls in _KINDS.items():
        if isinstance(err, cls):
            return kind
    return "server"


def error_event(job: str, err: QilError) -> dict:
    return {"event": "error", "job": job, "kind": error_kind(err), "exit_code": err.exit_code,
            "message": err.message, "hint": err.hint}


def error_from_event(event: dict) -> QilError:
    """Rebuild the QilError a server reported, so the client exits with the same code."""
    cls = _KINDS.get(str(event.get("kind")), ServerError)
    message = str(event.get("message") or "The server reported an error without a message.")
    hint = str(event.get("hint") or "")
    if cls is CancelledError:
        return CancelledError(message, hint)
    return cls(message, hint)


def new_job_id() -> str:
    return uuid.uuid4().hex


# ----- tokens -----------------------------------------------------------------------

def token_digest(token: str) -> str:
    """What the server keeps instead of the token (Ray stores deployment arguments)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_bearer(header: str | None, digest: str | None) -> bool:
    """Constant-time check of an ``Authorization: Bearer ...`` header against a token digest."""
    if digest is None:
        return True
    if not header or not header.startswith("Bearer "):
        return False
    given = token_digest(header[len("Bearer "):].strip())
    return hmac.compare_digest(given.encode("ascii"), digest.encode("ascii"))


def read_token_file(path: str) -> str:
    """The token in a file (first line, stripped); UsageError when missing or empty."""
    try:
        with open(path, encoding="utf-8") as fh:
            token = fh.readline().strip()
    except OSError as exc:
        raise UsageError(f"Cannot read the token file {path}: {exc.strerror or exc}.") from None
    if len(token) < 8:
        raise UsageError(f"The token file {path} holds no token (at least 8 characters on its first line).",
                         "For example: python -c 'import secrets; print(secrets.token_urlsafe(32))' > F")
    return token


# ----- pixels -----------------------------------------------------------------------

def png_bytes(rgba: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba), "RGBA" if rgba.shape[-1] == 4 else "RGB").save(
        buf, "PNG", compress_level=1)
    return buf.getvalue()


def png_b64(rgba: np.ndarray) -> str:
    return base64.b64encode(png_bytes(rgba)).decode("ascii")


def decode_png_b64(data: str, max_pixels: int, what: str = "layer") -> np.ndarray:
    """A PNG from a server, size-checked before decoding (the client trusts no input either)."""
    from PIL import Image

    from ..io.pixels import pil_to_rgba

    try:
        raw = base64.b64decode(data, validate=True)
        with Image.open(io.BytesIO(raw), formats=("PNG",)) as im:
            if im.width * im.height > max_pixels:
                raise ServerError(f"The server sent a {what} of {im.width}x{im.height} pixels, "
                                  "more than was asked for.")
            im.load()
            return pil_to_rgba(im)
    except QilError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoding failure is the server's fault
        raise ServerError(f"The server sent a damaged {what} ({type(exc).__name__}).") from None


def layer_json(pixels: np.ndarray, name: str, x: int = 0, y: int = 0, **more) -> dict:
    return {"name": name, "x": int(x), "y": int(y), "png": png_b64(pixels), **more}


def document_result(job: str, doc, engine: str, seed: int | None) -> dict:
    layers = [layer_json(layer.pixels, layer.name, layer.x, layer.y, index=i)
              for i, layer in enumerate(doc.layers)]
    return {"event": "result", "job": job, "width": doc.width, "height": doc.height,
            "engine": engine, "seed": seed, "layers": layers}


def document_from_result(event: dict, max_pixels: int):
    from ..document import Document, Layer

    try:
        width, height = int(event["width"]), int(event["height"])
        entries = list(event["layers"])
        if width <= 0 or height <= 0 or width * height > max_pixels or not entries:
            raise ValueError("bad size or no layers")
        layers = [Layer(decode_png_b64(e["png"], max_pixels), name=str(e.get("name") or f"Layer {i}"),
                        x=int(e.get("x", 0)), y=int(e.get("y", 0)))
                  for i, e in enumerate(entries)]
    except QilError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ServerError(f"The server's result is malformed ({exc}).") from None
    return Document(width, height, layers)


def encode_event(event: dict) -> bytes:
    return (json.dumps(event, separators=(",", ":")) + "\n").encode("utf-8")


# ----- multipart --------------------------------------------------------------------

def encode_multipart(fields: dict[str, object], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """``(body, content_type)`` for a multipart/form-data request (the stdlib has no encoder)."""
    boundary = "qil-" + uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        if value is None:
            continue
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n".encode())
        out.write(str(value).encode("utf-8"))
        out.write(b"\r\n")
    for name, (filename, data, ctype) in files.items():
        safe = filename.replace('"', "_").replace("\r", "_").replace("\n", "_")
        out.write(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                  f"filename=\"{safe}\"\r\nContent-Type: {ctype}\r\n\r\n".encode())
        out.write(data)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """``(fields, files)`` from a multipart/form-data body; UsageError when it is not one."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise UsageError("The request must be multipart/form-data (an image file plus option fields).")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    msg = BytesParser(policy=HTTP).parsebytes(head + body)
    if not msg.is_multipart():
        raise UsageError("The multipart request body could not be parsed.")
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[name] = (filename, payload)
        else:
            fields[name] = payload.decode("utf-8", "replace")
    return fields, files


# ----- options ----------------------------------------------------------------------

def _int(fields, name, default):
    value = fields.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise UsageError(f"The field {name!r} must be a whole number, got {value!r}.") from None


def _float(fields, name, default):
    value = fields.get(name)
    if value in (None, ""):
        return default
    try:
        return float(value)
    except ValueError:
        raise UsageError(f"The field {name!r} must be a number, got {value!r}.") from None


def _bool(fields, name):
    return str(fields.get(name, "")).strip().lower() in ("1", "true", "yes", "on")


def decompose_fields(options, engine: str = "auto") -> dict[str, object]:
    """Form fields for a DecomposeOptions (the names ``qil decompose`` uses)."""
    if options.model_dir or options.lora_path:
        raise UsageError("A model folder or LoRA cannot be chosen for a server; the server's own are used.",
                         "Drop --model/--lora, or ask the server's operator.")
    return {"engine": engine, "layers": "auto" if options.layers is None else options.layers,
            "resolution": options.resolution, "steps": options.steps, "cfg": options.cfg_scale,
            "seed": options.seed, "prompt": options.prompt, "negative_prompt": options.negative_prompt,
            "language": options.language, "memory": options.memory,
            "raw_layers": "0" if options.extra.get("restore_detail", True) else "1"}


def decompose_options_from_fields(fields: dict[str, str]):
    """``(engine, DecomposeOptions)`` from form fields; UsageError on bad values."""
    from ..engines.base import DecomposeOptions

    layers_text = str(fields.get("layers", "auto")).strip().lower()
    layers = None if layers_text in ("", "auto") else _int(fields, "layers", None)
    engine = str(fields.get("engine") or "auto")
    options = DecomposeOptions(
        layers=layers, resolution=_int(fields, "resolution", 640), steps=_int(fields, "steps", 50),
        cfg_scale=_float(fields, "cfg", 4.0), negative_prompt=fields.get("negative_prompt", " ") or " ",
        seed=_int(fields, "seed", None), prompt=fields.get("prompt", ""),
        language=fields.get("language", "en") or "en", memory=fields.get("memory", "auto") or "auto",
        extra={"restore_detail": not _bool(fields, "raw_layers")})
    if options.language not in ("en", "zh"):
        raise UsageError(f"The language must be en or zh, got {options.language!r}.")
    return engine, options


_EDIT_FIELDS = ("prompt", "shape", "steps", "cfg_scale", "negative_prompt", "seed", "resolution",
                "alpha_method", "memory")


def edit_fields(options) -> dict[str, object]:
    if options.model_dir or options.layered_model_dir:
        raise UsageError("A model folder cannot be chosen for a server; the server's own are used.")
    return {name: getattr(options, name) for name in _EDIT_FIELDS}


def edit_options_from_fields(fields: dict[str, str]):
    from ..engines.edit import EditOptions

    return EditOptions(
        prompt=fields.get("prompt", ""), shape=fields.get("shape", "new") or "new",
        steps=_int(fields, "steps", 40), cfg_scale=_float(fields, "cfg_scale", 4.0),
        negative_prompt=fields.get("negative_prompt", " ") or " ", seed=_int(fields, "seed", None),
        resolution=_int(fields, "resolution", 1024),
        alpha_method=fields.get("alpha_method", "matting") or "matting",
        memory=fields.get("memory", "auto") or "auto")
