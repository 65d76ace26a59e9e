"""The server's wire protocol, its replica job runner and the remote client, without Ray (fast).

The end-to-end tests through a real Ray Serve are in ``test_serve.py``. Here
the client talks to a small standard-library HTTP server on 127.0.0.1 that
plays the server's part for the cases a real server cannot be made to show
on demand (busy, dying mid-stream).
"""

import asyncio
import http.server
import json
import threading

import numpy as np
import pytest

from qil_editor.cli import main
from qil_editor.document import Document, Layer
from qil_editor.engines.base import DecomposeOptions
from qil_editor.engines.jobs import CancelToken
from qil_editor.engines.remote import RemoteClient, RemoteDecomposer
from qil_editor.errors import CancelledError, InputFileError, ModelError, UsageError
from qil_editor.server import protocol
from qil_editor.server.protocol import ServerError
from qil_editor.server.service import JobRunner

# ----- protocol -------------------------------------------------------------------------


def test_multipart_round_trip_keeps_fields_and_bytes():
    data = bytes(range(256)) * 10 + b"\r\n--not-a-boundary\r\n"
    body, ctype = protocol.encode_multipart({"prompt": "a \"quoted\" poster – ünï", "steps": 3, "skip": None},
                                            {"image": ("x.png", data, "image/png")})
    fields, files = protocol.parse_multipart(body, ctype)
    assert fields == {"prompt": "a \"quoted\" poster – ünï", "steps": "3"}
    assert files == {"image": ("x.png", data)}
    with pytest.raises(UsageError):
        protocol.parse_multipart(b"{}", "application/json")


def test_decompose_options_survive_the_wire():
    opts = DecomposeOptions(layers=None, resolution=1024, steps=7, cfg_scale=2.5, seed=11, prompt="p",
                            negative_prompt="n", language="zh", memory="full", extra={"restore_detail": False})
    fields = {k: str(v) for k, v in protocol.decompose_fields(opts, "qwen").items() if v is not None}
    engine, back = protocol.decompose_options_from_fields(fields)
    assert engine == "qwen"
    assert (back.layers, back.resolution, back.steps, back.cfg_scale, back.seed, back.prompt,
            back.negative_prompt, back.language, back.memory, back.extra) == \
        (None, 1024, 7, 2.5, 11, "p", "n", "zh", "full", {"restore_detail": False})
    with pytest.raises(UsageError):  # the server's weights are the server's choice
        protocol.decompose_fields(opts.with_changes(model_dir="/somewhere"))
    with pytest.raises(UsageError):
        protocol.decompose_options_from_fields({"steps": "many"})
    with pytest.raises(UsageError):
        protocol.decompose_options_from_fields({"layers": "12"})


def test_errors_keep_their_kind_and_exit_code():
    for err in (InputFileError("bad", "h"), ModelError("m"), UsageError("u"), CancelledError(), ServerError("s")):
        back = protocol.error_from_event(json.loads(protocol.encode_event(protocol.error_event("j", err))))
        assert type(back) is type(err) and back.message == err.message and back.exit_code == err.exit_code
    assert ServerError("x").exit_code == 5


def test_bearer_check():
    digest = protocol.token_digest("s3cret-token")
    assert protocol.check_bearer("Bearer s3cret-token", digest)
    assert not protocol.check_bearer("Bearer s3cret-tokeN", digest)
    assert not protocol.check_bearer(None, digest)
    assert not protocol.check_bearer("Basic s3cret-token", digest)
    assert protocol.check_bearer(None, None)  # no token configured (loopback only)


def test_document_result_round_trip_and_limits():
    rng = np.random.default_rng(0)
    doc = Document(40, 30, [Layer(rng.integers(0, 256, (30, 40, 4), dtype=np.uint8), name="Background"),
                            Layer(rng.integers(0, 256, (10, 12, 4), dtype=np.uint8), name="Top", x=5, y=6)])
    event = json.loads(protocol.encode_event(protocol.document_result("j", doc, "qwen", 3)))
    back = protocol.document_from_result(event, max_pixels=10_000)
    assert [(la.name, la.x, la.y) for la in back.layers] == [("Background", 0, 0), ("Top", 5, 6)]
    for a, b in zip(doc.layers, back.layers):
        assert np.array_equal(a.pixels, b.pixels)
    with pytest.raises(ServerError):  # a server that sends more than asked for is not trusted
        protocol.document_from_result(event, max_pixels=100)
    event["layers"][0]["png"] = "not base64!"
    with pytest.raises(ServerError):
        protocol.document_from_result(event, max_pixels=10_000)


# ----- the replica's job runner -----------------------------------------------------------


