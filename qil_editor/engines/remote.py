"""The ``remote`` engine: decompose and re-prompt on a QIL model server (``qil serve``).

One more engine behind the same interface as the local ones (like
krita-ai-diffusion's local and cloud ``Client``): :class:`RemoteDecomposer`
is a ``Decomposer`` and :class:`RemoteLayerEditor` has the edit engine's
``availability``/``locate``/``edit_layer``, so the CLI, the GUI worker and
the job runner use them unchanged. Standard library only (``http.client``),
so the lite build, without Ray or torch, can use a GPU server.

Progress and ETA come from the server's NDJSON events. Cancel sends
``DELETE /v1/jobs/ID`` and closes the connection; the server stops within
one denoising step. A 503 (server busy) is retried with the server's
``Retry-After`` and backoff, reporting "server busy, N ahead". Every server
problem is a :class:`ServerError` (exit code 5); the server's own error
events come back as the same QilError kinds a local run raises.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import numpy as np

from ..errors import CancelledError, InputFileError, QilError, UsageError
from ..io.limits import DEFAULT_MAX_PIXELS
from ..server import protocol
from ..server.protocol import ServerError
from .base import Availability, DecomposeOptions
from .jobs import CancelToken, Progress, ProgressCallback

if TYPE_CHECKING:
    from ..document import Document

#: Environment variable with the token, when no token file is given.
TOKEN_ENV = "QIL_SERVER_TOKEN"
#: Seconds to wait for a connection and for non-streaming answers.
CONNECT_TIMEOUT_S = 10.0
#: How often a 503 is retried before giving up, and the longest wait between tries.
BUSY_RETRIES = 6
MAX_BACKOFF_S = 30.0
#: How long a health answer stays good for ``availability`` (the UI asks often), and how long
#: the UI thread may wait for one.
HEALTH_CACHE_S = 5.0
AVAILABILITY_TIMEOUT_S = 2.0
#: Longest line accepted from the server (a result with many large layers as base64 PNGs).
MAX_LINE_BYTES = 2 * 1024 ** 3


class ServerBusy(ServerError):
    """A 503: the server is there but its queues are full (runs retry; availability holds)."""


@dataclass(frozen=True)
class RemoteRunInfo:
    """What the last remote run used (the seed makes it repeatable); ``server_seconds``: the
    job's time on the replica, so ``seconds - server_seconds`` is what the network and server add."""

    seed: int | None
    engine: str
    server: str
    seconds: float
    server_seconds: float | None = None


def token_from(token_file: str | None = None, token: str | None = None) -> str | None:
    """The token to send: given directly, else from a file, else from ``QIL_SERVER_TOKEN``."""
    import os

    if token:
        return token
    if token_file:
        return protocol.read_token_file(token_file)
    return os.environ.get(TOKEN_ENV) or None


