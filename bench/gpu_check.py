"""GPU check: the real-size Qwen-Image-Layered architecture, random weights, through the engine's code.

Builds the transformer, VAE, text encoder, scheduler and processor from the
published configurations kept in ``bench/configs/qwen-image-layered`` (no
download), with random weights created directly on the target device (the
58 GB never pass through RAM), then runs the engine's own code
(:func:`qil_editor.engines.qwen.pipeline_run.run_layered`: caption with the
text encoder resident, step callback, NaN check, VAE strategy) in every
memory mode that fits, for 640 px / 4 layers and 1024 px / 8 layers.

    python bench/gpu_check.py --dry-run [--json]     # any machine, seconds: sizes and the planner table
    python bench/gpu_check.py [--steps 3] [--modes full,model-offload,group-offload] [--json-out FILE]
                              [--readme]             # CUDA: measure, JSON out, table into bench/README.md
    python bench/gpu_check.py --tiny --device cpu --cases 640x2   # the same path, scaled down (CI)
    python bench/gpu_check.py --measure-activations   # CPU: the planner's per-token working memory

Per mode and case it records seconds per denoising step, the caption's and
the decode's time, peak VRAM (allocated) and peak process RAM, whether the
output is finite, the plan's predicted peak against the measured one, and
the compute floor of one step: 2 FLOPs per transformer parameter per token,
twice per step with true CFG, at the GPU's bf16 peak; full-mode s/step is
reported as a multiple of that floor. Quantized modes (nf4/int8/fp8) load
their transformer through ``from_pretrained`` and are not part of this check.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from qil_editor.engines import tiny_models  # noqa: E402  (no torch import)
from qil_editor.engines.diffusion import device as dev  # noqa: E402  (no torch import)

CONFIG_DIR = ROOT / "bench" / "configs" / "qwen-image-layered"
GPU_SIZES_GB = (24, 48, 80, 141)
CASES = ((640, 4), (1024, 8))
MODES_CHECKED = ("full", "model-offload", "group-offload", "sequential-offload")
#: Dense bf16 tensor-core peaks (TFLOPS) from the vendors' data sheets, by a name fragment.
BF16_PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "GH200": 989.0, "A100": 312.0, "L40S": 362.0,
                    "A6000": 155.0, "4090": 165.0, "L4": 121.0, "A10": 125.0}
README = ROOT / "bench" / "README.md"
BEGIN, END = "<!-- gpu_check:begin -->", "<!-- gpu_check:end -->"
TEXT_TOKENS = 256  # prompt tokens assumed for the floor (the template plus a caption)

#: The scaled-down configuration for CI: the tiny model's sizes (engines/tiny_models.py), layered.
TINY_CONFIGS = {
    "transformer": dict(tiny_models.TINY_TRANSFORMER, use_additional_t_cond=True, use_layer3d_rope=True),
    "vae": dict(tiny_models.TINY_VAE, input_channels=4),
    "text_encoder": dict(text_config=tiny_models.TINY_TEXT, vision_config=tiny_models.TINY_VISION),
    "scheduler": {},
    "processor": {"image_processor": tiny_models.TINY_IMAGE_PROCESSOR},
}


def load_configs(tiny: bool = False) -> dict[str, dict]:
    """Component configurations: the published ones from the repository, or the CI-sized ones."""
    if tiny:
        return json.loads(json.dumps(TINY_CONFIGS))
    out = {}
    for name in ("transformer", "vae", "text_encoder", "scheduler", "processor"):
        data = json.loads((CONFIG_DIR / f"{name}.json").read_text(encoding="utf-8"))
        out[name] = {k: v for k, v in data.items() if not k.startswith("_")}
    return out


# ----- building --------------------------------------------------------------------------------

def build_models(configs: dict, device: str, dtype, tokenizer=None) -> dict:
    """Transformer, VAE and text encoder with random weights, created on ``device`` in ``dtype``
    ('meta' builds nothing but shapes: parameter counts in seconds)."""
    import torch
    from diffusers import AutoencoderKLQwenImage, QwenImageTransformer2DModel
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    te_config = dict(configs["text_encoder"])
    if tokenizer is not None:  # the special tokens' ids in the tokenizer that runs with it
        ids = {t: tokenizer.convert_tokens_to_ids(t) for t in ("<|image_pad|>", "<|video_pad|>",
                                                               "<|vision_start|>", "<|vision_end|>",
                                                               "<|endoftext|>", "<|im_end|>")}
        te_config.update(image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
                         vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"])
        text = dict(te_config["text_config"])
        text.setdefault("vocab_size", len(tokenizer))
        text.update(bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
                    pad_token_id=ids["<|endoftext|>"])
        te_config["text_config"] = text
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            transformer = QwenImageTransformer2DModel(**configs["transformer"]).eval()
            vae = AutoencoderKLQwenImage(**configs["vae"]).eval()
            text_encoder = Qwen2_5_VLForConditionalGeneration._from_config(
                Qwen2_5_VLConfig(**te_config), dtype=dtype).eval()
    finally:
        torch.set_default_dtype(previous)
    if tokenizer is not None:
        text_encoder.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
        text_encoder.generation_config.pad_token_id = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    return {"transformer": transformer, "vae": vae, "text_encoder": text_encoder}


def count_params(models: dict) -> dict[str, int]:
    return {name: int(sum(p.numel() for p in model.parameters())) for name, model in models.items()}


def build_pipeline(configs: dict, device: str, dtype):
    """The whole QwenImageLayeredPipeline, weights random and already on ``device``."""
    from diffusers import FlowMatchEulerDiscreteScheduler, QwenImageLayeredPipeline
    from transformers import Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor

    from qil_editor.engines.tiny_models import make_tiny_tokenizer

    tokenizer = make_tiny_tokenizer()
    models = build_models(configs, device, dtype, tokenizer)
    processor = Qwen2VLProcessor(image_processor=Qwen2VLImageProcessor(**configs["processor"]["image_processor"]),
                                 tokenizer=tokenizer, video_processor=Qwen2VLVideoProcessor())
    pipe = QwenImageLayeredPipeline(scheduler=FlowMatchEulerDiscreteScheduler(**configs["scheduler"]),
                                    tokenizer=tokenizer, processor=processor, **models)
    pipe.set_progress_bar_config(disable=True)
    return pipe, count_params(models)


# ----- the planner table ---------------------------------------------------------------------------

def simulated_gpu(gb: float) -> dev.DeviceInfo:
    return dev.DeviceInfo("cuda", 0, f"{gb} GB GPU", int(gb * dev.GB), int(gb * dev.GB), True,
                          512 * dev.GB, 480 * dev.GB, (9, 0))


def plan_table(params: dict[str, int]) -> list[dict]:
    """The mode the planner picks per GPU size and case, with and without the quantization packages."""
    rows = []
    quant = frozenset(dev.QUANT_PACKAGES.values())
    for gb in GPU_SIZES_GB:
        for resolution, layers in CASES:
            info = simulated_gpu(gb)
            plan = dev.choose_memory_mode(info, params, resolution=resolution, layers=layers, installed=frozenset())
            qplan = dev.choose_memory_mode(info, params, resolution=resolution, layers=layers, installed=quant)
            rows.append({"gpu_gb": gb, "resolution": resolution, "layers": layers, "mode": plan.mode,
                         "predicted_peak_gb": round(plan.need_bytes / dev.GB, 1),
                         "vae": plan.vae_strategy(resolution, layers),
                         "caption_resident": plan.caption_resident,
                         "mode_with_quantization": qplan.mode,
                         "predicted_peak_gb_with_quantization": round(qplan.need_bytes / dev.GB, 1)})
    return rows


def step_flops(transformer_params: int, resolution: int, layers: int) -> float:
    """Compute floor of one denoising step: 2 FLOPs per parameter per token, two passes (true CFG)."""
    tokens = dev.tokens_per_step(resolution, dev.denoise_frames(layers), TEXT_TOKENS)
    return 2.0 * transformer_params * tokens * 2


def dry_run(as_json: bool) -> dict:
    import torch

    params = count_params(build_models(load_configs(), "meta", torch.bfloat16))
    result = {"params": params, "plans": plan_table(params),
              "floor_tflop_per_step": {f"{r}px/{n}": round(step_flops(params["transformer"], r, n) / 1e12, 1)
                                       for r, n in CASES}}
    print(json.dumps(result, indent=1) if as_json else dry_run_markdown(result))
    return result


def dry_run_markdown(result: dict) -> str:
    p = result["params"]
    lines = [f"Parameters (published configurations, meta device): transformer {p['transformer'] / 1e9:.2f} B, "
             f"text encoder {p['text_encoder'] / 1e9:.2f} B, VAE {p['vae'] / 1e6:.1f} M.", "",
             "| GPU | case | mode | predicted peak | VAE decode | caption | with nf4/int8/fp8 installed |",
             "|---|---|---|---|---|---|---|"]
    for row in result["plans"]:
        lines.append(f"| {row['gpu_gb']} GB | {row['resolution']} px, {row['layers']} layers | {row['mode']} | "
                     f"{row['predicted_peak_gb']} GiB | {row['vae']} | "
                     f"{'resident' if row['caption_resident'] else 'streamed'} | "
                     f"{row['mode_with_quantization']} ({row['predicted_peak_gb_with_quantization']} GiB) |")
    floors = ", ".join(f"{k}: {v} TFLOP" for k, v in result["floor_tflop_per_step"].items())
    lines += ["", f"Compute floor per step (2 x params x tokens x 2 for true CFG): {floors}."]
    return "\n".join(lines)


# ----- measuring -----------------------------------------------------------------------------------

class RamPeak:
    """Peak resident memory of this process, sampled every 50 ms while active."""

    def __init__(self) -> None:
        import psutil

        self.process = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            self._stop.wait(0.05)

    def __enter__(self):
        self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.process.memory_info().rss)


@dataclass
class CaseResult:
    mode: str
    resolution: int
    layers: int
    steps: int
    ok: bool = True
    error: str = ""
    finite: bool | None = None
    s_per_step: float | None = None
    caption_s: float | None = None
    decode_s: float | None = None
    total_s: float | None = None
    vae: str = ""
    peak_vram_gb: float | None = None
    peak_ram_gb: float | None = None
    predicted_peak_gb: float | None = None
    floor_s_per_step: float | None = None
    extra: dict = field(default_factory=dict)


def place(pipe, info, mode: str) -> None:
    """Move the pipeline into ``mode`` the way the engine's loader does, from any earlier mode."""
    import torch

    from qil_editor.engines.diffusion.loader import place_pipeline

    pipe.remove_all_hooks()
    for name, component in pipe.components.items():  # drop group offloading left by an earlier mode
        if isinstance(component, torch.nn.Module):
            try:
                from diffusers.hooks import HookRegistry

                registry = HookRegistry.check_if_exists_or_initialize(component)
                for hook in ("group_offloading", "layer_execution_tracker", "lazy_prefetch_group_offloading"):
                    registry.remove_hook(hook, recurse=True)
            except Exception:  # noqa: BLE001 - a component without hooks
                pass
    pipe.to("cpu" if mode != "full" else info.torch_device)
    place_pipeline(pipe, info, mode)


