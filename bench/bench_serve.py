"""What serving through Ray Serve costs against the in-process engine, and what a second replica buys.

Same tiny model, same image, same steps, same machine:

* in-process: ``QwenDecomposer.decompose`` in this process, interleaved with
  the served runs, with as many torch CPU threads as the replica reports;
* served: ``qil serve`` (a local Ray head) and the remote engine, one
  request at a time: the ratio served / in-process is the server path's
  overhead (upload, NDJSON events, PNG layers back, Ray routing);
* the server path's own cost, independent of load swings between processes:
  the client's wall time minus the job's time on the replica (upload, Ray
  routing, NDJSON events, PNG layers back);
* throughput: ``--jobs`` requests at once against 1 and then 2 replicas.

Best of ``--repeat`` for single-image times (shared CPUs are noisy). One
Ray start per replica count.

    python bench/bench_serve.py [--model DIR] [--steps 4] [--repeat 2] [--jobs 4] [--replicas 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "bench-token-0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model: str, replicas: int, tmp: Path):
    token_file = tmp / "token"
    token_file.write_text(TOKEN)
    port = _free_port()
    log = tmp / f"serve-{replicas}.log"
    cmd = [sys.executable, "-c", "import sys; from qil_editor.cli import main; sys.exit(main())", "serve",
           "--model", model, "--edit", "off", "--port", str(port), "--token-file", str(token_file),
           "--num-cpus", str(max(2, replicas)), "--device", "cpu", "--replicas", str(replicas)]
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    t0 = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    for _ in range(600):  # 300 s at most
        if proc.poll() is not None:
            raise SystemExit(f"qil serve failed:\n{log.read_text()[-3000:]}")
        if "serving on" in log.read_text(errors="replace"):
            return proc, f"http://127.0.0.1:{port}", time.perf_counter() - t0
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("qil serve did not start in 300 s")


def stop_server(proc) -> float:
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="Qwen-Image-Layered folder [a fresh tiny random model]")
    parser.add_argument("--image", default=str(ROOT / "resources" / "samples" / "poster.png"))
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=4, help="images sent at once for throughput [4]")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the server is stopped on the way out

    import torch

    torch.set_num_threads(1)
    from qil_editor.engines.base import DecomposeOptions
    from qil_editor.engines.qwen import QwenDecomposer
    from qil_editor.engines.remote import RemoteDecomposer
    from qil_editor.io import open_image

    image = open_image(args.image)
    opts = DecomposeOptions(layers=2, steps=args.steps, seed=1, prompt="a poster", device="cpu")
    with tempfile.TemporaryDirectory(prefix="qil-bench-serve-") as tmp_name:
        tmp = Path(tmp_name)
        model = args.model
        if model is None:
            from qil_editor.engines.tiny_models import make_tiny_layered_model

            model = str(make_tiny_layered_model(tmp / "tiny"))
        local = QwenDecomposer()
        local.decompose(image, opts.with_changes(model_dir=model, steps=1))  # load once
        for replicas in args.replicas:
            proc, url, start_s = start_server(model, replicas, tmp)
            try:
                remote = RemoteDecomposer(url, TOKEN, server_engine="qwen")
                remote.decompose(image, opts.with_changes(steps=1))  # loads the model on a replica
                threads = remote.client.engines()["decompose"].get("cpu_threads") or 1
                torch.set_num_threads(threads)  # the same CPU threads as the replica
                local_times, served_times, overheads = [], [], []
                for _ in range(args.repeat):  # interleaved: load changes hit both sides alike
                    t0 = time.perf_counter()
                    local.decompose(image, opts.with_changes(model_dir=model))
                    local_times.append(time.perf_counter() - t0)
                    t0 = time.perf_counter()
                    remote.decompose(image, opts)
                    served_times.append(time.perf_counter() - t0)
                    overheads.append(served_times[-1] - remote.last_run.server_seconds)
                in_process, served = min(local_times), min(served_times)
                if replicas > 1:  # warm the other replicas too
                    warm = [threading.Thread(target=remote.decompose, args=(image, opts.with_changes(steps=1)))
                            for _ in range(replicas)]
                    [t.start() for t in warm]
                    [t.join() for t in warm]
                errors = []

                def one(i):
                    try:
                        remote.decompose(image, opts.with_changes(seed=i))
                    except Exception as exc:  # noqa: BLE001
                        errors.append(exc)

                t0 = time.perf_counter()
                clients = [threading.Thread(target=one, args=(i,)) for i in range(args.jobs)]
                [t.start() for t in clients]
                [t.join() for t in clients]
                batch = time.perf_counter() - t0
            finally:
                stop_s = stop_server(proc)
            print(json.dumps({"what": "served", "replicas": replicas, "steps": args.steps, "threads": threads,
                              "in_process_s": round(in_process, 3), "start_s": round(start_s, 1),
                              "stop_s": round(stop_s, 1), "seconds": round(served, 3),
                              "ratio_vs_in_process": round(served / in_process, 3),
                              "server_path_overhead_s": round(min(overheads), 3),
                              "jobs": args.jobs, "batch_s": round(batch, 2),
                              "images_per_min": round(60 * args.jobs / batch, 2), "errors": len(errors)}),
                  flush=True)


if __name__ == "__main__":
    main()