class RemoteClient:
    """HTTP client for one server; thread-safe (one connection per request)."""

    def __init__(self, url: str, token: str | None = None, *, connect_timeout: float = CONNECT_TIMEOUT_S,
                 event_timeout: float = protocol.EVENT_TIMEOUT_S, retries: int = BUSY_RETRIES,
                 max_backoff: float = MAX_BACKOFF_S, cafile: str | None = None) -> None:
        parts = urlsplit(url.strip() if "://" in url else f"http://{url.strip()}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"The server address {url!r} is not an http(s) URL.",
                             "For example: http://gpu-box:8790")
        self.url = url
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else protocol.DEFAULT_PORT)
        self.base = parts.path.rstrip("/")
        self.token = token
        self.connect_timeout = connect_timeout
        self.event_timeout = event_timeout
        self.retries = int(retries)
        self.max_backoff = float(max_backoff)
        self.cafile = cafile

    @property
    def display(self) -> str:
        return self.host if self.port in (80, 443) else f"{self.host}:{self.port}"

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self.scheme == "https":
            context = ssl.create_default_context(cafile=self.cafile)
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=context)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def _headers(self, extra: dict | None = None) -> dict:
        headers = {"Accept": "application/json, application/x-ndjson", "User-Agent": "qil-remote"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers.update(extra or {})
        return headers

    def _unreachable(self, exc: BaseException) -> ServerError:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return ServerError(f"Cannot reach the server at {self.url}: {reason}.",
                           "Check the address, that `qil serve` runs there, and the network.")

    @staticmethod
    def _body_json(resp) -> dict:
        try:
            data = json.loads(resp.read(1024 * 1024) or b"{}")
            return data if isinstance(data, dict) else {}
        except ValueError:
            return {}

    def _raise_for_status(self, resp) -> None:
        if resp.status == 200:
            return
        body = self._body_json(resp)
        if resp.status == 401:
            raise ServerError(f"The server at {self.url} refused the token (401 unauthorized).",
                              "Pass the right token with --token-file (or set it in Preferences).")
        if resp.status == 400 and body.get("event") == "error":
            raise protocol.error_from_event(body)
        if resp.status == 404 and body.get("event") == "error":
            raise protocol.error_from_event(body)
        message = body.get("message") or resp.reason
        if resp.status == 503:
            raise ServerBusy(f"The server at {self.url} is busy (503): {message}",
                             "Try again later, or ask for more replicas.")
        raise ServerError(f"The server at {self.url} answered {resp.status}: {message}")

    # ----- simple requests ------------------------------------------------------------
    def get_json(self, path: str, timeout: float | None = None) -> dict:
        conn = self._connection(timeout or self.connect_timeout)
        try:
            conn.request("GET", f"{self.base}{path}", headers=self._headers())
            resp = conn.getresponse()
            self._raise_for_status(resp)
            return self._body_json(resp)
        except (OSError, http.client.HTTPException) as exc:
            raise self._unreachable(exc) from None
        finally:
            conn.close()

    def health(self) -> dict:
        return self.get_json(f"/{protocol.API_VERSION}/health")

    def engines(self, timeout: float | None = None) -> dict:
        return self.get_json(f"/{protocol.API_VERSION}/engines", timeout)

    def cancel_job(self, job: str) -> bool:
        """Ask the server to cancel a job; False when it could not be told (it still stops on disconnect)."""
        conn = self._connection(min(self.connect_timeout, 5.0))
        try:
            conn.request("DELETE", f"{self.base}/{protocol.API_VERSION}/jobs/{job}", headers=self._headers())
            return conn.getresponse().status == 200
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    # ----- jobs -------------------------------------------------------------------------
    def run_job(self, path: str, fields: dict, files: dict, progress: ProgressCallback | None,
                cancel: CancelToken | None) -> dict:
        """POST a job, follow its events, return the ``result`` event (or raise its error)."""
        cancel = cancel or CancelToken()
        body, ctype = protocol.encode_multipart(fields, files)
        headers = self._headers({"Content-Type": ctype, "Content-Length": str(len(body))})
        for attempt in range(self.retries + 1):
            cancel.raise_if_cancelled()
            conn = self._connection(self.connect_timeout)
            try:
                conn.request("POST", f"{self.base}/{protocol.API_VERSION}{path}", body=body, headers=headers)
                if conn.sock is not None:  # connected: the answer may wait for a free replica
                    conn.sock.settimeout(self.event_timeout)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise self._unreachable(exc) from None
            if resp.status == 503 and attempt < self.retries:
                info = self._body_json(resp)
                conn.close()
                self._wait_busy(resp, info, attempt, progress, cancel)
                continue
            if resp.status == 503:
                conn.close()
                raise ServerError(f"The server at {self.url} is still busy after {self.retries + 1} tries.",
                                  "Try again later, or ask for more replicas.")
            try:
                self._raise_for_status(resp)
                return self._follow(conn, resp, progress, cancel)
            finally:
                conn.close()
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait_busy(self, resp, info: dict, attempt: int, progress, cancel: CancelToken) -> None:
        try:
            retry_after = float(resp.getheader("Retry-After") or 1.0)
        except ValueError:
            retry_after = 1.0
        wait = min(self.max_backoff, max(retry_after, 0.5) * (1.5 ** attempt))
        ahead = info.get("ahead")
        message = f"Server busy, {ahead} ahead" if ahead is not None else "Server busy"
        if progress is not None:
            progress(Progress(0, 1, f"{message}; retrying in {wait:.0f} s"))
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            cancel.raise_if_cancelled()
            time.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    def _follow(self, conn, resp, progress, cancel: CancelToken) -> dict:
        job = resp.getheader("X-Job-Id") or ""
        done = threading.Event()
        if conn.sock is not None:
            conn.sock.settimeout(self.event_timeout)

        def watch() -> None:  # cancel: tell the server, then unblock the reader
            while not done.wait(0.05):
                if cancel.cancelled:
                    if job:
                        self.cancel_job(job)
                    sock = conn.sock
                    if sock is not None:
                        try:
                            sock.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                    return

        watcher = threading.Thread(target=watch, name="qil-remote-cancel", daemon=True)
        watcher.start()
        try:
            while True:
                try:
                    line = resp.readline(MAX_LINE_BYTES)
                except (OSError, http.client.HTTPException, ValueError) as exc:
                    cancel.raise_if_cancelled()
                    if isinstance(exc, (TimeoutError, socket.timeout)):
                        raise ServerError(f"The server at {self.url} sent nothing for "
                                          f"{self.event_timeout:.0f} s; the job was given up.") from None
                    raise ServerError(f"Lost the connection to the server at {self.url} during the job "
                                      f"({type(exc).__name__}).", "Nothing was changed; try again.") from None
                if not line:
                    cancel.raise_if_cancelled()
                    raise ServerError(f"The server at {self.url} closed the connection before the job "
                                      "finished (it may have stopped).", "Nothing was changed; try again.")
                try:
                    event = json.loads(line)
                except ValueError:
                    raise ServerError(f"The server at {self.url} sent something that is not a job event.") from None
                kind = event.get("event")
                if kind == "result":
                    cancel.raise_if_cancelled()
                    return event
                if kind == "error":
                    raise protocol.error_from_event(event)
                if progress is None:
                    continue
                if kind == "queued" and int(event.get("position", 0)) > 0:
                    progress(Progress(0, 1, f"Queued on the server, {int(event['position'])} ahead"))
                elif kind == "progress":
                    progress(Progress(int(event.get("step", 0)), int(event.get("total", 1)),
                                      str(event.get("message", "")), event.get("eta_s")))
        finally:
            done.set()
            watcher.join(timeout=10)


def _image_png(image: np.ndarray) -> bytes:
    try:
        arr = np.asarray(image)
        if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] not in (3, 4):
            raise ValueError(f"expected an RGB(A) uint8 image, got {arr.dtype} {arr.shape}")
        return protocol.png_bytes(arr)
    except ValueError as exc:
        raise InputFileError(f"The image cannot be sent to the server: {exc}.") from None