def run_case(pipe, params: dict, info, mode: str, resolution: int, layers: int, steps: int,
             caption_tokens: int, peak_tflops: float | None) -> CaseResult:
    """One mode and case through the engine's run code; failures are recorded, not raised."""
    import numpy as np
    import torch
    from PIL import Image

    from qil_editor.engines.diffusion.loader import LoadedPipeline, LoadKey
    from qil_editor.engines.qwen.pipeline_run import RunSettings, run_layered

    result = CaseResult(mode, resolution, layers, steps)
    plan = dev.choose_memory_mode(info, params, resolution=resolution, layers=layers, requested=mode,
                                  installed=frozenset())
    result.predicted_peak_gb = round(plan.need_bytes / dev.GB, 2)
    loaded = LoadedPipeline(pipe, LoadKey("random", info.torch_device, plan.dtype, mode), info, plan, None, 0.0)
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (resolution, resolution, 4), dtype=np.uint8), "RGBA")
    marks: dict[str, float] = {}

    def on_step(step: int, total: int, message: str) -> None:
        now = time.perf_counter()
        if step == 0 and message == "Describing the image":
            marks["caption"] = now
        elif step == 0:
            marks["first"] = now
        else:
            marks[f"step{step}"] = now

    cuda = info.kind == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats(info.index or 0)
    start = time.perf_counter()
    try:
        with RamPeak() as ram:
            layers_out, _prompt = run_layered(loaded, image, RunSettings(
                layers=layers, resolution=resolution, steps=steps, prompt="", seed=1,
                max_caption_tokens=caption_tokens), on_step)
            if cuda:
                torch.cuda.synchronize()
        end = time.perf_counter()
        result.finite = bool(np.isfinite(layers_out).all())
        result.peak_ram_gb = round(ram.peak / dev.GB, 2)
        first, last = marks["first"], marks[f"step{steps}"]
        # step 1 includes prompt encoding; the steady rate comes from the later steps
        per = [(marks[f"step{i}"] - marks[f"step{i - 1}"]) for i in range(2, steps + 1)]
        result.s_per_step = round(sum(per) / len(per) if per else last - first, 3)
        result.caption_s = round(first - marks.get("caption", first), 2)
        result.decode_s = round(end - last, 2)
        result.total_s = round(end - start, 2)
        result.vae = loaded.vae_strategy
    except Exception as exc:  # noqa: BLE001 - a mode that fails is a finding
        result.ok, result.error = False, f"{type(exc).__name__}: {exc}"[:300]
        result.finite = False if "NaN" in str(exc) else None
    if cuda:
        result.peak_vram_gb = round(torch.cuda.max_memory_allocated(info.index or 0) / dev.GB, 2)
        torch.cuda.empty_cache()
    if peak_tflops:
        result.floor_s_per_step = round(step_flops(params["transformer"], resolution, layers)
                                        / (peak_tflops * 1e12), 4)
    return result


