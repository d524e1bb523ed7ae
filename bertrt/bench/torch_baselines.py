"""PyTorch baselines, from plain to the strongest we know, on the same inputs as the engines.

    eager          fp32, HF's eager attention (matmul, softmax, matmul): the reference point of
                   every speedup in the table
    sdpa           fp16, attention through F.scaled_dot_product_attention (flash / mem-efficient)
    sdpa-graph     the same, captured once into a CUDA graph and replayed: no per-kernel launch cost
    compile-graph  torch.compile(mode="max-autotune-no-cudagraphs") fp16 (Inductor's fused and
                   autotuned kernels), replayed from our own CUDA graph

The latency inputs are full-length sequences, so the attention mask is all ones and is not
passed: HF would otherwise turn it into a bias every call, work a user with unpadded batches
skips too. Accuracy is measured on the padded reference sentences, with their mask.
"""
from __future__ import annotations

from bertrt.bench.model_source import ModelSource
from bertrt.bench.results import Row
from bertrt.bench.timing import Protocol, cpu_benchmark, cuda_benchmark, cuda_graph, latency_feed
from bertrt.bench.variants import Planned
from bertrt.check import accuracy_report
from bertrt.common import INPUT_NAMES

COMPILE_MODE = "max-autotune-no-cudagraphs"  # Inductor's best kernels; the CUDA graph is ours


class TorchBaselines:
    """Runs the torch-* variants; keeps each loaded model for the variants that share it."""

    def __init__(self, source: ModelSource, reference: dict | None, protocol: Protocol):
        self.source = source
        self.reference = None if source.random_weights else reference
        self.protocol = protocol
        self._models: dict[tuple, object] = {}
        self._accuracy: dict[tuple, dict] = {}

    def _model(self, precision: str, attention: str, device: str):
        import torch

        key = (precision, attention, device)
        if key not in self._models:
            dtype = {"fp32": torch.float32, "fp16": torch.float16}[precision]
            self._models[key] = self.source.load(dtype, attention, device)
        return self._models[key]

    def _measure_accuracy(self, model, key: tuple, precision: str, device: str) -> dict:
        """top1/top5/max_abs_diff vs the fp32 reference logits (computed once per model)."""
        import torch

        if self.reference is None:
            return {}
        if key not in self._accuracy:
            feed = {n: torch.from_numpy(self.reference[n]).long().to(device) for n in INPUT_NAMES}
            logits = model(**feed).logits.float().cpu().numpy()
            positions = [tuple(p) for p in self.reference["mask_positions"]]
            report = accuracy_report(logits, self.reference["logits"],
                                     self.reference["attention_mask"].astype(bool), precision, positions)
            self._accuracy[key] = dict(top1=report["top1_agreement"], top5=report["top5_agreement"],
                                       max_abs_diff=report["max_abs_diff"], accuracy_ok=bool(report["passed"]))
        return self._accuracy[key]

    def run(self, planned: Planned, shapes: list[tuple[int, int]], status=lambda text: None) -> list[Row]:
        import torch

        variant, device = planned.variant, planned.backend
        attention = "eager" if variant.recipe == "eager" else "sdpa"
        notes = [planned.note] if planned.note else []
        rows = []
        with torch.inference_mode():
            status("loading the model")
            model = self._model(variant.precision, attention, device)
            if variant.recipe == "compile-graph":
                notes.append("accuracy not measured: max-autotune would recompile for the reference batch's shape")
                accuracy = {}
                status(f"torch.compile(mode={COMPILE_MODE!r})")
                model = torch.compile(model, mode=COMPILE_MODE, dynamic=False)
            else:
                status("accuracy")
                accuracy = self._measure_accuracy(model, (variant.precision, attention, device), variant.precision,
                                                  device)
                if variant.recipe == "sdpa-graph" and accuracy:
                    notes.append("accuracy of the eager SDPA model: a CUDA graph replays the same kernels")
            for batch, seq in shapes:
                feed = latency_feed(batch, seq, model.config.vocab_size)
                ids = torch.from_numpy(feed["input_ids"]).long().to(device)
                types = torch.from_numpy(feed["token_type_ids"]).long().to(device)

                def forward():
                    return model(input_ids=ids, token_type_ids=types).logits

                if variant.recipe == "compile-graph":
                    status(f"compiling for batch {batch} x seq {seq} (autotuning: minutes)")
                    forward()  # compiles for this shape (dynamic=False)
                if variant.recipe.endswith("-graph"):
                    status(f"capturing a CUDA graph for batch {batch} x seq {seq}")
                    forward = cuda_graph(forward)
                status(f"timing batch {batch} x seq {seq}")
                on_cpu = device == "cpu"
                timing = self.protocol.time(cpu_benchmark(forward) if on_cpu else cuda_benchmark(forward), on_cpu)
                rows.append(Row(variant.name, variant.kind, variant.precision, device, batch, seq,
                                reason="; ".join(notes), median_ms=timing.median_ms, p90_ms=timing.p90_ms,
                                p99_ms=timing.p99_ms, iterations=timing.iterations,
                                weights=self.source.weights_label, **accuracy))
        return rows