class _RemoteEngine:
    """Availability from the server's health and engine list, cached briefly."""

    kind = ""

    def __init__(self, url: str, token: str | None = None, *, client: RemoteClient | None = None,
                 max_pixels: int = DEFAULT_MAX_PIXELS, **client_options) -> None:
        self.client = client or RemoteClient(url, token, **client_options)
        self.max_pixels = max_pixels
        self.label = f"Remote: {self.client.display}"
        self._cache: tuple[float, Availability] | None = None
        self.last_run: RemoteRunInfo | None = None

    def availability(self, options=None) -> Availability:
        now = time.monotonic()
        if self._cache is not None and now - self._cache[0] < HEALTH_CACHE_S:
            return self._cache[1]
        try:
            info = self.client.engines(AVAILABILITY_TIMEOUT_S).get(self.kind)
            if not info:
                avail = Availability(False, f"the server at {self.client.url} does not offer this.")
            else:
                ok = [e for e in info.get("engines", []) if e.get("available")]
                reasons = "; ".join(f"{e.get('label')}: {e.get('reason')}" for e in info.get("engines", []))
                avail = Availability(True) if ok else Availability(False, f"nothing available there ({reasons}).")
        except ServerBusy:
            avail = Availability(True)  # reachable and answering: a run waits for its turn
        except QilError as err:
            avail = Availability(False, err.message, err)
        self._cache = (now, avail)
        return avail