def measure_activations(sizes=((16, 4), (16, 8), (16, 12)), text_tokens: int = 64) -> list[dict]:
    """Peak RSS growth of one forward of a one-block transformer at the real width (CPU, fp32),
    for the planner's per-token working memory (:data:`DENOISE_BYTES_PER_TOKEN`)."""
    import gc

    import psutil
    import torch
    from diffusers import QwenImageTransformer2DModel

    config = dict(load_configs()["transformer"], num_layers=1)
    model = QwenImageTransformer2DModel(**config).eval()
    process = psutil.Process()
    rows = []
    for grid, frames in sizes:
        gc.collect()
        hidden = torch.randn(1, frames * grid * grid, config["in_channels"])
        text = torch.randn(1, text_tokens, config["joint_attention_dim"])
        base = process.memory_info().rss
        with RamPeak() as ram, torch.no_grad():
            model(hidden_states=hidden, timestep=torch.tensor([0.5]), encoder_hidden_states=text,
                  encoder_hidden_states_mask=torch.ones(1, text_tokens, dtype=torch.long),
                  img_shapes=[[(1, grid, grid)] * frames], additional_t_cond=torch.tensor([0]), return_dict=False)
        tokens = frames * grid * grid + text_tokens
        rows.append({"tokens": tokens, "peak_growth_mib": round((ram.peak - base) / 2 ** 20, 1),
                     "kib_per_token_fp32": round((ram.peak - base) / tokens / 1024, 1)})
        print(rows[-1], flush=True)
    return rows


