"""The Ray Serve application: a FastAPI gateway in front of decompose and edit deployments.

Import this module only where Ray is meant to run (``qil serve``, ``serve
deploy``, the server tests): it imports ``ray`` and ``fastapi``.

* ``Gateway`` (ingress, CPU only, one replica): checks the bearer token,
  reads the upload within the byte limit, opens it with the same safe-open
  code as local files, then streams the chosen engine deployment's events
  as NDJSON. It keeps the streams it serves, so ``DELETE /v1/jobs/ID``
  cancels one; a client that disconnects cancels its own.
* ``Decompose`` / ``Edit``: one replica per GPU (or one on a CPU-only
  machine), each a :mod:`qil_editor.server.service` wrapper that runs one
  job at a time and queues up to ``queue`` more; past that Serve rejects the
  request and the gateway answers 503 with ``Retry-After``.

``build_app(args)`` is the entry point for ``serve deploy`` configs
(``import_path: qil_editor.server.app:build_app``) and for ``qil serve``.
"""

import asyncio
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import JSONResponse, StreamingResponse  # noqa: E402
from ray import serve  # noqa: E402
from ray.serve.exceptions import BackPressureError, RequestCancelledError  # noqa: E402

from .. import __version__  # noqa: E402
from ..errors import CancelledError, InputFileError, QilError, UsageError  # noqa: E402
from ..io.limits import DEFAULT_MAX_PIXELS  # noqa: E402
from . import protocol  # noqa: E402
from .service import DecomposeService, EditService  # noqa: E402

#: Seconds a rejected client is told to wait before trying again.
RETRY_AFTER_S = 5
#: How long the gateway waits for a job's first event before answering with a "queued" event.
FIRST_EVENT_WAIT_S = 1.0


@dataclass(frozen=True)
class ServeSettings:
    """Everything ``qil serve`` and a Serve config can set; see :func:`build_app`."""

    model: str | None = None
    edit_model: str | None = None
    lora: str | None = None
    token_digest: str | None = None
    replicas: int | str = "auto"
    queue: int = 8
    device: str = "auto"
    memory: str = "auto"
    max_upload_bytes: int = protocol.DEFAULT_MAX_UPLOAD_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    edit: str = "auto"   # auto: deploy the edit engine when its weights are found; on; off


def _error_response(err: QilError, status: int) -> JSONResponse:
    return JSONResponse(protocol.error_event("", err), status_code=status)


def _busy_response(err: BackPressureError | None = None, ahead: int | None = None) -> JSONResponse:
    body = protocol.error_event("", protocol.ServerError(
        "The server is busy" + (f" ({ahead} jobs running or waiting)." if ahead is not None else "."),
        f"Try again in {RETRY_AFTER_S} s."))
    body["ahead"] = ahead
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_S)})


api = FastAPI(title="QIL model server", version=__version__,
              description="Decompose images into layers and re-prompt layers (Qwen-Image-Layered / -Edit).")


