// BertQkvToContext: TensorRT glue for bertQkvToContext (attention_kernel.h).
//   padded (packed=0): qkv [B, S, 3H], seq_lens [B] INT32          -> context [B, S, H]
//   packed (packed=1): qkv [T, 3H], cu_seqlens [B + 1] INT32,
//                      max_seqlen [S_max] INT32 (only its SHAPE is read) -> context [T, H]
//   qkv and context: FLOAT or HALF (the same); H = num_heads * head_size
//   fields:  num_heads, head_size (INT32), scale (FLOAT32), packed (INT32 0|1)
// Why a dummy max_seqlen input: enqueue() sees shapes on the host but tensor values only on the
// device. The kernel needs the longest sequence to size its launch, and the longest sequence is
// known where the batch is assembled, so it travels as the shape of an otherwise unused input.
#include "attention/attention_kernel.h"
#include "common/plugin_base.h"
#include "common/plugin_creators.h"

#include <cmath>
#include <limits>

namespace bert
{
namespace
{
using nvinfer1::DataType;
using nvinfer1::Dims;

struct QkvToContextParams
{
    int32_t numHeads{0};
    int32_t headSize{0};
    float scale{0.F};
    int32_t packed{0};

    std::vector<FieldRef> fields()
    {
        return {
            field("num_heads", numHeads), field("head_size", headSize), field("scale", scale), field("packed", packed)};
    }
    std::string problem() const
    {
        if (numHeads <= 0 || headSize <= 0)
        {
            return "num_heads and head_size must be positive, got " + std::to_string(numHeads) + " and "
                   + std::to_string(headSize);
        }
        if (int64_t{numHeads} * headSize * 3 > std::numeric_limits<int32_t>::max())
        {
            return "num_heads * head_size is too large";
        }
        if (!(std::isfinite(scale) && scale > 0.F))
        {
            return "scale must be a positive finite number, got " + formatFloat(scale);
        }
        if (packed != 0 && packed != 1)
        {
            return "packed must be 0 or 1, got " + std::to_string(packed);
        }
        return {};
    }
    int32_t hidden() const
    {
        return numHeads * headSize;
    }
};

class QkvToContextPlugin : public PluginBase<QkvToContextPlugin, QkvToContextParams>
{
public:
    static constexpr char const* kName = "BertQkvToContext";
    enum Input
    {
        kQkv,
        kSeqLensOrCuSeqlens,
        kMaxSeqlen
    };

    static constexpr int32_t kLastTactic = BERT_QKV_TO_CONTEXT_LAST_VERSION;

    using PluginBase::PluginBase;

    // qkv [.., 3H] has the same shape for every split of H into heads; the timings do not.
    std::string timingCacheKey() const
    {
        return "-heads-" + std::to_string(mParams.numHeads) + "x" + std::to_string(mParams.headSize);
    }

    // The kernel versions that run this head size and type on the builder's GPU with this build
    // (Hopper's wgmma versions on Hopper only): the builder times them and keeps the fastest,
    // which matters most where none was measured here (Ampere's choice among the mma.sync ones).
    std::vector<int32_t> tacticsFor(nvinfer1::DynamicPluginTensorDesc const* in, int32_t /*nbInputs*/,
        nvinfer1::DynamicPluginTensorDesc const* /*out*/, int32_t /*nbOutputs*/) const
    {
        return versionsTaken(in[kQkv].desc.type, kLastTactic, [this](int32_t version, BertDType dtype) {
            return bertQkvToContextVersionSupported(version, mParams.headSize, dtype);
        });
    }

    std::vector<IoKind> ioKinds(int32_t nbInputs) const
    {
        if (!mParams.packed && nbInputs == 2)
        {
            return {IoKind::kActivation, IoKind::kInt32, /*output*/ IoKind::kActivation};
        }
        if (mParams.packed && nbInputs == 3)
        {
            return {IoKind::kActivation, IoKind::kInt32, IoKind::kInt32, /*output*/ IoKind::kActivation};
        }
        return {};
    }

