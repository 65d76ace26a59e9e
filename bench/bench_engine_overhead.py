"""What the qwen engine adds on top of calling the diffusers pipeline directly.

Both sides run the same loaded tiny pipeline in this process, on the same
input, with the same settings (prompt given, so no captioning):

* direct: ``pipe(image=PIL, ...)`` at the bucket size, no callback, output
  left at the bucket size (what a script calling diffusers would do);
* engine: ``QwenDecomposer.decompose`` with a progress callback and a cancel
  token: premultiplied resize in, step callback, scaling back to the input
  size and detail restoration, building the Document.

Per-step overhead comes from the slope between two step counts (the fixed
VAE and text-encoder work cancels out), and, exactly, from timing what runs
between the scheduler step and the next transformer call (the engine's step
callback: progress, ETA, cancel check); the fixed overhead is the rest.
Runs are interleaved and the best of ``--repeat`` kept, because shared CPUs
are noisy.

    python bench/bench_engine_overhead.py [--model DIR] [--size 1000x700] [--layers 2]
                                          [--steps 1 4] [--repeat 3] [--clock wall|cpu]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="model folder [a fresh tiny random model]")
    parser.add_argument("--size", default="1000x700", help="input WxH [1000x700]")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--steps", type=int, nargs=2, default=(1, 4), metavar=("FEW", "MANY"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--clock", choices=("wall", "cpu"), default=None,
                        help="wall time, or this process's CPU time (steadier on a shared machine) "
                             "[cpu for --device cpu, else wall: CPU time misses GPU work]")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads [1 for --device cpu: with two threads on a shared "
                             "2-core machine one busy core stalls both, which swamps the comparison]")
    args = parser.parse_args()

    import torch

    threads = args.threads or (1 if args.device == "cpu" else None)
    if threads:
        torch.set_num_threads(threads)
    from PIL import Image

    from qil_editor.engines.base import DecomposeOptions
    from qil_editor.engines.jobs import CancelToken
    from qil_editor.engines.qwen import QwenDecomposer
    from qil_editor.engines.qwen.resize import layers_to_input_size, resize_rgba, working_size
    from qil_editor.engines.tiny_models import make_tiny_layered_model

    tmp = None
    model = args.model
    if model is None:
        tmp = tempfile.TemporaryDirectory()
        model = str(make_tiny_layered_model(Path(tmp.name) / "tiny"))
    width, height = (int(v) for v in args.size.lower().split("x"))
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    image[..., 3] = 255

    engine = QwenDecomposer()
    base = DecomposeOptions(layers=args.layers, steps=1, seed=1, prompt="a poster with text",
                            model_dir=model, device=args.device)
    engine.decompose(image[:64, :64], base)  # load + warm up
    pipe = engine.loaded.pipe
    bucket = working_size(width, height, base.resolution)
    pil = Image.fromarray(resize_rgba(image, *bucket), "RGBA")

    def direct(steps: int) -> None:
        pipe(image=pil, prompt=base.prompt, negative_prompt=base.negative_prompt,
             true_cfg_scale=base.cfg_scale, layers=args.layers, num_inference_steps=steps,
             generator=torch.Generator().manual_seed(1), output_type="np", resolution=base.resolution,
             cfg_normalize=True, use_en_prompt=True)

    def through_engine(steps: int) -> None:
        engine.decompose(image, base.with_changes(steps=steps), lambda p: None, CancelToken())

    few, many = args.steps
    args.clock = args.clock or ("cpu" if args.device == "cpu" else "wall")
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    best = {(kind, s): float("inf") for kind in ("direct", "engine") for s in (few, many)}
    for i in range(args.repeat):
        order = (("direct", direct), ("engine", through_engine))
        for steps in (few, many):
            for kind, fn in (order if i % 2 == 0 else order[::-1]):
                t0 = clock()
                fn(steps)
                best[(kind, steps)] = min(best[(kind, steps)], clock() - t0)

    # The engine's own per-step work (step callback, progress, cancel check) sits between the
    # scheduler step and the next transformer call: time that gap directly, in microseconds.
    gaps: dict[str, list[float]] = {"direct": [], "engine": []}
    mark = {"t": None, "kind": None}
    step_fn, forward_fn = pipe.scheduler.step, pipe.transformer.forward

    def timed_step(*a, **k):
        out = step_fn(*a, **k)
        mark["t"] = time.perf_counter()
        return out

    def timed_forward(*a, **k):
        if mark["t"] is not None:
            gaps[mark["kind"]].append(time.perf_counter() - mark["t"])
            mark["t"] = None
        return forward_fn(*a, **k)

    pipe.scheduler.step, pipe.transformer.forward = timed_step, timed_forward
    for kind, fn in (("direct", direct), ("engine", through_engine)) * 2:
        mark["kind"], mark["t"] = kind, None
        fn(many)
    pipe.scheduler.step, pipe.transformer.forward = step_fn, forward_fn
    gap_us = {k: 1e6 * float(np.median(v)) for k, v in gaps.items()}

    # The engine's fixed work, timed on its own (deterministic numpy/OpenCV work, so steady)
    raw = pipe(image=pil, prompt=base.prompt, negative_prompt=base.negative_prompt, layers=args.layers,
               num_inference_steps=1, generator=torch.Generator().manual_seed(1), output_type="np",
               resolution=base.resolution).images[0]

    def best_time(fn, n=5):
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    fixed_parts = {
        "resize_in_s": best_time(lambda: resize_rgba(image, *bucket)),
        "scale_out_s": best_time(lambda: layers_to_input_size(list(raw), width, height)),
        "scale_out_and_restore_s": best_time(lambda: layers_to_input_size(list(raw), width, height, image)),
    }

    per_step = {k: (best[(k, many)] - best[(k, few)]) / (many - few) for k in ("direct", "engine")}
    fixed = {k: best[(k, few)] - per_step[k] * few for k in ("direct", "engine")}
    step_overhead = per_step["engine"] / per_step["direct"] - 1.0
    result = {
        "device": args.device, "clock": args.clock, "torch_threads": torch.get_num_threads(), "input": f"{width}x{height}", "bucket": f"{bucket[0]}x{bucket[1]}",
        "layers": args.layers, "steps": [few, many],
        "direct_s": {str(s): round(best[("direct", s)], 3) for s in (few, many)},
        "engine_s": {str(s): round(best[("engine", s)], 3) for s in (few, many)},
        "per_step_s": {k: round(v, 4) for k, v in per_step.items()},
        "per_step_overhead_pct": round(100 * step_overhead, 2),
        "between_steps_us": {k: round(v, 1) for k, v in gap_us.items()},
        "callback_overhead_pct_of_step": round(100 * (gap_us["engine"] - gap_us["direct"]) / 1e6
                                               / per_step["direct"], 4),
        "fixed_overhead_s": round(fixed["engine"] - fixed["direct"], 3),
        "fixed_parts_s": {k: round(v, 4) for k, v in fixed_parts.items()},
        "run_overhead_pct_at_many": round(100 * (best[("engine", many)] / best[("direct", many)] - 1), 2),
    }
    print(f"input {result['input']} -> bucket {result['bucket']}, {args.layers} layers, {args.device}, "
          f"{args.clock} clock, {torch.get_num_threads()} torch thread(s), best of {args.repeat}")
    print(f"{'':10s}{few:>4d} steps{many:>8d} steps{'per step':>12s}")
    for k in ("direct", "engine"):
        print(f"{k:10s}{best[(k, few)]:9.3f} s{best[(k, many)]:9.3f} s{per_step[k]:10.4f} s")
    print(f"per-step overhead from the step-count slope: {result['per_step_overhead_pct']:+.2f}% "
          f"(goal <= 5%; noisy on a shared CPU)")
    print(f"between two steps: direct {gap_us['direct']:.1f} us, engine {gap_us['engine']:.1f} us "
          f"(callback, progress, cancel check) = {result['callback_overhead_pct_of_step']:+.4f}% of a step")
    print(f"fixed work per run, timed alone: resize in {fixed_parts['resize_in_s']:.3f} s, scale out "
          f"{fixed_parts['scale_out_s']:.3f} s, scale out + detail restore {fixed_parts['scale_out_and_restore_s']:.3f} s")
    print(f"fixed overhead from the totals: {result['fixed_overhead_s']:+.3f} s per run; whole run at {many} steps: "
          f"{result['run_overhead_pct_at_many']:+.2f}% (noisy on a shared CPU)")
    print(json.dumps(result))
    engine.unload()
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