@serve.deployment(ray_actor_options={"num_cpus": 0}, max_ongoing_requests=256)
@serve.ingress(api)
class Gateway:
    def __init__(self, decompose, edit, settings: ServeSettings, replicas: int) -> None:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        self.decompose_handle = decompose
        self.edit_handle = edit
        self.settings = settings
        self.replicas = replicas
        self.jobs: dict[str, object] = {}          # job id -> its DeploymentResponseGenerator
        self.cancelled: set[str] = set()           # jobs cancelled by DELETE, still streaming
        self.in_flight = {"decompose": 0, "edit": 0}

    # ----- helpers ------------------------------------------------------------------
    def _authorized(self, request: Request) -> bool:
        return protocol.check_bearer(request.headers.get("authorization"), self.settings.token_digest)

    def _unauthorized(self) -> JSONResponse:
        err = protocol.ServerError("The server refused the token (missing or wrong).",
                                   "Pass the server's token with --token-file, or set it in Preferences.")
        return JSONResponse(protocol.error_event("", err), status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})

    async def _read_form(self, request: Request):
        limit = self.settings.max_upload_bytes
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise InputFileError(f"The upload is {int(declared) / 1e6:.0f} MB, more than the "
                                 f"{limit / 1e6:.0f} MB this server accepts.")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise InputFileError(f"The upload is more than the {limit / 1e6:.0f} MB this server accepts.")
            chunks.append(chunk)
        return protocol.parse_multipart(b"".join(chunks), request.headers.get("content-type", ""))

    def _open_upload(self, filename: str, data: bytes, document: bool):
        """The upload through the same safe-open code as a local file (bytes, pixels, bombs)."""
        from ..io import open_document, open_image

        suffix = Path(filename or "upload.png").suffix.lower()
        if not suffix.isascii() or not suffix[1:].isalnum():
            suffix = ".png"
        with tempfile.TemporaryDirectory(prefix="qil-upload-") as tmp:
            path = Path(tmp) / f"upload{suffix}"
            path.write_bytes(data)
            if document:
                return open_document(path, max_pixels=self.settings.max_pixels)
            return open_image(path, max_pixels=self.settings.max_pixels)

    async def _start(self, kind: str, job: str, call) -> JSONResponse | StreamingResponse:
        """Start a job on an engine deployment and stream its events; 503 when the queue is full."""
        gen = call()
        self.jobs[job] = gen
        self.in_flight[kind] += 1
        ahead = self.in_flight[kind] - 1
        # A full queue is refused at once (BackPressureError); a request that Serve holds until a
        # replica has room gets its answer now, with a "queued" event, so the client does not wait blind.
        first_event = asyncio.ensure_future(gen.__anext__())
        try:
            await asyncio.wait({first_event}, timeout=FIRST_EVENT_WAIT_S)
            if first_event.done():
                first_event.result()
        except BackPressureError as err:
            self.jobs.pop(job, None)
            self.in_flight[kind] -= 1
            return _busy_response(err, self.in_flight[kind])
        except BaseException:
            first_event.cancel()
            self.jobs.pop(job, None)
            self.in_flight[kind] -= 1
            gen.cancel()
            raise

        async def events():
            finished = False
            try:
                if not first_event.done():
                    yield protocol.encode_event({"event": "queued", "job": job, "position": ahead})
                yield protocol.encode_event(await first_event)
                async for event in gen:
                    yield protocol.encode_event(event)
                    if event.get("event") in ("result", "error"):
                        finished = True
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - a dead replica becomes an error event
                finished = True
                if job in self.cancelled or isinstance(exc, RequestCancelledError):
                    err = CancelledError("The job was cancelled.")
                else:
                    err = protocol.ServerError(f"The server lost the job ({type(exc).__name__}: {exc}).",
                                               "Try again; if it keeps failing, check the server's log.")
                yield protocol.encode_event(protocol.error_event(job, err))
            finally:
                if not finished:
                    gen.cancel()
                self.jobs.pop(job, None)
                self.cancelled.discard(job)
                self.in_flight[kind] -= 1

        return StreamingResponse(events(), media_type="application/x-ndjson", headers={"X-Job-Id": job})

    # ----- routes -------------------------------------------------------------------
    @api.get("/v1/health")
    async def health(self):
        return {"status": "ok", "api": protocol.API_VERSION, "version": __version__}

    @api.get("/v1/engines")
    async def engines(self, request: Request):
        if not self._authorized(request):
            return self._unauthorized()
        out = {"api": protocol.API_VERSION, "version": __version__, "replicas": self.replicas,
               "queue": dict(self.in_flight), "decompose": None, "edit": None}
        out["decompose"] = await self.decompose_handle.info.remote()
        if self.edit_handle is not None:
            out["edit"] = await self.edit_handle.info.remote()
        return out

    @api.post("/v1/decompose")
    async def decompose(self, request: Request):
        if not self._authorized(request):
            return self._unauthorized()
        try:
            fields, files = await self._read_form(request)
            engine, options = protocol.decompose_options_from_fields(fields)
            if "image" not in files:
                raise UsageError("The request has no 'image' file part.")
            filename, data = files["image"]
            image = await asyncio.to_thread(self._open_upload, filename, data, False)
        except InputFileError as err:
            return _error_response(err, 400)
        except UsageError as err:
            return _error_response(err, 400)
        job = protocol.new_job_id()
        return await self._start("decompose", job, lambda: self.decompose_handle.options(
            stream=True).decompose.remote(job, image, engine, options))

    @api.post("/v1/edit-layer")
    async def edit_layer(self, request: Request):
        if not self._authorized(request):
            return self._unauthorized()
        if self.edit_handle is None:
            err = protocol.ServerError("This server does not offer layer editing (no Qwen-Image-Edit weights).")
            return _error_response(err, 404)
        try:
            fields, files = await self._read_form(request)
            options = protocol.edit_options_from_fields(fields)
            if "layer" not in files:
                raise UsageError("The request has no 'layer' file part.")
            filename, data = files["layer"]
            doc = await asyncio.to_thread(self._open_upload, filename, data, True)
            pixels = doc.layers[0].pixels if len(doc.layers) == 1 else None
            if pixels is None:
                raise InputFileError("The 'layer' upload must be one RGBA image (PNG), not a layered file.")
            x, y = int(fields.get("x", 0) or 0), int(fields.get("y", 0) or 0)
        except ValueError:
            return _error_response(UsageError("The fields 'x' and 'y' must be whole numbers."), 400)
        except (InputFileError, UsageError) as err:
            return _error_response(err, 400)
        name = fields.get("name", "Layer") or "Layer"
        job = protocol.new_job_id()
        return await self._start("edit", job, lambda: self.edit_handle.options(
            stream=True).edit.remote(job, pixels, name, x, y, options))

    @api.delete("/v1/jobs/{job}")
    async def cancel(self, job: str, request: Request):
        if not self._authorized(request):
            return self._unauthorized()
        gen = self.jobs.get(job)
        if gen is None:
            return JSONResponse({"job": job, "cancelled": False, "message": "No such running job."},
                                status_code=404)
        self.cancelled.add(job)
        gen.cancel()
        return {"job": job, "cancelled": True}