    std::string checkInputDims(Dims const* in, int32_t /*nbInputs*/) const
    {
        int64_t const width = 3 * int64_t{mParams.hidden()};
        int32_t const qkvRank = mParams.packed ? 2 : 3;
        if (in[kQkv].nbDims != qkvRank || !dimMatches(lastDimOf(in[kQkv]), width))
        {
            return "qkv " + toString(in[kQkv]) + " must be " + (mParams.packed ? "[T, " : "[B, S, ")
                   + std::to_string(width) + "] (3 * num_heads * head_size)";
        }
        Dims const& lengths = in[kSeqLensOrCuSeqlens];
        if (mParams.packed)
        {
            if (lengths.nbDims != 1 || in[kMaxSeqlen].nbDims != 1 || lengths.d[0] == 0)
            {
                return "cu_seqlens " + toString(lengths) + " must be [B + 1] and max_seqlen " + toString(in[kMaxSeqlen])
                       + " [S_max]";
            }
            // Tokens that no sequence holds, or sequences of length 0 at most, would leave the
            // context unwritten: refused here rather than "succeeding" at enqueue.
            bool const hasTokens = in[kQkv].d[0] > 0;
            if (hasTokens && (lengths.d[0] == 1 || in[kMaxSeqlen].d[0] == 0))
            {
                return "qkv " + toString(in[kQkv]) + " has tokens but cu_seqlens " + toString(lengths)
                       + " holds no sequence or max_seqlen " + toString(in[kMaxSeqlen]) + " is 0";
            }
        }
        else if (lengths.nbDims != 1 || (lengths.d[0] >= 0 && !dimMatches(in[kQkv].d[0], lengths.d[0])))
        {
            return "seq_lens " + toString(lengths) + " must be [B], B = " + std::to_string(in[kQkv].d[0]);
        }
        return {};
    }

    int32_t getNbOutputs() const noexcept override
    {
        return 1;
    }

    int32_t getOutputDataTypes(DataType* outputTypes, int32_t /*nbOutputs*/, DataType const* inputTypes,
        int32_t /*nbInputs*/) const noexcept override
    {
        outputTypes[0] = inputTypes[kQkv];
        return 0;
    }

    // context: the qkv shape with the last dimension 3H -> H.
    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const*, int32_t,
        nvinfer1::DimsExprs* outputs, int32_t /*nbOutputs*/, nvinfer1::IExprBuilder& expr) noexcept override
    {
        try
        {
            if (ioKinds(nbInputs).empty() || inputs[kQkv].nbDims < 1)
            {
                return -1;
            }
        }
        catch (std::exception const&)
        {
            return -1;
        }
        outputs[0] = inputs[kQkv];
        outputs[0].d[inputs[kQkv].nbDims - 1] = expr.constant(mParams.hidden());
        return 0;
    }

    int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const* /*outputDesc*/,
        void const* const* inputs, void* const* outputs, void* /*workspace*/, cudaStream_t stream) noexcept override
    {
        Dims const& qkv = inputDesc[kQkv].dims;
        auto const* lengths = static_cast<int32_t const*>(inputs[kSeqLensOrCuSeqlens]);
        // Padded: B sequences of S rows. Packed: B = len(cu_seqlens) - 1, S = the longest one.
        int64_t const batch = mParams.packed ? inputDesc[kSeqLensOrCuSeqlens].dims.d[0] - 1 : qkv.d[0];
        int64_t const seqLen = mParams.packed ? inputDesc[kMaxSeqlen].dims.d[0] : qkv.d[1];
        if (rowsOf(qkv) == 0)
        {
            return 0; // no tokens: nothing to launch
        }
        if (batch <= 0 || seqLen <= 0) // onShapeChange refuses these: a caller that skipped it
        {
            logError(kName, "tokens but no sequence (cu_seqlens [1] or max_seqlen [0])");
            return -1;
        }
        return checkCuda(launchTactic([&](int version) {
            return bertQkvToContextVersion(version, inputs[kQkv], outputs[0], mParams.packed ? nullptr : lengths,
                mParams.packed ? lengths : nullptr, static_cast<int32_t>(batch), static_cast<int32_t>(seqLen),
                mParams.numHeads, mParams.headSize, mParams.scale, toBertDType(inputDesc[kQkv].type), stream);
        }),
            kName, "bertQkvToContextVersion");
    }
};
} // namespace

nvinfer1::IPluginCreatorV3One* qkvToContextCreator()
{
    static PluginCreator<QkvToContextPlugin> creator;
    return &creator;
}

} // namespace bert
