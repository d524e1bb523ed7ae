// BertLayerNorm: TensorRT glue for bertLayerNorm (layernorm_kernel.h).
//   inputs:  input [..., H] FLOAT|HALF, gamma [H], beta [H] (the input's type)
//   output:  [..., H], the input's type
//   fields:  epsilon (FLOAT32), hidden_size (INT32)
//
// Why gamma and beta are network inputs (constant layers) and not creation fields: the weights
// then stay in the network, where TensorRT can refit them, engine inspection shows them, and the
// engine holds one copy instead of one inside each serialized plugin. The plugin itself stays
// stateless: its fields are two numbers, and cloning or serializing it copies no weights.
#include "common/plugin_base.h"
#include "common/layernorm_tactics.h"
#include "common/plugin_creators.h"
#include "layernorm/layernorm_kernel.h"

namespace bert
{
namespace
{
using nvinfer1::Dims;

class LayerNormPlugin : public OutputLikeFirstInput<LayerNormPlugin, NormParams>
{
public:
    static constexpr char const* kName = "BertLayerNorm";
    enum Input
    {
        kInput,
        kGamma,
        kBeta,
        kNbInputs
    };

    static constexpr int32_t kLastTactic = kLayerNormLastTactic;

    using OutputLikeFirstInput::OutputLikeFirstInput;

    std::vector<int32_t> tacticsFor(nvinfer1::DynamicPluginTensorDesc const* in, int32_t /*nbInputs*/,
        nvinfer1::DynamicPluginTensorDesc const* /*out*/, int32_t /*nbOutputs*/) const
    {
        return layerNormTactics(mParams.hiddenSize, in[kInput].desc.type);
    }

    std::vector<IoKind> ioKinds(int32_t nbInputs) const
    {
        if (nbInputs != kNbInputs)
        {
            return {};
        }
        return {IoKind::kActivation, IoKind::kParams, IoKind::kParams, /*output*/ IoKind::kActivation};
    }

    std::string checkInputDims(Dims const* in, int32_t /*nbInputs*/) const
    {
        std::string const problem = checkRowsOf(in[kInput], mParams.hiddenSize, "hidden_size");
        return problem.empty() ? checkGammaBeta(in[kGamma], in[kBeta], mParams.hiddenSize) : problem;
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
            return bertLayerNormVersion(version, inputs[kInput], outputs[0], inputs[kGamma], inputs[kBeta], rows,
                mParams.hiddenSize, mParams.epsilon, toBertDType(inputDesc[kInput].type), stream);
        }),
            kName, "bertLayerNormVersion");
    }
};
} // namespace

nvinfer1::IPluginCreatorV3One* layerNormCreator()
{
    static PluginCreator<LayerNormPlugin> creator;
    return &creator;
}

} // namespace bert