def _gpu_count() -> int:
    import ray

    return int(ray.cluster_resources().get("GPU", 0)) if ray.is_initialized() else 0


def _edit_wanted(settings: ServeSettings) -> bool:
    if settings.edit == "on":
        return True
    if settings.edit == "off":
        return False
    from ..engines.edit import EditOptions, QwenLayerEditor

    probe = EditOptions(prompt="probe", model_dir=settings.edit_model)
    return QwenLayerEditor().availability(probe).ok


def build_app(args: dict | ServeSettings | None = None):
    """The Serve application for ``settings`` (a dict in Serve configs: the ServeSettings fields,
    plus ``token_file`` instead of a digest)."""
    if isinstance(args, ServeSettings):
        settings = args
    else:
        args = dict(args or {})
        token_file = args.pop("token_file", None)
        if token_file and not args.get("token_digest"):
            args["token_digest"] = protocol.token_digest(protocol.read_token_file(token_file))
        unknown = set(args) - {f for f in ServeSettings.__dataclass_fields__}
        if unknown:
            raise UsageError(f"Unknown server settings: {', '.join(sorted(unknown))}.")
        settings = ServeSettings(**args)
    gpus = _gpu_count()
    if settings.replicas == "auto":
        replicas = max(1, gpus)
    else:
        replicas = int(settings.replicas)
        if replicas < 1:
            raise UsageError(f"--replicas must be at least 1 or auto, got {replicas}.")
    edit = _edit_wanted(settings)
    # one replica of each engine per GPU: both share it when both are deployed
    gpu_share = 0.0 if gpus == 0 else (0.5 if edit else 1.0)
    actor = {"num_cpus": 0, "num_gpus": gpu_share}
    common = dict(num_replicas=replicas, ray_actor_options=actor,
                  max_ongoing_requests=1 + settings.queue, max_queued_requests=max(1, settings.queue),
                  graceful_shutdown_timeout_s=5, health_check_period_s=10)
    decompose = serve.deployment(DecomposeService, name="Decompose", **common).bind(
        model_dir=settings.model, lora_path=settings.lora, device=settings.device, memory=settings.memory)
    edit_app = None
    if edit:
        edit_app = serve.deployment(EditService, name="Edit", **common).bind(
            edit_model_dir=settings.edit_model, model_dir=settings.model, device=settings.device,
            memory=settings.memory)
    return Gateway.bind(decompose, edit_app, settings, replicas)