class RemoteDecomposer(_RemoteEngine):
    """A ``Decomposer`` that runs on a server; ``server_engine`` is the server's engine choice."""

    name = "remote"
    kind = "decompose"

    def __init__(self, url: str, token: str | None = None, *, server_engine: str = "auto", **kwargs) -> None:
        super().__init__(url, token, **kwargs)
        self.server_engine = server_engine

    def decompose(self, image: np.ndarray, options: DecomposeOptions,
                  progress: ProgressCallback | None = None,
                  cancel: CancelToken | None = None) -> "Document":
        start = time.perf_counter()
        # folders and LoRA files name places on this computer; the server uses its own
        fields = protocol.decompose_fields(options.with_changes(model_dir=None, lora_path=None), self.server_engine)
        files = {"image": ("image.png", _image_png(image), "image/png")}
        event = self.client.run_job("/decompose", fields, files, progress, cancel)
        doc = protocol.document_from_result(event, self.max_pixels)
        if (doc.width, doc.height) != tuple(np.asarray(image).shape[1::-1]):
            raise ServerError(f"The server returned a {doc.width}x{doc.height} result for a "
                              f"{np.asarray(image).shape[1]}x{np.asarray(image).shape[0]} image.")
        server_seconds = event.get("seconds")
        self.last_run = RemoteRunInfo(event.get("seed"), str(event.get("engine", "")), self.client.url,
                                      time.perf_counter() - start,
                                      float(server_seconds) if isinstance(server_seconds, (int, float)) else None)
        return doc


class RemoteLayerEditor(_RemoteEngine):
    """Re-prompts a layer on a server; returns the same ``LayerEdit`` as the local editor."""

    name = "remote-edit"
    kind = "edit"

    def locate(self, options=None):
        """Fail early, like the local editor's ``locate``, when the server cannot edit."""
        self._cache = None
        avail = self.availability(options)
        if not avail.ok:
            raise ServerError(f"Cannot re-prompt on the server: {avail.reason}")
        return self.client.url

    def edit_layer(self, layer, options, progress: ProgressCallback | None = None,
                   cancel: CancelToken | None = None):
        from .edit import LayerEdit

        fields = protocol.edit_fields(dataclasses.replace(options, model_dir=None, layered_model_dir=None))
        fields.update(name=layer.name, x=layer.x, y=layer.y)
        files = {"layer": ("layer.png", _image_png(layer.pixels), "image/png")}
        event = self.client.run_job("/edit-layer", fields, files, progress, cancel)
        try:
            out = event["layer"]
            pixels = protocol.decode_png_b64(out["png"], self.max_pixels)
            model_input = protocol.decode_png_b64(event["model_input"], self.max_pixels, "model input")
            model_output = protocol.decode_png_b64(event["model_output"], self.max_pixels, "model output")
            edit = LayerEdit(layer.id, pixels, int(out["x"]), int(out["y"]), options, int(event["seed"]),
                             model_input[..., :3], model_output[..., :3], float(event.get("seconds", 0.0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ServerError(f"The server's edit result is malformed ({exc}).") from None
        self.last_run = RemoteRunInfo(edit.seed, self.name, self.client.url, edit.seconds)
        return edit

    def layered_available(self, options=None) -> bool:
        """Whether the server can find a new shape's alpha with Qwen-Image-Layered."""
        try:
            engines = (self.client.engines().get("decompose") or {}).get("engines", [])
        except QilError:
            return False
        return any(e.get("name") == "qwen" and e.get("available") for e in engines)

    def edit_document_layer(self, doc, layer_ref, options, progress=None, cancel=None):
        from ..document.tree import find_layer

        return self.edit_layer(find_layer(doc, layer_ref), options, progress, cancel)


def register_remote(registry, url: str, token: str | None = None, **kwargs) -> RemoteDecomposer:
    """Add the remote engine for ``url`` to an engine registry (after the local ones: 'auto' stays local)."""
    engine = RemoteDecomposer(url, token, **kwargs)
    registry.register("remote", lambda: engine)
    return engine


__all__ = ["CancelledError", "RemoteClient", "RemoteDecomposer", "RemoteLayerEditor", "RemoteRunInfo",
           "ServerError", "TOKEN_ENV", "register_remote", "token_from"]
