// BertSkipLayerNorm: TensorRT glue for bertSkipLayerNorm (skip_layernorm_kernel.h).
//   inputs:  input [..., H] FLOAT|HALF|INT8, skip (same shape and type), gamma [H], beta [H],
//            optional bias [H] (all three of the input's type, as in layernorm_plugin.cpp; FLOAT
//            when the input is INT8)
//   output:  LayerNorm(input + skip + bias), shape and type of `input`
//   fields:  epsilon (FLOAT32), hidden_size (INT32)
// INT8 I/O (bertSkipLayerNormInt8): input, skip and output all INT8, each with the per-tensor
// scale TensorRT hands enqueue in PluginTensorDesc::scale (from calibration or dynamic ranges).
// TensorRT picks INT8 here only where the builder's INT8 flag is on, the tensors have scales and
// the layer's precision allows it (builder.py pins this plugin to INT8 or HALF: bertrt/precision.py).
// The residual add is fused into the norm: one read of each operand instead of an add layer
// writing a sum that the norm then reads back. Gamma, beta and bias are network inputs for the
// reasons given in layernorm_plugin.cpp (refittable, inspectable, one copy, stateless plugin).
#include "common/plugin_base.h"
#include "common/layernorm_tactics.h"
#include "common/plugin_creators.h"
#include "skip_layernorm/skip_layernorm_kernel.h"

namespace bert
{
namespace
{
using nvinfer1::Dims;

class SkipLayerNormPlugin : public OutputLikeFirstInput<SkipLayerNormPlugin, NormParams>
{
public:
    static constexpr char const* kName = "BertSkipLayerNorm";
    enum Input
    {
        kInput,
        kSkip,
        kGamma,
        kBeta,
        kBias
    };

    static constexpr int32_t kLastTactic = kLayerNormLastTactic;

    using OutputLikeFirstInput::OutputLikeFirstInput;

    // FLOAT and HALF: the LayerNorm versions. INT8 I/O: no tactics (its default version runs).
    std::vector<int32_t> tacticsFor(nvinfer1::DynamicPluginTensorDesc const* in, int32_t /*nbInputs*/,
        nvinfer1::DynamicPluginTensorDesc const* /*out*/, int32_t /*nbOutputs*/) const
    {
        return layerNormTactics(mParams.hiddenSize, in[kInput].desc.type);
    }

    bool int8Supported() const
    {
        return bertSkipLayerNormInt8Supported(mParams.hiddenSize) != 0;
    }

    std::vector<IoKind> ioKinds(int32_t nbInputs) const
    {
        if (nbInputs == 4)
        {
            return {IoKind::kQuantizable, IoKind::kQuantizable, IoKind::kParams, IoKind::kParams,
                /*output*/ IoKind::kQuantizable};
        }
        if (nbInputs == 5)
        {
            return {IoKind::kQuantizable, IoKind::kQuantizable, IoKind::kParams, IoKind::kParams, IoKind::kParams,
                /*output*/ IoKind::kQuantizable};
        }
        return {};
    }

    std::string checkInputDims(Dims const* in, int32_t nbInputs) const
    {
        int64_t const hidden = mParams.hiddenSize;
        if (std::string problem = checkRowsOf(in[kInput], hidden, "hidden_size"); !problem.empty())
        {
            return problem;
        }
        if (!sameShape(in[kSkip], in[kInput]))
        {
            return "skip " + toString(in[kSkip]) + " must have the shape of input " + toString(in[kInput]);
        }
        for (int32_t i = kGamma; i < nbInputs; ++i)
        {
            if (!isVectorOf(in[i], hidden))
            {
                char const* names[] = {"", "", "gamma", "beta", "bias"};
                return std::string(names[i]) + " " + toString(in[i]) + " must be [" + std::to_string(hidden) + "]";
            }
        }
        return {};
    }

    int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const* outputDesc,
        void const* const* inputs, void* const* outputs, void* /*workspace*/, cudaStream_t stream) noexcept override
    {
        int64_t const rows = rowsOf(inputDesc[kInput].dims);
        if (rows == 0)
        {
            return 0; // an empty tensor: nothing to launch
        }
        // 4 inputs: no bias. enqueue() is not told the count; onShapeChange() was (see PluginBase).
        if (configuredInputs() == 0)
        {
            logError(kName, "enqueue() before onShapeChange()");
            return -1;
        }
        void const* bias = configuredInputs() == 5 ? inputs[kBias] : nullptr;
        if (inputDesc[kInput].type == nvinfer1::DataType::kINT8)
        {
            // The kernel refuses a scale that is not finite and > 0 (cudaErrorInvalidValue).
            return checkCuda(bertSkipLayerNormInt8(static_cast<int8_t const*>(inputs[kInput]),
                                 inputDesc[kInput].scale, static_cast<int8_t const*>(inputs[kSkip]),
                                 inputDesc[kSkip].scale, static_cast<float const*>(bias),
                                 static_cast<float const*>(inputs[kGamma]), static_cast<float const*>(inputs[kBeta]),
                                 static_cast<int8_t*>(outputs[0]), outputDesc[0].scale, rows, mParams.hiddenSize,
                                 mParams.epsilon, stream),
                kName, "bertSkipLayerNormInt8");
        }
        return checkCuda(launchTactic([&](int version) {
            return bertSkipLayerNormVersion(version, inputs[kInput], inputs[kSkip], bias, inputs[kGamma],
                inputs[kBeta], outputs[0], rows, mParams.hiddenSize, mParams.epsilon,
                toBertDType(inputDesc[kInput].type), stream);
        }),
            kName, "bertSkipLayerNormVersion");
    }
};
} // namespace

nvinfer1::IPluginCreatorV3One* skipLayerNormCreator()
{
    static PluginCreator<SkipLayerNormPlugin> creator;
    return &creator;
}

} // namespace bert
