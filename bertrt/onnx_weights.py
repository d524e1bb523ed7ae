"""Read a BERT masked-LM's weights out of an ONNX file, by the graph's structure.

Exporters name weights differently: the legacy TorchScript exporter stores each linear weight
already transposed under an anonymous name (`onnx::MatMul_335`) and merges identical tensors;
the dynamo exporter keeps module names for some and calls others `val_97`. Names are therefore
not trusted. Instead we find each parameter by the role it plays in the graph:

  Gather(table, input_ids)          -> word embeddings (likewise token_type_ids -> token types)
  any other Gather on an [N, hidden] table -> position embeddings
  LayerNormalization nodes, in order -> embeddings, then 2 per layer, then the MLM head
  MatMul/Gemm with a constant operand -> a linear layer (its bias is the Add that follows)
    - the three that read a layer's input and end up in Q K^T or in P V are query/key/value:
      query feeds the scores product as its left operand, key as its right one, value feeds
      the product with the softmax output
    - the remaining one before the attention LayerNorm is attention.output.dense, then
      intermediate.dense and output.dense; in the head, transform.dense and the decoder.
All weights are returned in HF's layout (Linear: [out, in]). Anything that does not fit raises
NotABertMLM with what was expected.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bertrt.common import INPUT_NAMES, BertDims, UserError

# Nodes a weight or activation may pass through without changing what it is.
_PASS_THROUGH = {"Identity", "Cast", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten"}
# Nodes between a Q/K/V projection and the attention products.
_ATTENTION_PATH = _PASS_THROUGH | {"Add", "Mul", "Div", "Sqrt"}
METADATA_KEY = "bert_dims"  # written by model2onnx.py: BertDims as JSON


class NotABertMLM(UserError):
    pass


@dataclass
class Linear:
    weight: np.ndarray  # [out, in], as torch.nn.Linear
    bias: np.ndarray | None


@dataclass
class Norm:
    weight: np.ndarray
    bias: np.ndarray
    eps: float


@dataclass
class EncoderLayer:
    query: Linear
    key: Linear
    value: Linear
    attention_output: Linear
    attention_norm: Norm
    intermediate: Linear
    output: Linear
    output_norm: Norm


@dataclass
class BertWeights:
    dims: BertDims
    word_embeddings: np.ndarray
    position_embeddings: np.ndarray
    token_type_embeddings: np.ndarray
    embeddings_norm: Norm
    layers: list[EncoderLayer] = field(default_factory=list)
    transform: Linear | None = None
    transform_norm: Norm | None = None
    decoder: Linear | None = None


class _Graph:
    def __init__(self, model):
        from onnx import numpy_helper

        self.graph = model.graph
        self.nodes = list(model.graph.node)
        self.position = {id(n): i for i, n in enumerate(self.nodes)}
        self.constants = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
        for node in self.nodes:
            if node.op_type == "Constant":
                for attr in node.attribute:
                    if attr.name == "value":
                        self.constants[node.output[0]] = numpy_helper.to_array(attr.t)
        self.producer = {out: n for n in self.nodes for out in n.output}
        self.consumers: dict[str, list] = {}
        for n in self.nodes:
            for index, name in enumerate(n.input):
                self.consumers.setdefault(name, []).append((n, index))

    def constant(self, name: str) -> np.ndarray | None:
        """The constant behind `name`, following Identity/Cast/Transpose (applying them)."""
        if name in self.constants:
            return self.constants[name]
        node = self.producer.get(name)
        if node is None or node.op_type not in ("Identity", "Cast", "Transpose"):
            return None
        value = self.constant(node.input[0])
        if value is None:
            return None
        if node.op_type == "Transpose":
            perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
            value = np.transpose(value, perm)
        return value

    def traces_to(self, name: str, target: str) -> bool:
        """Does tensor `name` come from `target` through pass-through nodes only?"""
        while name != target:
            node = self.producer.get(name)
            if node is None or node.op_type not in _PASS_THROUGH:
                return False
            name = node.input[0]
        return True

    def attr(self, node, name, default):
        for a in node.attribute:
            if a.name == name:
                return a.f if a.type == a.FLOAT else a.i
        return default


def _linears(g: _Graph) -> list[tuple[object, str, str, Linear]]:
    """(node, activation input, output incl. bias, Linear) per MatMul/Gemm with a constant weight."""
    found = []
    for node in g.nodes:
        if node.op_type not in ("MatMul", "Gemm"):
            continue
        right = g.constant(node.input[1])
        if right is None or g.constant(node.input[0]) is not None:
            continue
        if node.op_type == "Gemm":
            if g.attr(node, "transA", 0):
                raise NotABertMLM(f"Gemm {node.name} with transA is not a linear layer")
            right = right.T if g.attr(node, "transB", 0) else right
            bias = g.constant(node.input[2]) if len(node.input) > 2 else None
            output = node.output[0]
        else:
            bias, output = None, node.output[0]
            for consumer, _ in g.consumers.get(node.output[0], []):
                if consumer.op_type == "Add":
                    other = [i for i in consumer.input if i != node.output[0]]
                    candidate = g.constant(other[0]) if other else None
                    if candidate is not None and candidate.shape == (right.shape[1],):
                        bias, output = candidate, consumer.output[0]
        linear = Linear(np.ascontiguousarray(right.T.astype(np.float32)),
                        None if bias is None else bias.astype(np.float32))
        found.append((node, node.input[0], output, linear))
    return found


def _attention_role(g: _Graph, start: str) -> tuple[str, object] | None:
    """Follow a projection forward to the first activation x activation MatMul: ('scores', index)
    if that product feeds a Softmax, ('context', index) if its other operand came from one."""
    frontier, seen = [start], set()
    while frontier:
        name = frontier.pop()
        if name in seen:
            continue
        seen.add(name)
        for node, index in g.consumers.get(name, []):
            if node.op_type == "MatMul" and g.constant(node.input[1 - index]) is None:
                return ("scores" if _reaches(g, node.output[0], "Softmax") else "context", index)
            if node.op_type in _ATTENTION_PATH:
                frontier.extend(node.output)
    return None


def _reaches(g: _Graph, name: str, op_type: str, budget: int = 12) -> bool:
    for node, _ in g.consumers.get(name, []):
        if node.op_type == op_type:
            return True
        if budget and node.op_type in _ATTENTION_PATH | {"Where", "Softmax"}:
            if _reaches(g, node.output[0], op_type, budget - 1):
                return True
    return False


def load_weights(path: str | Path, num_heads: int | None = None) -> BertWeights:
    """Every parameter of the BERT MLM in `path`, with its dimensions. `num_heads` overrides the
    count stored by model2onnx.py (heads cannot be read off the weights alone)."""
    import onnx

    path = Path(path)
    if not path.exists():
        raise UserError(f"{path} not found: run `python model2onnx.py` first")
    try:
        model = onnx.load(str(path))
    except Exception as err:  # protobuf gives long messages; keep the line short
        raise NotABertMLM(f"{path} is not a readable ONNX file ({type(err).__name__}): re-export with model2onnx.py")
    g = _Graph(model)
    inputs = [i.name for i in model.graph.input]
    if not set(INPUT_NAMES[:2]) <= set(inputs):
        raise NotABertMLM(f"{path} has inputs {inputs}, expected {list(INPUT_NAMES)}: export it with model2onnx.py")

    # Embeddings ------------------------------------------------------------------------------
    tables = {}
    for node in g.nodes:
        if node.op_type == "Gather":
            table = g.constant(node.input[0])
            if table is None or table.ndim != 2:
                continue
            role = next((n for n in INPUT_NAMES[:2] if g.traces_to(node.input[1], n)), "position")
            tables.setdefault(role, table)
    if set(tables) != {"input_ids", "token_type_ids", "position"}:
        raise NotABertMLM(f"{path}: expected word, position and token-type embedding gathers, found {sorted(tables)}")
    word = tables["input_ids"].astype(np.float32)
    hidden = word.shape[1]

    norms = [Norm(g.constant(n.input[1]).astype(np.float32), g.constant(n.input[2]).astype(np.float32),
                  float(g.attr(n, "epsilon", 1e-5)))
             for n in g.nodes if n.op_type == "LayerNormalization"]
    norm_nodes = [n for n in g.nodes if n.op_type == "LayerNormalization"]
    if len(norms) < 4 or len(norms) % 2:
        raise NotABertMLM(f"{path}: found {len(norms)} LayerNormalization nodes, expected 2 per layer + 2 "
                          "(export with opset >= 17 so LayerNorm stays one node: model2onnx.py does)")
    num_layers = (len(norms) - 2) // 2

    # Linear layers, assigned to the stretch of graph between two LayerNorms -----------------
    linears = _linears(g)
    if len(linears) != 6 * num_layers + 2:
        raise NotABertMLM(f"{path}: found {len(linears)} linear layers, expected {6 * num_layers + 2} "
                          f"for {num_layers} layers")
    layers = []
    for i in range(num_layers):
        layer_input = norm_nodes[2 * i].output[0]
        attention_norm, output_norm = norm_nodes[2 * i + 1], norm_nodes[2 * i + 2]
        before_attention_norm = [lin for lin in linears
                                 if g.position[id(norm_nodes[2 * i])] < g.position[id(lin[0])]
                                 < g.position[id(attention_norm)]]
        projections = {}
        others = []
        for node, act_input, out, linear in before_attention_norm:
            role = _attention_role(g, out) if g.traces_to(act_input, layer_input) else None
            name = {("scores", 0): "query", ("scores", 1): "key", ("context", 1): "value"}.get(role)
            if name and name not in projections:
                projections[name] = linear
            else:
                others.append(linear)
        ffn = [lin[3] for lin in linears if g.position[id(attention_norm)] < g.position[id(lin[0])]
               < g.position[id(output_norm)]]
        if len(projections) != 3 or len(others) != 1 or len(ffn) != 2:
            raise NotABertMLM(f"{path}: layer {i} does not look like BERT self-attention + FFN "
                              f"(q/k/v found: {sorted(projections)}, other linears: {len(others)}, ffn: {len(ffn)})")
        layers.append(EncoderLayer(projections["query"], projections["key"], projections["value"], others[0],
                                   norms[2 * i + 1], ffn[0], ffn[1], norms[2 * i + 2]))
    transform, decoder = linears[-2][3], linears[-1][3]
    intermediate = layers[0].intermediate.weight.shape[0]

    dims = BertDims(
        vocab_size=word.shape[0], hidden_size=hidden, num_layers=num_layers,
        num_heads=num_heads or _stored_heads(model, path), intermediate_size=intermediate,
        max_position=tables["position"].shape[0], type_vocab_size=tables["token_type_ids"].shape[0],
        layer_norm_eps=norms[0].eps)
    if hidden % dims.num_heads:
        raise NotABertMLM(f"{path}: hidden size {hidden} is not divisible by {dims.num_heads} heads")
    if decoder.weight.shape != word.shape:
        raise NotABertMLM(f"{path}: decoder weight {decoder.weight.shape} does not match the vocabulary {word.shape}")
    return BertWeights(dims, word, tables["position"].astype(np.float32),
                       tables["token_type_ids"].astype(np.float32), norms[0], layers,
                       transform, norms[-1], decoder)


def stored_dims(model) -> BertDims | None:
    """The dimensions model2onnx.py recorded in an ONNX model's metadata, or None."""
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            return BertDims.from_json(prop.value)
    return None


def _stored_heads(model, path) -> int:
    dims = stored_dims(model)
    if dims is not None:
        return dims.num_heads
    raise NotABertMLM(f"{path} does not record the number of attention heads (it was not made by "
                      "model2onnx.py): pass --num-heads")