def peak_tflops_for(name: str, override: float | None) -> float | None:
    if override:
        return override
    for fragment, tflops in BF16_PEAK_TFLOPS.items():
        if fragment.lower() in name.lower():
            return tflops
    return None


def check_device(device: str, *, tiny: bool, steps: int, modes: list[str] | None, cases, caption_tokens: int,
                 peak_tflops: float | None = None, time_budget_s: float = 480.0, on_result=None) -> dict:
    """Build on ``device`` and run every mode that fits, for each case; returns the JSON report.

    ``on_result(report)`` gets the report so far after each case, so that a run cut short by its
    host's time limit still leaves what it measured."""
    import torch

    started = time.perf_counter()
    info = dev.probe_device(device)
    dtype_name = dev.choose_dtype(info, None if not tiny else {"transformer": 1})
    dtype = {"bf16": torch.bfloat16, "fp32": torch.float32}[dtype_name]
    configs = load_configs(tiny)
    build_start = time.perf_counter()
    pipe, params = build_pipeline(configs, info.torch_device, dtype)
    build_s = time.perf_counter() - build_start
    info = dev.probe_device(device)  # now with our own weights resident: still plannable
    peak = peak_tflops_for(info.name, peak_tflops) if info.kind == "cuda" else peak_tflops
    wanted = modes or [m for m in MODES_CHECKED if m != "sequential-offload"]
    results: list[CaseResult] = []
    skipped: list[dict] = []
    for mode in wanted:
        problem = dev.mode_problem(mode, info, frozenset())
        if problem:
            skipped.append({"mode": mode, "why": problem})
            continue
        try:
            place(pipe, info, mode)
        except Exception as exc:  # noqa: BLE001
            skipped.append({"mode": mode, "why": f"could not be placed: {type(exc).__name__}: {exc}"[:300]})
            continue
        for resolution, layers in cases:
            plan = dev.choose_memory_mode(info, params, resolution=resolution, layers=layers, requested=mode,
                                          installed=frozenset())
            if plan.budget_bytes is not None and plan.need_bytes > plan.budget_bytes:
                skipped.append({"mode": mode, "resolution": resolution, "layers": layers,
                                "why": f"predicted {plan.need_bytes / dev.GB:.1f} GiB > "
                                       f"{plan.budget_bytes / dev.GB:.1f} GiB usable"})
                continue
            if time.perf_counter() - started > time_budget_s:
                skipped.append({"mode": mode, "resolution": resolution, "layers": layers,
                                "why": "time budget spent"})
                continue
            results.append(run_case(pipe, params, info, mode, resolution, layers, steps, caption_tokens, peak))
            if on_result is not None:
                on_result(_report(info, peak, tiny, dtype_name, params, build_s, results, skipped, started))
    return _report(info, peak, tiny, dtype_name, params, build_s, results, skipped, started)


