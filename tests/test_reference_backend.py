"""The reference backend enforces TensorRT's network rules and computes what TensorRT would."""
import numpy as np
import pytest

from bertrt.engine_config import ProfileShapes, configure
from bertrt.refnet.builder import RefBuilder, ShapeOutOfProfile
from bertrt.refnet.network import RefNetworkError
from trt_helper import NetworkHelper, trt


def new_network():
    builder = RefBuilder(trt)
    return builder, builder.create_network(0)


def run(builder, network, feed, mode="fp32", shapes=None):
    shapes = shapes or {name: (value.shape, value.shape, value.shape) for name, value in feed.items()}
    config = builder.create_builder_config()
    for flag in {"fp32": [], "fp16": ["FP16"]}[mode]:
        config.set_flag(getattr(trt.BuilderFlag, flag))
    profile = builder.create_optimization_profile()
    for name, (lo, opt, hi) in shapes.items():
        profile.set_shape(name, lo, opt, hi)
    config.add_optimization_profile(profile)
    return builder.build_serialized_network(network, config).execute(feed)


def test_elementwise_needs_equal_ranks_and_broadcasts_size_one_dims():
    builder, net = new_network()
    x = net.add_input("x", trt.DataType.FLOAT, (-1, 3, 4))
    bias = np.arange(4, dtype=np.float32)
    with pytest.raises(RefNetworkError, match="ranks differ"):
        net.add_elementwise(x, net.add_constant((4,), trt.Weights(bias)).get_output(0), trt.ElementWiseOperation.SUM)
    good = net.add_elementwise(x, net.add_constant((1, 1, 4), trt.Weights(bias)).get_output(0),
                               trt.ElementWiseOperation.SUM)
    net.mark_output(good.get_output(0))
    data = np.random.rand(2, 3, 4).astype(np.float32)
    out = run(builder, net, {"x": data})
    np.testing.assert_allclose(out[good.get_output(0).name], data + bias)


def test_elementwise_broadcast_infers_a_dim_known_on_one_side():
    _, net = new_network()
    unknown = net.add_input("u", trt.DataType.FLOAT, (-1, 8))
    known = net.add_input("k", trt.DataType.FLOAT, (4, 8))
    one = net.add_input("o", trt.DataType.FLOAT, (1, 8))
    unknown_too = net.add_input("v", trt.DataType.FLOAT, (-1, 8))

    def shape(a, b):
        return tuple(net.add_elementwise(a, b, trt.ElementWiseOperation.SUM).get_output(0).shape)

    assert shape(unknown, known) == shape(known, unknown) == (4, 8)  # u's first dim: 1 or 4, the sum has 4
    assert shape(unknown, one) == (-1, 8)
    assert shape(unknown, unknown_too) == (-1, 8)


def test_elementwise_rejects_incompatible_types_but_mixes_float_and_half():
    builder, net = new_network()
    ints = net.add_input("i", trt.DataType.INT32, (2,))
    floats = net.add_input("f", trt.DataType.FLOAT, (2,))
    halves = net.add_input("h", trt.DataType.HALF, (2,))
    with pytest.raises(RefNetworkError, match="not compatible"):
        net.add_elementwise(ints, floats, trt.ElementWiseOperation.SUM)
    assert net.add_elementwise(halves, floats, trt.ElementWiseOperation.SUM).get_output(0).dtype.name == "FLOAT"


def test_shuffle_zero_copies_a_dim_and_minus_one_is_inferred():
    builder, net = new_network()
    x = net.add_input("x", trt.DataType.FLOAT, (-1, -1, 8))
    helper = NetworkHelper(net)
    heads = helper.split_heads("heads", x, num_heads=2, head_size=4)
    assert heads.shape == (-1, 2, -1, 4)
    merged = helper.merge_heads("merged", heads, hidden_size=8)
    net.mark_output(heads)
    net.mark_output(merged)
    data = np.random.rand(3, 5, 8).astype(np.float32)
    out = run(builder, net, {"x": data})
    np.testing.assert_array_equal(out["heads"], data.reshape(3, 5, 2, 4).transpose(0, 2, 1, 3))
    np.testing.assert_array_equal(out["merged"], data)
    with pytest.raises(RefNetworkError, match="more than one -1"):
        net.add_shuffle(x).reshape_dims = (-1, -1)


def test_static_reshape_must_keep_the_volume():
    _, net = new_network()
    x = net.add_input("x", trt.DataType.FLOAT, (2, 6))
    with pytest.raises(RefNetworkError, match="changes the volume|cannot reshape"):
        net.add_shuffle(x).reshape_dims = (5, -1)