def test_job_runner_queues_reports_positions_and_cancel_frees_it():
    """Three jobs on one replica: FIFO, positions, and a cancelled running job lets the next one start."""
    started = []

    def slow(name):
        def work(progress, token):
            started.append(name)
            from qil_editor.engines.jobs import Progress

            for step in range(1, 100):
                token.raise_if_cancelled()
                progress(Progress(step, 100, "working"))
                threading.Event().wait(0.01)
            return {"event": "result", "job": name}
        return work

    async def scenario():
        runner = JobRunner()
        seen = {"a": [], "b": [], "c": []}

        async def consume(name, stop_after=None):
            events = runner.stream(name, slow(name))
            async for event in events:
                seen[name].append(event)
                if stop_after and event["event"] == "progress" and event["step"] >= stop_after:
                    break
            await events.aclose()  # what a client disconnect does to the stream
            return seen[name][-1]

        a = asyncio.create_task(consume("a", stop_after=30))
        await asyncio.sleep(0.05)
        b = asyncio.create_task(consume("b"))
        await asyncio.sleep(0.05)
        c = asyncio.create_task(consume("c"))
        results = await asyncio.wait_for(asyncio.gather(a, b, c), timeout=60)
        return runner, seen, results

    runner, seen, results = asyncio.run(scenario())
    assert started == ["a", "b", "c"]
    positions = {k: [e["position"] for e in v if e["event"] == "queued"] for k, v in seen.items()}
    assert positions["a"] == [0] and positions["b"][0] == 1 and positions["c"][:2] == [2, 1]
    assert positions["b"][-1] == 0 and positions["c"][-1] == 0
    assert results[1]["event"] == "result" and results[2]["event"] == "result"
    assert runner.queue_length == 0


def test_job_runner_turns_failures_into_error_events():
    def failing(progress, token):
        raise InputFileError("The image is damaged.")

    def crashing(progress, token):
        raise RuntimeError("boom")

    async def collect(work):
        runner = JobRunner()
        return [e async for e in runner.stream("j", work)]

    events = asyncio.run(collect(failing))
    assert events[-1]["event"] == "error" and events[-1]["kind"] == "input" and events[-1]["exit_code"] == 3
    events = asyncio.run(collect(crashing))
    assert events[-1]["event"] == "error" and "boom" in events[-1]["message"]


# ----- the client against a stand-in server -------------------------------------------------