def _report(info, peak, tiny, dtype_name, params, build_s, results, skipped, started) -> dict:
    full = [r for r in results if r.mode == "full" and r.ok and r.s_per_step and r.floor_s_per_step]
    return {
        "device": {"name": info.name, "kind": info.kind, "total_gb": round(info.total_bytes / dev.GB, 1),
                   "bf16": info.bf16, "peak_bf16_tflops": peak},
        "configuration": "tiny (CI)" if tiny else "real size (published configurations)",
        "dtype": dtype_name, "params": params, "build_s": round(build_s, 1),
        "results": [r.__dict__ for r in results], "skipped": skipped,
        "full_mode_floor_ratio": {f"{r.resolution}px/{r.layers}": round(r.s_per_step / r.floor_s_per_step, 2)
                                  for r in full},
        "seconds": round(time.perf_counter() - started, 1),
    }


def _gib(value) -> str:
    return "-" if value is None else f"{value} GiB"


def results_markdown(report: dict) -> str:
    d = report["device"]
    lines = [f"{d['name']} ({d['total_gb']} GB), {report['configuration']}, {report['dtype']}; "
             f"build {report['build_s']} s, whole check {report['seconds']} s.", "",
             "| mode | case | s/step | x floor | caption s | decode s | VAE | peak VRAM | predicted | peak RAM | finite |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        ratio = (f"{r['s_per_step'] / r['floor_s_per_step']:.1f}" if r["ok"] and r["floor_s_per_step"] else "-")
        if not r["ok"]:
            lines.append(f"| {r['mode']} | {r['resolution']} px, {r['layers']} | failed: {r['error'][:80]} "
                         f"| | | | | {_gib(r['peak_vram_gb'])} | {r['predicted_peak_gb']} GiB | | {r['finite']} |")
            continue
        lines.append(f"| {r['mode']} | {r['resolution']} px, {r['layers']} | {r['s_per_step']} | {ratio} | "
                     f"{r['caption_s']} | {r['decode_s']} | {r['vae']} | {_gib(r['peak_vram_gb'])} | "
                     f"{r['predicted_peak_gb']} GiB | {r['peak_ram_gb']} GiB | {r['finite']} |")
    for s in report["skipped"]:
        case = f" {s['resolution']} px, {s['layers']}" if "resolution" in s else ""
        lines.append(f"\nSkipped {s['mode']}{case}: {s['why']}")
    return "\n".join(lines)


def write_readme(markdown: str, readme: Path | None = None) -> None:
    """Replace this check's own section of bench/README.md (between its markers)."""
    readme = readme or README
    text = readme.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{markdown}\n{END}"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## GPU check (`gpu_check.py`)\n\n" + block + "\n"
    readme.write_text(text, encoding="utf-8")


def _writer(path: Path | None):
    if path is None:
        return None
    return lambda report: path.write_text(json.dumps(report, indent=1), encoding="utf-8")


def parse_cases(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        resolution, _, layers = part.strip().lower().partition("x")
        out.append((int(resolution), int(layers)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="sizes and planner table only (meta device)")
    parser.add_argument("--json", action="store_true", help="with --dry-run: print JSON")
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N, or cpu with --tiny [cuda]")
    parser.add_argument("--tiny", action="store_true", help="the scaled-down configuration (CI, CPU)")
    parser.add_argument("--steps", type=int, default=3, help="denoising steps per case [3]")
    parser.add_argument("--modes", help="comma-separated memory modes [full,model-offload,group-offload]")
    parser.add_argument("--cases", default="640x4,1024x8", help="RESxLAYERS,... [640x4,1024x8]")
    parser.add_argument("--caption-tokens", type=int, default=16, help="tokens of the short caption [16]")
    parser.add_argument("--peak-tflops", type=float, help="the GPU's dense bf16 peak, if not in the table")
    parser.add_argument("--measure-activations", action="store_true",
                        help="CPU: working memory per token of one real-width transformer block")
    parser.add_argument("--time-budget", type=float, default=480.0,
                        help="seconds after which no further case is started [480]")
    parser.add_argument("--json-out", type=Path, help="write the report here (after each case, too)")
    parser.add_argument("--readme", action="store_true", help="put the table into bench/README.md")
    args = parser.parse_args(argv)
    if args.measure_activations:
        measure_activations()
        return 0
    if args.dry_run:
        result = dry_run(args.json)
        if args.json_out:
            args.json_out.write_text(json.dumps(result, indent=1), encoding="utf-8")
        if args.readme:
            write_readme("Dry run (`python bench/gpu_check.py --dry-run`; no GPU involved):\n\n"
                         + dry_run_markdown(result))
        return 0
    if args.steps < 2:
        parser.error("--steps must be at least 2 (s/step is measured between steps)")
    if not args.tiny and not args.device.startswith("cuda"):
        parser.error("the real-size check runs on CUDA; use --dry-run, or --tiny --device cpu")
    report = check_device(args.device, tiny=args.tiny, steps=args.steps,
                          modes=args.modes.split(",") if args.modes else None,
                          cases=parse_cases(args.cases), caption_tokens=args.caption_tokens,
                          peak_tflops=args.peak_tflops, time_budget_s=args.time_budget,
                          on_result=_writer(args.json_out))
    markdown = results_markdown(report)
    print(markdown)
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    if args.readme:
        write_readme(markdown)
    return 0 if all(r["ok"] and r["finite"] for r in report["results"]) and report["results"] else 1


if __name__ == "__main__":
    sys.exit(main())
