"""The LayerNorm-family torch wrappers' argument checks, which run before any launch: here on CPU
tensors, so no GPU and no kernel library are needed."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

torch = pytest.importorskip("torch")

from plugins.layernorm.ops import layer_norm, output_tensor  # noqa: E402
from plugins.skip_layernorm.ops import skip_layer_norm, skip_layer_norm_int8  # noqa: E402


def test_an_output_over_the_rows_read_is_refused():
    """layernorm_kernel.h: the output must not overlap the rows a kernel reads (shifted, one block's
    output rows would be another's input; a BERT_READONLY_ACTIVATIONS build reads them through the
    read-only path), so LayerNorm's and SkipLayerNorm's wrappers refuse such an `out`, whole or
    partly over x or skip, in fp32 and INT8, with the fix in the message; an `out` just past x in
    the same buffer is accepted."""
    buffer = torch.zeros(64)
    x, skip = buffer[:32].view(4, 8), torch.zeros(4, 8)
    gamma, beta = torch.ones(8), torch.zeros(8)
    x8, skip8 = torch.zeros(4, 8, dtype=torch.int8), torch.zeros(4, 8, dtype=torch.int8)
    refused = {
        "x": [lambda: layer_norm(x, gamma, beta, 1e-12, out=x),
              lambda: layer_norm(x, gamma, beta, 1e-12, out=buffer[16:48].view(4, 8)),
              lambda: skip_layer_norm(x, skip, gamma, beta, 1e-12, out=x),
              lambda: skip_layer_norm_int8(x8, 0.1, skip8, 0.1, gamma, beta, 0.1, 1e-12, out=x8)],
        "skip": [lambda: skip_layer_norm(x, skip, gamma, beta, 1e-12, out=skip),
                 lambda: skip_layer_norm_int8(x8, 0.1, skip8, 0.1, gamma, beta, 0.1, 1e-12, out=skip8)],
    }
    for name, calls in refused.items():
        for call in calls:
            with pytest.raises(ValueError, match=f"out must not overlap {name}: .*pass a new tensor"):
                call()
    beside = buffer[32:].view(4, 8)  # in x's buffer, just past its last byte
    assert output_tensor(beside, (4, 8), x.dtype, x.device, reads={"x": x, "skip": skip}) is beside
