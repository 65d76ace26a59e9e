"""``qil serve``: the model on Ray Serve, for the editor and ``qil decompose --server`` elsewhere.

Starts a local Ray head (or joins a cluster with ``--address``), deploys the
application from :mod:`qil_editor.server.app` and waits. Ctrl+C or SIGTERM
deletes the application, shuts Serve down when this command started it, and
stops the local Ray it started, so no process is left behind. Ray is imported
here only, when the command runs.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import sys
import threading

from ..errors import UsageError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(subparsers) -> None:
    from ..server.protocol import DEFAULT_PORT

    p = subparsers.add_parser(
        "serve", help="serve decompose and re-prompt over HTTP on Ray Serve (needs the 'serve' extra)",
        description="Serve the decompose and edit engines on Ray Serve: one replica per GPU (one on a "
                    "CPU-only machine). Clients: qil decompose --server URL, and the editor's Remote engine.")
    p.add_argument("--model", metavar="DIR", help="Qwen-Image-Layered folder (else QIL_MODEL_DIR, model/, HF cache)")
    p.add_argument("--edit-model", metavar="DIR", help="Qwen-Image-Edit folder (else QIL_EDIT_MODEL_DIR, ...)")
    p.add_argument("--lora", metavar="FILE", help="LoRA for every decomposition (e.g. a Lightning step LoRA)")
    p.add_argument("--edit", choices=("auto", "on", "off"), default="auto",
                   help="deploy the edit engine: auto = when its weights are found [auto]")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on [127.0.0.1]")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port [{DEFAULT_PORT}]")
    p.add_argument("--token-file", metavar="F", help="file holding the bearer token clients must send "
                                                     "(required unless --host is loopback)")
    p.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate (with --tls-key)")
    p.add_argument("--tls-key", metavar="PEM", help="private key for --tls-cert")
    p.add_argument("--replicas", default="auto", metavar="N|auto",
                   help="replicas per engine [auto: one per GPU, one on a CPU-only machine]")
    p.add_argument("--queue", type=int, default=8, metavar="N",
                   help="jobs that may wait per replica before clients get 503 [8]")
    p.add_argument("--address", default=None, metavar="auto|ray://HOST:PORT",
                   help="join this Ray cluster instead of starting a local one")
    p.add_argument("--num-cpus", type=int, default=None, help="CPUs for a local Ray head [all]")
    p.add_argument("--device", default="auto", help="device for the engines: auto, cuda, cpu [auto]")
    p.add_argument("--memory", default="auto", help="memory mode for the engines [auto]")
    p.add_argument("--max-upload-mb", type=int, default=512, help="largest accepted upload in MB [512]")
    p.set_defaults(func=run)


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def settings_from_args(args):
    """ServeSettings from the arguments, with the checks that must pass before Ray starts."""
    from ..server.protocol import read_token_file, token_digest

    if args.replicas != "auto":
        try:
            if int(args.replicas) < 1:
                raise ValueError
        except ValueError:
            raise UsageError(f"--replicas must be a whole number of at least 1, or auto; got {args.replicas!r}.") from None
    if not _is_loopback(args.host) and not args.token_file:
        raise UsageError(f"Refusing to listen on {args.host} without a token.",
                         "Pass --token-file F (any client must then send that token), or use --host 127.0.0.1.")
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together.")
    for path in (args.tls_cert, args.tls_key):
        if path and not os.path.isfile(path):
            raise UsageError(f"{path} does not exist.")
    if args.queue < 0:
        raise UsageError(f"--queue must be 0 or more, got {args.queue}.")
    digest = token_digest(read_token_file(args.token_file)) if args.token_file else None
    from ..server.app import ServeSettings  # imports ray: only after the cheap checks

    return ServeSettings(model=args.model, edit_model=args.edit_model, lora=args.lora, token_digest=digest,
                         replicas=args.replicas if args.replicas == "auto" else int(args.replicas),
                         queue=args.queue, device=args.device, memory=args.memory,
                         max_upload_bytes=args.max_upload_mb * 1024 * 1024, edit=args.edit)


def run(args) -> int:
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    try:
        import ray  # noqa: F401
        from ray import serve  # noqa: F401
    except ImportError:
        raise UsageError("qil serve needs Ray Serve, which is not installed.",
                         "Install the server extra: pip install 'qil-editor[serve]'.") from None
    settings = settings_from_args(args)
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    import ray
    from ray import serve

    from ..server.app import build_app

    # Ray's core worker installs its own SIGTERM handler (it aborts): ours go in after ray.init.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    started_ray = False
    try:
        if args.address:
            ray.init(address=args.address, logging_level="WARNING", log_to_driver=False)
        else:
            # "local": a new Ray of our own, never a cluster someone started with `ray start`
            # (its Serve would be shut down with ours)
            ray.init(address="local", num_cpus=args.num_cpus, include_dashboard=False,
                     logging_level="WARNING", log_to_driver=False)
            started_ray = True
        for sig in previous:
            signal.signal(sig, on_signal)
        http = {"host": args.host, "port": args.port}
        if args.tls_cert:
            http.update(ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key)
        serve.start(http_options=http)
        app = build_app(settings)
        if not stop.is_set():
            serve.run(app, name="qil", route_prefix="/")
            scheme = "https" if args.tls_cert else "http"
            print(f"qil: serving on {scheme}://{args.host}:{args.port}/v1 "
                  f"(Ctrl+C to stop)", file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
        print("qil: stopping the server...", file=sys.stderr, flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _shutdown(started_ray)
    return 0


def _shutdown(started_ray: bool) -> None:
    """Remove what this command deployed; stop the local Ray it started (and so every process)."""
    import ray
    from ray import serve

    if not ray.is_initialized():
        return
    try:
        if started_ray:
            serve.shutdown()
        else:
            serve.delete("qil")
    except Exception as exc:  # noqa: BLE001 - still stop Ray below
        print(f"qil: Serve did not shut down cleanly: {exc}", file=sys.stderr)
    finally:
        ray.shutdown()