class _Scripted(http.server.BaseHTTPRequestHandler):
    """Answers POSTs from a script: 'busy' (503) a few times, then a stream that may break off."""

    script: list = []
    seen: list = []

    def log_message(self, *args):
        pass

    get_status = 200

    def do_GET(self):
        body = json.dumps({"decompose": {"engines": [{"name": "qwen", "label": "Q", "available": True}]}})
        if self.get_status != 200:
            body = json.dumps({"message": "queue full"})
        self.send_response(self.get_status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(self.headers.get("Authorization"))
        action = self.script.pop(0)
        if action == "busy":
            body = json.dumps(protocol.error_event("", ServerError("busy")) | {"ahead": 3}).encode()
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("X-Job-Id", "j1")
        self.end_headers()
        self.wfile.write(protocol.encode_event({"event": "queued", "job": "j1", "position": 0}))
        self.wfile.write(protocol.encode_event({"event": "progress", "job": "j1", "step": 1, "total": 4,
                                                "eta_s": 3.0, "message": "Separating layers"}))
        self.wfile.flush()
        if action == "die":
            return  # the server goes away mid-job
        doc = Document(8, 6, [Layer(np.full((6, 8, 4), 200, np.uint8), name="Background")])
        self.wfile.write(protocol.encode_event(protocol.document_result("j1", doc, "qwen", 9)))


@pytest.fixture
def stand_in():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Scripted.script, _Scripted.seen, _Scripted.get_status = [], [], 200
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_busy_server_is_retried_with_a_message(stand_in):
    _Scripted.script = ["busy", "busy", "ok"]
    messages = []
    engine = RemoteDecomposer(stand_in, "tok-12345", max_backoff=0.2)
    doc = engine.decompose(np.zeros((6, 8, 4), np.uint8), DecomposeOptions(layers=2, steps=4, seed=9),
                           lambda p: messages.append(p.message))
    assert doc.layers[0].pixels[0, 0, 0] == 200 and engine.last_run.seed == 9
    assert sum("Server busy, 3 ahead" in m for m in messages) == 2
    assert "Separating layers" in messages
    assert _Scripted.seen == ["Bearer tok-12345"] * 3


@pytest.mark.parametrize("status, available", [(200, True), (503, True), (500, False)])
def test_a_busy_server_stays_available(stand_in, status, available):
    """A full queue answers even /v1/engines with 503: the engine is there, a run waits its turn
    (a batch with --jobs 4 lost files to "not available" before)."""
    _Scripted.get_status = status
    assert RemoteDecomposer(stand_in, "tok-12345").availability().ok is available


def test_still_busy_after_retries_is_a_server_error(stand_in):
    _Scripted.script = ["busy"] * 3
    client = RemoteClient(stand_in, retries=2, max_backoff=0.1)
    with pytest.raises(ServerError, match="still busy"):
        client.run_job("/decompose", {}, {}, None, CancelToken())


def test_server_dying_mid_job_writes_nothing_and_exits_5(stand_in, tmp_path, sample_poster):
    _Scripted.script = ["die"]
    out = tmp_path / "out.psd"
    code = main(["decompose", str(sample_poster), "-o", str(out), "--server", stand_in, "-q", "--steps", "4"])
    assert code == 5 and not out.exists()


def test_remote_folder_goes_on_past_a_bad_file(stand_in, tmp_path, capsys):
    """--jobs 2 over a folder: the good images are written, the bad one is listed, exit 3 (bad input)."""
    from PIL import Image

    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in ("a.png", "b.png"):
        Image.new("RGB", (8, 6), (200, 200, 200)).save(src / name)  # the stand-in's result size
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    _Scripted.script = ["ok", "ok"]
    code = main(["decompose", str(src), "-o", str(out), "--server", stand_in, "--jobs", "2"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert sorted(p.name for p in out.iterdir()) == ["a.psd", "b.psd"]
    assert "broken.png" in err and "1 failed" in err and "2 of 3 images" in err


def test_unreachable_server_exits_5(tmp_path, sample_poster, capsys):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    out = tmp_path / "out.psd"
    assert main(["decompose", str(sample_poster), "-o", str(out), "--server", f"http://127.0.0.1:{port}"]) == 5
    assert "Cannot reach the server" in capsys.readouterr().err and not out.exists()


def test_server_gone_after_the_first_check_is_still_a_server_problem():
    """The server answered once, then went away before the job: exit 5 (server), not 4 (model)."""
    import socket

    from qil_editor.engines.base import EngineRegistry
    from qil_editor.engines.remote import register_remote

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    registry = EngineRegistry()
    register_remote(registry, f"http://127.0.0.1:{port}", None)
    with pytest.raises(ServerError, match="Cannot reach the server") as caught:
        registry.resolve("remote", DecomposeOptions(layers=2))
    assert caught.value.exit_code == 5


def test_remote_engine_without_server_is_a_usage_error(tmp_path, sample_poster):
    assert main(["decompose", str(sample_poster), "-o", str(tmp_path / "o.psd"), "--engine", "remote"]) == 2


def test_serve_refuses_a_public_address_without_a_token():
    pytest.importorskip("ray")
    assert main(["serve", "--host", "0.0.0.0"]) == 2


# ----- the editor's server settings (no server needed) ------------------------------------------

class _MemoryKeyring:
    def __init__(self):
        self.store = {}

    def get_password(self, service, user):
        return self.store.get((service, user))

    def set_password(self, service, user, password):
        self.store[(service, user)] = password


def test_server_prefs_keep_the_token_in_the_keyring_or_say_so(tmp_path, qtbot):
    from PySide6.QtCore import QSettings

    from qil_editor.engines.base import EngineRegistry
    from qil_editor.ui import remote_server as rs

    q = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    ring = _MemoryKeyring()
    assert rs.ServerPrefs(q, ring).save("http://gpu-box:8790", "tok-123456789", True) == ""
    assert q.value(rs.KEY_TOKEN) is None and ring.store  # in the keyring, not in the file
    assert rs.ServerPrefs(q, ring).token() == "tok-123456789" and rs.ServerPrefs(q, ring).reprompt_on_server

    plain = rs.ServerPrefs(q, None)
    assert plain.save("http://gpu-box:8790", "tok-123456789") == rs.PLAINTEXT_WARNING
    assert plain.token_in_settings and plain.token() == "tok-123456789"
    with pytest.raises(UsageError):
        plain.save("ftp://nowhere", "x")

    registry = EngineRegistry()
    rs.register_remote_engines(registry, q, keyring=None)
    assert registry.names == ["remote"] and registry.get("remote").label == "Remote: gpu-box:8790"
    plain.save("", "")
    rs.register_remote_engines(registry, q, keyring=None)
    assert not registry.get("remote").availability().ok  # the server was taken away

    plain.save("http://gpu-box:8790", "tok-123456789")
    section = rs.ServerSection(q)
    qtbot.addWidget(section)
    section.prefs.keyring = None
    section.token.setText("another-token-123")
    assert section.note.text() == rs.PLAINTEXT_WARNING  # visible before OK is pressed
