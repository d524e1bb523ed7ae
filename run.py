"""The main job: build every variant, time it, and print one comparison table (+ CSV, JSON, PNG).

    python run.py                                   # everything this machine can run, bert-base-uncased
    python run.py --variants 'hand-fp16-*,torch-*'  # names or globs (see --help for the list)
    python run.py --batch 1,8 --seq 128,384         # the shapes to sweep
    python run.py --model config:bert-base          # random weights: latency only, no download
    python run.py --backend reference               # no TensorRT: accuracy of the hand-built network on the CPU

Variants: TensorRT's ONNX parser (fp32/fp16/int8), the hand-built network (fp32/fp16/int8, fp16
with each plugin fusion alone, all of them, all + packed), PyTorch baselines (fp32 eager, fp16
SDPA, + CUDA graph, torch.compile max-autotune + CUDA graph) and our CUDA kernels alone. What
cannot run here (no TensorRT, no GPU, plugins not built) is skipped and the table says why.

Engines are cached in --out-dir (default artifacts/bench) and rebuilt only when their inputs
change. Speedups are against PyTorch fp32 eager measured in the same run. How the numbers are
taken and how to read them: benchmarks/README.md.
"""
from bertrt.bench.runner import main
from bertrt.common import run_main

if __name__ == "__main__":
    run_main(main)
