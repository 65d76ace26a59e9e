"""``qil serve`` on a real local Ray (CPU, 127.0.0.1) with the tiny models, started once for the module.

Everything goes through the real command line and HTTP: the server is a
``qil serve`` subprocess; clients are ``qil decompose/edit-layer --server``
(in this process), the remote engine, and raw ``http.client`` requests. The
last test kills the server mid-job and checks that it leaves no process.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ray.serve")
pytest.importorskip("diffusers")

from qil_editor.cli import main  # noqa: E402
from qil_editor.engines.base import DecomposeOptions  # noqa: E402
from qil_editor.engines.jobs import CancelToken  # noqa: E402
from qil_editor.engines.remote import RemoteDecomposer  # noqa: E402
from qil_editor.errors import CancelledError  # noqa: E402
from qil_editor.io import open_document, open_image  # noqa: E402
from qil_editor.server import protocol  # noqa: E402

pytestmark = pytest.mark.slow

TOKEN = "test-token-0123456789"
START_TIMEOUT_S = 300
FAST = ["--steps", "2", "--layers", "2", "--seed", "3", "--prompt", "a poster", "-q"]


@dataclass
class Server:
    url: str
    port: int
    token_file: Path
    proc: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc), to check that none survives the server."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def server(tiny_model_dir, tmp_path_factory):
    from qil_editor.engines.tiny_edit_model import make_tiny_edit_model

    tmp = tmp_path_factory.mktemp("serve")
    edit_dir = make_tiny_edit_model(tmp / "Qwen-Image-Edit-tiny")
    token_file = tmp / "token"
    token_file.write_text(TOKEN + "\n")
    port = _free_port()
    log = tmp / "serve.log"
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    cmd = [sys.executable, "-c", "import sys; from qil_editor.cli import main; sys.exit(main())", "serve",
           "--model", str(tiny_model_dir), "--edit-model", str(edit_dir), "--host", "127.0.0.1",
           "--port", str(port), "--token-file", str(token_file), "--num-cpus", "1", "--device", "cpu",
           "--replicas", "1", "--queue", "1", "--max-upload-mb", "1"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    srv = Server(f"http://127.0.0.1:{port}", port, token_file, proc, log)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            pytest.fail(f"qil serve exited with {proc.returncode}:\n{srv.log_text()}")
        if "serving on" in log.read_text(errors="replace"):
            break
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"qil serve did not start in {START_TIMEOUT_S} s:\n{srv.log_text()}")
        time.sleep(0.5)
    yield srv
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _request(srv: Server, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=120)
    conn.request(method, path, body=body, headers=headers or {})
    return conn, conn.getresponse()


def _auth(extra: dict | None = None) -> dict:
    return {"Authorization": f"Bearer {TOKEN}", **(extra or {})}


def _engine(srv: Server) -> RemoteDecomposer:
    return RemoteDecomposer(srv.url, TOKEN, server_engine="qwen")


def _queue_empty(srv: Server, timeout: float = 30.0) -> dict:
    """The engines report once the decompose queue has drained. While Serve's own queue is
    still full, /v1/engines answers 503 too: that is "not yet", not a failure."""
    from qil_editor.engines.remote import ServerBusy

    deadline = time.monotonic() + timeout
    while True:
        try:
            info = _engine(srv).client.engines()
        except ServerBusy:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
            continue
        if info["decompose"]["queue"] == 0 or time.monotonic() > deadline:
            return info
        time.sleep(0.2)


# ----- tests ---------------------------------------------------------------------------------

def test_health_engines_and_token(server):
    conn, resp = _request(server, "GET", "/v1/health")
    assert resp.status == 200 and json.loads(resp.read())["api"] == "v1"
    for headers in ({}, {"Authorization": "Bearer wrong-token-xyz"}, {"Authorization": TOKEN}):
        conn, resp = _request(server, "GET", "/v1/engines", headers=headers)
        assert resp.status == 401, headers
        assert TOKEN not in resp.read().decode()
    conn, resp = _request(server, "GET", "/v1/engines", headers=_auth())
    info = json.loads(resp.read())
    names = {e["name"]: e["available"] for e in info["decompose"]["engines"]}
    assert names == {"qwen": True, "classical": True}
    assert info["edit"]["engines"][0]["available"] and info["replicas"] == 1
    assert TOKEN not in server.log_text()


def test_cli_through_the_server_matches_in_process(server, tiny_model_dir, sample_poster, tmp_path):
    remote_out, local_out = tmp_path / "remote.psd", tmp_path / "local.psd"
    assert main(["decompose", str(sample_poster), "-o", str(remote_out), "--server", server.url,
                 "--token-file", str(server.token_file), "--engine", "qwen", *FAST]) == 0
    assert main(["decompose", str(sample_poster), "-o", str(local_out), "--model", str(tiny_model_dir),
                 "--engine", "qwen", "--device", "cpu", *FAST]) == 0
    remote, local = open_document(remote_out), open_document(local_out)
    assert [la.name for la in remote.layers] == [la.name for la in local.layers] == ["Background", "Layer 1"]
    for a, b in zip(remote.layers, local.layers):
        assert (a.x, a.y, a.pixels.shape) == (b.x, b.y, b.pixels.shape)
        diff = np.abs(a.pixels.astype(int) - b.pixels.astype(int))
        # the same seed gives the same layers; CPU thread counts may move a rare value by one
        assert diff.max() <= 1 and (diff > 0).mean() < 1e-3


def test_wrong_or_missing_token_exits_5(server, sample_poster, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("QIL_SERVER_TOKEN", raising=False)
    bad = tmp_path / "bad-token"
    bad.write_text("not-the-token-at-all\n")
    for extra in ([], ["--token-file", str(bad)]):
        out = tmp_path / "o.psd"
        assert main(["decompose", str(sample_poster), "-o", str(out), "--server", server.url, *extra, *FAST]) == 5
        assert "401" in capsys.readouterr().err and not out.exists()


def test_corrupt_and_oversized_uploads_are_400(server, tmp_path, capsys):
    body, ctype = protocol.encode_multipart({"steps": 2}, {"image": ("x.png", b"\x89PNG\r\n\x1a\nbroken", "image/png")})
    conn, resp = _request(server, "POST", "/v1/decompose", body, _auth({"Content-Type": ctype}))
    event = json.loads(resp.read())
    assert resp.status == 400 and event["kind"] == "input" and "damaged" in event["message"]
    # over the server's 1 MB upload limit: 400 from the server, exit 3 on the client
    noisy = np.random.default_rng(0).integers(0, 256, (700, 700, 4), dtype=np.uint8)
    from PIL import Image

    big = tmp_path / "noise.png"
    Image.fromarray(noisy, "RGBA").save(big)
    assert big.stat().st_size > 1024 * 1024
    out = tmp_path / "o.psd"
    assert main(["decompose", str(big), "-o", str(out), "--server", server.url,
                 "--token-file", str(server.token_file), *FAST]) == 3
    assert "MB" in capsys.readouterr().err and not out.exists()


def test_cancel_mid_run_frees_the_replica(server, sample_poster):
    image = open_image(sample_poster)
    engine = _engine(server)
    token = CancelToken()
    steps_seen = []

    def progress(p):
        if p.message.startswith("Separating") and p.step >= 1:
            steps_seen.append(time.monotonic())
            token.cancel()

    start = time.monotonic()
    with pytest.raises(CancelledError):
        engine.decompose(image, DecomposeOptions(layers=2, steps=200, seed=1, prompt="x"), progress, token)
    assert steps_seen and time.monotonic() - start < 120
    info = _queue_empty(server)
    assert info["decompose"]["queue"] == 0
    t0 = time.monotonic()
    doc = engine.decompose(image, DecomposeOptions(layers=2, steps=2, seed=1, prompt="x"))
    assert len(doc.layers) == 2 and time.monotonic() - t0 < 120


def test_delete_cancels_a_streaming_job(server, sample_poster):
    body, ctype = protocol.encode_multipart(
        {"engine": "qwen", "steps": 200, "layers": 2, "prompt": "x", "seed": 2},
        {"image": ("p.png", sample_poster.read_bytes(), "image/png")})
    conn, resp = _request(server, "POST", "/v1/decompose", body, _auth({"Content-Type": ctype}))
    assert resp.status == 200
    job = resp.getheader("X-Job-Id")
    events = []
    for _ in range(1000):  # bounded: 200 steps at most, plus queued/loading events
        line = resp.readline()
        if not line:
            break
        events.append(json.loads(line))
        if events[-1]["event"] == "progress" and events[-1]["step"] >= 1:
            break
    assert _engine(server).client.cancel_job(job)
    rest = [json.loads(line) for line in resp.read().splitlines() if line.strip()]
    assert rest and rest[-1]["event"] == "error" and rest[-1]["kind"] == "cancelled"
    assert max(e.get("step", 0) for e in rest) <= 3  # stopped within a step or two of the DELETE
    assert not _engine(server).client.cancel_job(job)  # gone
    assert _queue_empty(server)["decompose"]["queue"] == 0


def test_two_clients_at_once_are_both_served(server, sample_poster):
    image = open_image(sample_poster)
    results, messages, errors = {}, {0: [], 1: []}, []
    running = threading.Event()  # the first job has taken the replica and is stepping

    def client(i, steps):
        def progress(p):
            messages[i].append(p.message)
            if p.step >= 1 and p.total > 1:
                running.set()
        try:
            results[i] = _engine(server).decompose(image, DecomposeOptions(layers=2, steps=steps, seed=i, prompt="x"),
                                                   progress)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            running.set()  # a failed first job must not hold the second one back

    # the second client comes while the first job runs (started together, a 2-step first job
    # could be done before the second request arrived on a loaded machine: nothing to queue)
    threads = [threading.Thread(target=client, args=(0, 8)), threading.Thread(target=client, args=(1, 2))]
    threads[0].start()
    running.wait(timeout=300)
    threads[1].start()
    for t in threads:
        t.join(timeout=300)
    assert not errors and sorted(results) == [0, 1]
    assert all(len(doc.layers) == 2 for doc in results.values())
    # one replica: one of them waited its turn and was told so
    assert any("Queued on the server, 1 ahead" in m for ms in messages.values() for m in ms)


def test_overload_is_503_with_retry_after_and_the_replica_recovers(server, sample_poster):
    """--queue 1: one job runs, one waits on the replica, one in Serve's queue; more get 503."""
    body, ctype = protocol.encode_multipart(
        {"engine": "qwen", "steps": 200, "layers": 2, "prompt": "x", "seed": 1},
        {"image": ("p.png", sample_poster.read_bytes(), "image/png")})
    answers, conns, lock = [], [], threading.Lock()

    def post():
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        conn.request("POST", "/v1/decompose", body=body, headers=_auth({"Content-Type": ctype}))
        resp = conn.getresponse()
        with lock:
            conns.append(conn)
            answers.append((resp.status, resp.getheader("Retry-After"),
                            json.loads(resp.read()) if resp.status != 200 else None))

    threads = [threading.Thread(target=post) for _ in range(3)]
    for t in threads:  # fill the replica and Serve's queue first, in order
        t.start()
        time.sleep(1.0)
    late = [threading.Thread(target=post) for _ in range(2)]
    for t in late:
        t.start()
    for t in late:
        t.join(timeout=120)
    busy = [a for a in answers if a[0] == 503]
    assert busy, answers
    assert all(retry and int(retry) > 0 and body_["kind"] == "server" and "busy" in body_["message"]
               for _, retry, body_ in busy)
    for conn in list(conns):  # the waiting clients go away: their jobs are dropped
        conn.close()
    for t in threads:
        t.join(timeout=180)
    for conn in conns:
        conn.close()
    assert _queue_empty(server, timeout=120)["decompose"]["queue"] == 0
    doc = _engine(server).decompose(open_image(sample_poster), DecomposeOptions(layers=2, steps=2, seed=1, prompt="x"))
    assert len(doc.layers) == 2


