// BertBiasGelu: TensorRT glue for bertBiasGelu (bias_gelu_kernel.h).
//   inputs:  input [..., N] FLOAT|HALF (the FFN up-projection without its bias), bias [N] FLOAT
//   output:  gelu(input + bias), shape and type of `input`
//   fields:  size (INT32) = N, the intermediate size
// The bias is a network input (a constant) for the reasons given in layernorm_plugin.cpp.
#include "bias_gelu/bias_gelu_kernel.h"
#include "common/plugin_base.h"
#include "common/plugin_creators.h"

namespace bert
{
namespace
{
using nvinfer1::Dims;

struct BiasGeluParams
{
    int32_t size{0};

    std::vector<FieldRef> fields()
    {
        return {field("size", size)};
    }
    std::string problem() const
    {
        return size > 0 ? std::string() : "size must be positive, got " + std::to_string(size);
    }
};

class BiasGeluPlugin : public OutputLikeFirstInput<BiasGeluPlugin, BiasGeluParams>
{
public:
    static constexpr char const* kName = "BertBiasGelu";
    enum Input
    {
        kInput,
        kBias,
        kNbInputs
    };

    static constexpr int32_t kLastTactic = BERT_BIAS_GELU_LAST_VERSION;

    using OutputLikeFirstInput::OutputLikeFirstInput;

    // The kernel versions that take rows of `size` values of the input's type (plugin_base.h,
    // "Tactics"): where the builder's GPU disagrees with the default's measurements, it keeps the
    // faster one.
    std::vector<int32_t> tacticsFor(nvinfer1::DynamicPluginTensorDesc const* in, int32_t /*nbInputs*/,
        nvinfer1::DynamicPluginTensorDesc const* /*out*/, int32_t /*nbOutputs*/) const
    {
        return versionsTaken(in[kInput].desc.type, kLastTactic, [this](int32_t version, BertDType dtype) {
            return bertBiasGeluVersionTakes(version, mParams.size, dtype);
        });
    }

    std::vector<IoKind> ioKinds(int32_t nbInputs) const
    {
        if (nbInputs != kNbInputs)
        {
            return {};
        }
        return {IoKind::kActivation, IoKind::kFloat, /*output*/ IoKind::kActivation};
    }

    std::string checkInputDims(Dims const* in, int32_t /*nbInputs*/) const
    {
        if (std::string problem = checkRowsOf(in[kInput], mParams.size, "size"); !problem.empty())
        {
            return problem;
        }
        if (!isVectorOf(in[kBias], mParams.size))
        {
            return "bias " + toString(in[kBias]) + " must be [" + std::to_string(mParams.size) + "]";
        }
        return {};
    }

    int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const* /*outputDesc*/,
        void const* const* inputs, void* const* outputs, void* /*workspace*/, cudaStream_t stream) noexcept override
    {
        int64_t const rows = rowsOf(inputDesc[kInput].dims);
        if (rows == 0)
        {
            return 0; // an empty tensor: nothing to launch
        }
        return checkCuda(launchTactic([&](int version) {
            return bertBiasGeluVersion(version, inputs[kInput], static_cast<float const*>(inputs[kBias]), outputs[0],
                rows, mParams.size, toBertDType(inputDesc[kInput].type), stream);
        }),
            kName, "bertBiasGeluVersion");
    }
};
} // namespace

nvinfer1::IPluginCreatorV3One* biasGeluCreator()
{
    static PluginCreator<BiasGeluPlugin> creator;
    return &creator;
}

} // namespace bert
