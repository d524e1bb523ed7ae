"""`python run.py`: build every variant, measure it, print one comparison table.

The pieces, in the order a run uses them:
  variants.py       which variants exist, which were asked for, and which can run here (and why not)
  model_source.py   the model: a HF name or folder, or `config:bert-base` (random weights), and its ONNX export
  engine_cache.py   rebuild an engine only when something it was built from changed
  timing.py         CUDA-event timing on one stream, enough iterations for a stable median
  engines.py        the TensorRT variants (ONNX parser and hand-built), and the reference backend's accuracy
  torch_baselines.py  PyTorch at its best: eager fp32, fp16 SDPA, + CUDA graph, + torch.compile
  kernel_bench.py   our CUDA kernels through their C API next to the PyTorch ops they replace
  results.py        one Row per measurement -> terminal table, CSV, JSON and a PNG
  runner.py         the command line and the loop over the plan
"""