def test_folder_with_jobs_4_goes_on_past_a_bad_file(server, sample_poster, tmp_path, capsys):
    """`qil decompose DIR --server URL --jobs 4`: more requests than the server holds (1 running,
    1 waiting, 1 queued): the extra one is told 503 and retried; the bad file fails alone."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for name in "abcd":
        (src / f"{name}.png").write_bytes(sample_poster.read_bytes())
    (src / "e.png").write_text("not a picture")
    code = main(["decompose", str(src), "-o", str(out), "--server", server.url, "--token-file",
                 str(server.token_file), "--jobs", "4", "--steps", "2", "--layers", "2", "--seed", "3",
                 "--prompt", "x"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert sorted(p.name for p in out.iterdir()) == ["a.psd", "b.psd", "c.psd", "d.psd"]
    assert "4 of 5 images decomposed" in err and "e.png" in err
    assert all(len(open_document(out / f"{n}.psd").layers) == 2 for n in "abcd")


def test_edit_layer_through_the_server(server, tmp_path):
    from qil_editor.document import Document, Layer
    from qil_editor.io import save_psd

    pixels = np.zeros((48, 48, 4), np.uint8)
    pixels[8:40, 8:40] = (200, 40, 40, 255)
    doc = Document(64, 64, [Layer(np.full((64, 64, 4), 255, np.uint8), name="Background"),
                            Layer(pixels, name="Square", x=8, y=8)])
    src, out = tmp_path / "in.psd", tmp_path / "out.psd"
    save_psd(doc, src)
    assert main(["edit-layer", str(src), "--layer", "Square", "--prompt", "make it blue", "-o", str(out),
                 "--server", server.url, "--token-file", str(server.token_file), "--steps", "2",
                 "--resolution", "64", "--seed", "5", "--keep-shape", "-q"]) == 0
    edited = open_document(out)
    assert [la.name for la in edited.layers] == ["Background", "Square"]
    assert np.array_equal(edited.layers[0].pixels, open_document(src).layers[0].pixels)
    square = edited.layers[1]
    assert np.array_equal(square.pixels[..., 3] > 0, pixels[..., 3] > 0)  # keep-shape keeps the alpha
    assert not np.array_equal(square.pixels[..., :3], pixels[..., :3])


@pytest.fixture
def qt_loop(qapp):
    """The qasync loop marked running, as in the app (see tests/ui/conftest.py), so window jobs run."""
    import asyncio

    import qasync

    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    asyncio.events._set_running_loop(loop)
    yield loop
    asyncio.events._set_running_loop(None)


def test_editor_decomposes_and_reprompts_on_the_server(server, qt_loop, qtbot, tmp_path, sample_poster,
                                                       monkeypatch):
    """Preferences hold the server; the Decompose engine list has "Remote: HOST"; both jobs run there."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QMessageBox

    from qil_editor.document import Document, Layer
    from qil_editor.ui import remote_server
    from qil_editor.ui.app_window import MainWindow
    from qil_editor.ui.reprompt_dialog import open_reprompt
    from qil_editor.ui.settings import AppSettings

    shown = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box.text()) or 0)
    monkeypatch.setattr(remote_server, "system_keyring", lambda: None)
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    warning = remote_server.ServerPrefs(settings.q).save(server.url, TOKEN, reprompt_on_server=True)
    assert warning == remote_server.PLAINTEXT_WARNING  # no keyring here: said plainly
    window = MainWindow(settings, tmp_path / "data")
    qtbot.addWidget(window)
    try:
        choices = dict(window.engine_choices(window.registry))
        assert choices["remote"] == f"Remote: 127.0.0.1:{server.port}"
        image = open_image(sample_poster)
        tab = window.add_document(Document(image.shape[1], image.shape[0], [Layer(image, name="poster")]),
                                  name="poster")
        last = settings.decompose_request()
        request = type(last)("remote", last.options.with_changes(layers=2, steps=2, seed=3, prompt="x"))
        task = window.jobs.start(request, tab)
        assert task is not None
        qtbot.waitUntil(task.done, timeout=180_000)
        doc = tab.session.doc
        assert [la.name for la in doc.layers] == ["Background", "Layer 1"], shown
        assert tab.session.stack.count() == 1  # one undo step, as a local run

        tab.session.set_current(doc.layers[1].id)
        from qil_editor.engines.edit import EditOptions

        dialog = open_reprompt(window, base=EditOptions(prompt="edit", steps=2, seed=5, resolution=64))
        assert dialog is not None and dialog.editor.name == "remote-edit", shown
        dialog.prompt.setText("make it blue")
        dialog.keep_shape.setChecked(True)
        task = dialog.generate()
        qtbot.waitUntil(task.done, timeout=240_000)
        assert dialog.result is not None, shown
        assert np.array_equal(dialog.result.pixels[..., 3] > 0, doc.layers[1].pixels[..., 3] > 0)
        assert dialog.apply() and tab.session.stack.count() == 2
        dialog.close()
    finally:
        window.discard_all()
        window.close()