def test_axes_are_bitmasks():
    builder, net = new_network()
    x = net.add_input("x", trt.DataType.FLOAT, (2, 3, 4))
    softmax = net.add_softmax(x)
    with pytest.raises(RefNetworkError, match="exactly one axis"):
        softmax.axes = 0b110
    with pytest.raises(RefNetworkError, match="does not fit"):
        softmax.axes = 1 << 3
    softmax.axes = 1 << 1
    reduce = net.add_reduce(x, trt.ReduceOperation.SUM, 0b101, False)
    net.mark_output(softmax.get_output(0))
    net.mark_output(reduce.get_output(0))
    data = np.random.rand(2, 3, 4).astype(np.float32)
    out = run(builder, net, {"x": data})
    e = np.exp(data - data.max(1, keepdims=True))
    np.testing.assert_allclose(out[softmax.get_output(0).name], e / e.sum(1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(out[reduce.get_output(0).name], data.sum(axis=(0, 2)), rtol=1e-6)


def test_constant_weight_count_must_match_its_shape():
    _, net = new_network()
    with pytest.raises(RefNetworkError, match="given 5 weights"):
        net.add_constant((2, 3), trt.Weights(np.zeros(5, dtype=np.float32)))


def test_matrix_multiply_ranks_and_inner_dims():
    _, net = new_network()
    a = net.add_input("a", trt.DataType.FLOAT, (-1, 4, 8))
    w2 = net.add_constant((8, 3), trt.Weights(np.zeros(24, np.float32))).get_output(0)
    with pytest.raises(RefNetworkError, match="ranks must be equal"):
        net.add_matrix_multiply(a, trt.MatrixOperation.NONE, w2, trt.MatrixOperation.NONE)
    w3 = net.add_constant((1, 3, 8), trt.Weights(np.zeros(24, np.float32))).get_output(0)
    with pytest.raises(RefNetworkError, match="inner dimensions"):
        net.add_matrix_multiply(a, trt.MatrixOperation.NONE, w3, trt.MatrixOperation.NONE)
    ok = net.add_matrix_multiply(a, trt.MatrixOperation.NONE, w3, trt.MatrixOperation.TRANSPOSE)
    assert ok.get_output(0).shape == (-1, 4, 3)


def test_gather_needs_integer_indices():
    _, net = new_network()
    table = net.add_constant((4, 2), trt.Weights(np.zeros(8, np.float32))).get_output(0)
    floats = net.add_input("f", trt.DataType.FLOAT, (3,))
    with pytest.raises(RefNetworkError, match="INT32 or INT64"):
        net.add_gather(table, floats, 0)


def test_dynamic_slice_and_out_of_order_layers():
    """The slice is added before the layers computing its size: execution must still work."""
    builder, net = new_network()
    ids = net.add_input("ids", trt.DataType.INT32, (-1, -1))
    helper = NetworkHelper(net)
    table = np.random.rand(10, 3).astype(np.float32)
    rows = helper.leading_rows("rows", helper.constant("table", table), like=ids, axis=1)
    net.mark_output(rows)
    ids_value = np.zeros((2, 7), np.int32)
    out = run(builder, net, {"ids": ids_value}, shapes={"ids": ((1, 1), (2, 7), (4, 10))})
    np.testing.assert_array_equal(out["rows"], table[:7])


def test_shapes_outside_the_profile_are_refused():
    builder, net = new_network()
    x = net.add_input("x", trt.DataType.FLOAT, (-1, 4))
    net.mark_output(net.add_identity(x).get_output(0))
    with pytest.raises(ShapeOutOfProfile, match="outside the engine's profile"):
        run(builder, net, {"x": np.zeros((9, 4), np.float32)}, shapes={"x": ((1, 4), (2, 4), (8, 4))})


def test_fp16_flag_rounds_layer_outputs_unless_pinned_to_fp32():
    builder, net = new_network()
    x = net.add_input("x", trt.DataType.FLOAT, (4,))
    one = net.add_constant((1,), trt.Weights(np.ones(1, np.float32))).get_output(0)
    free = net.add_elementwise(x, one, trt.ElementWiseOperation.PROD)
    pinned = net.add_elementwise(x, one, trt.ElementWiseOperation.PROD)
    pinned.precision = trt.DataType.FLOAT
    net.mark_output(free.get_output(0))
    net.mark_output(pinned.get_output(0))
    data = np.array([1.0001, 3.14159265, 1e-3, 2049.0], np.float32)  # none exact in fp16
    config_builder = builder
    config = config_builder.create_builder_config()
    config.set_flag(trt.BuilderFlag.FP16)
    config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    profile = builder.create_optimization_profile()
    profile.set_shape("x", (4,), (4,), (4,))
    config.add_optimization_profile(profile)
    out = builder.build_serialized_network(net, config).execute({"x": data})
    np.testing.assert_array_equal(out[free.get_output(0).name], data.astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(out[pinned.get_output(0).name], data)


def test_builder_config_shared_with_tensorrt_sets_flags_and_profile():
    builder, net = new_network()
    net.add_input("input_ids", trt.DataType.INT32, (-1, -1))
    config = configure(builder, net, trt, "fp16", ProfileShapes(1, 2, 4, 1, 16, 32))
    assert config.get_flag(trt.BuilderFlag.FP16) and config.get_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
    assert not config.get_flag(trt.BuilderFlag.INT8)
    assert config._profiles[0].get_shape("input_ids") == [(1, 1), (2, 16), (4, 32)]