def test_server_killed_mid_job_exits_5_and_leaves_no_process(server, sample_poster, tmp_path):
    """Last: SIGTERM to ``qil serve`` during a job; the client exits 5, writes nothing; no process remains."""
    out = tmp_path / "o.psd"
    result = {}
    _queue_empty(server, timeout=120)  # an earlier test's job still queued would pass for this one
    worker = threading.Thread(target=lambda: result.setdefault("code", main(
        ["decompose", str(sample_poster), "-o", str(out), "--server", server.url, "--token-file",
         str(server.token_file), "--engine", "qwen", "--steps", "200", "--layers", "2", "-q"])))
    worker.start()

    def job_taken() -> bool:
        from qil_editor.engines.remote import ServerBusy

        try:
            return _engine(server).client.engines()["decompose"]["queue"] > 0
        except ServerBusy:  # Serve's queue is full: the job is in (see _queue_empty)
            return True

    deadline = time.monotonic() + 60
    while not job_taken() and time.monotonic() < deadline:
        time.sleep(0.2)
    processes = _descendants(server.proc.pid)
    assert processes  # Ray's processes run below qil serve
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=120)
    worker.join(timeout=120)
    assert result.get("code") == 5 and not out.exists()
    assert server.proc.returncode == 0, server.log_text()
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = [p for p in processes if _alive(p)]
    assert not left, f"left behind: {left}"
