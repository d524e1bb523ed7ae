// BertEmbLayerNorm: TensorRT glue for bertEmbLayerNorm + bertMaskToSeqLens (emb_layernorm_kernel.h)
// and bertCuSeqlensToSeqLens (emb_layernorm_seqlens_kernel.h).
//   inputs:  input_ids, token_type_ids   INT32, [B, S] (padded) or [T] (packed)
//            attention_mask [B, S] (padded) or cu_seqlens [B + 1] (packed), INT32
//            word_embeddings [V, H], position_embeddings [P, H], token_type_embeddings [TV, H],
//            gamma [H], beta [H], all FLOAT
//   outputs: embeddings [B, S, H] (padded) or [T, H] (packed), HALF if output_fp16 else FLOAT
//            seq_lens [B] INT32: tokens per sequence, what BertQkvToContext needs to skip padding
//   fields:  epsilon, hidden_size, packed (0|1), output_fp16 (0|1)
// The tables are network inputs (constants), like LayerNorm's gamma/beta: see layernorm_plugin.cpp.
#include "common/plugin_base.h"
#include "common/layernorm_tactics.h"
#include "common/plugin_creators.h"
#include "emb_layernorm/emb_layernorm_kernel.h"
#include "emb_layernorm/emb_layernorm_seqlens_kernel.h"

namespace bert
{
namespace
{
using nvinfer1::DataType;
using nvinfer1::Dims;

struct EmbLayerNormParams
{
    NormParams norm;
    int32_t packed{0};
    int32_t outputFp16{0};

    std::vector<FieldRef> fields()
    {
        std::vector<FieldRef> list = norm.fields();
        list.push_back(field("packed", packed));
        list.push_back(field("output_fp16", outputFp16));
        return list;
    }
    std::string problem() const
    {
        if (packed != 0 && packed != 1)
        {
            return "packed must be 0 or 1, got " + std::to_string(packed);
        }
        if (outputFp16 != 0 && outputFp16 != 1)
        {
            return "output_fp16 must be 0 or 1, got " + std::to_string(outputFp16);
        }
        return norm.problem();
    }
};

class EmbLayerNormPlugin : public PluginBase<EmbLayerNormPlugin, EmbLayerNormParams>
{
public:
    static constexpr char const* kName = "BertEmbLayerNorm";
    enum Input
    {
        kIds,
        kTypes,
        kMaskOrCuSeqlens,
        kWordTable,
        kPosTable,
        kTypeTable,
        kGamma,
        kBeta,
        kNbInputs
    };
    enum Output
    {
        kEmbeddings,
        kSeqLens
    };

    static constexpr int32_t kLastTactic = kLayerNormLastTactic;

    using PluginBase::PluginBase;

    // The LayerNorm versions that write rows of the embeddings' type (the tables are FLOAT).
    std::vector<int32_t> tacticsFor(nvinfer1::DynamicPluginTensorDesc const* /*in*/, int32_t /*nbInputs*/,
        nvinfer1::DynamicPluginTensorDesc const* out, int32_t /*nbOutputs*/) const
    {
        return layerNormTactics(mParams.norm.hiddenSize, out[kEmbeddings].desc.type);
    }

    std::vector<IoKind> ioKinds(int32_t nbInputs) const
    {
        if (nbInputs != kNbInputs)
        {
            return {};
        }
        IoKind const embeddings = mParams.outputFp16 ? IoKind::kHalf : IoKind::kFloat;
        return {IoKind::kInt32, IoKind::kInt32, IoKind::kInt32, IoKind::kFloat, IoKind::kFloat, IoKind::kFloat,
            IoKind::kFloat, IoKind::kFloat, /*outputs*/ embeddings, IoKind::kInt32};
    }

    std::string checkInputDims(Dims const* in, int32_t /*nbInputs*/) const
    {
        int64_t const hidden = mParams.norm.hiddenSize;
        int32_t const idsRank = mParams.packed ? 1 : 2;
        if (in[kIds].nbDims != idsRank)
        {
            return std::string("input_ids ") + toString(in[kIds]) + " must be " + (mParams.packed ? "[T]" : "[B, S]");
        }
        if (!sameShape(in[kTypes], in[kIds]))
        {
            return "token_type_ids " + toString(in[kTypes]) + " must have the shape of input_ids " + toString(in[kIds]);
        }
        if (mParams.packed && (in[kMaskOrCuSeqlens].nbDims != 1 || in[kMaskOrCuSeqlens].d[0] == 0))
        {
            return "cu_seqlens " + toString(in[kMaskOrCuSeqlens]) + " must be [B + 1]";
        }
        if (mParams.packed && in[kIds].d[0] > 0 && in[kMaskOrCuSeqlens].d[0] == 1)
        {
            // Tokens that no sequence holds would leave their embeddings unwritten.
            return "input_ids " + toString(in[kIds]) + " has tokens but cu_seqlens " + toString(in[kMaskOrCuSeqlens])
                   + " holds no sequence";
        }
        if (!mParams.packed && !sameShape(in[kMaskOrCuSeqlens], in[kIds]))
        {
            return "attention_mask " + toString(in[kMaskOrCuSeqlens]) + " must have the shape of input_ids "
                   + toString(in[kIds]);
        }
        for (int32_t table : {kWordTable, kPosTable, kTypeTable})
        {
            if (in[table].nbDims != 2 || in[table].d[0] == 0 || !dimMatches(in[table].d[1], hidden))
            {
                return "embedding table " + toString(in[table]) + " (input " + std::to_string(table)
                       + ") must be [rows >= 1, " + std::to_string(hidden) + "]";
            }
        }
        if (std::string problem = checkGammaBeta(in[kGamma], in[kBeta], hidden); !problem.empty())
        {
            return problem;
        }
        if (!mParams.packed) // padded: token (b, s) has position s, which must have a row
        {
            int64_t const seqLen = in[kIds].d[1];
            int64_t const maxPositions = in[kPosTable].d[0];
            if (seqLen >= 0 && maxPositions >= 0 && seqLen > maxPositions)
            {
                return "sequence length " + std::to_string(seqLen) + " exceeds the " + std::to_string(maxPositions)
                       + " rows of position_embeddings";
            }
        }
        return {};
    }

    int32_t getNbOutputs() const noexcept override
    {
        return 2;
    }

    int32_t getOutputDataTypes(
        DataType* outputTypes, int32_t /*nbOutputs*/, DataType const*, int32_t /*nbInputs*/) const noexcept override
    {
        outputTypes[kEmbeddings] = mParams.outputFp16 ? DataType::kHALF : DataType::kFLOAT;
        outputTypes[kSeqLens] = DataType::kINT32;
        return 0;
    }

    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const*, int32_t,
        nvinfer1::DimsExprs* outputs, int32_t /*nbOutputs*/, nvinfer1::IExprBuilder& expr) noexcept override
    {
        // TensorRT asks for shapes before configurePlugin validates the inputs: the ranks used
        // here are checked first (a rank-8 ids tensor would write past DimsExprs::d).
        int32_t const rank = mParams.packed ? 1 : 2;
        if (nbInputs != kNbInputs || inputs[kIds].nbDims != rank || inputs[kMaskOrCuSeqlens].nbDims != rank)
        {
            return -1;
        }
        // embeddings: the ids' shape plus a hidden dimension.
        nvinfer1::DimsExprs const& ids = inputs[kIds];
        outputs[kEmbeddings] = ids;
        outputs[kEmbeddings].nbDims = ids.nbDims + 1;
        outputs[kEmbeddings].d[ids.nbDims] = expr.constant(mParams.norm.hiddenSize);
        // seq_lens: one per sequence. Padded: B = ids[0]; packed: B = len(cu_seqlens) - 1.
        outputs[kSeqLens].nbDims = 1;
        outputs[kSeqLens].d[0] = mParams.packed ? expr.operation(nvinfer1::DimensionOperation::kSUB,
                                                      *inputs[kMaskOrCuSeqlens].d[0], *expr.constant(1))
                                                : ids.d[0];
        return 0;
    }

    int32_t enqueue(nvinfer1::PluginTensorDesc const* inputDesc, nvinfer1::PluginTensorDesc const* outputDesc,
        void const* const* inputs, void* const* outputs, void* /*workspace*/, cudaStream_t stream) noexcept override
    {
        auto const* ids = static_cast<int32_t const*>(inputs[kIds]);
        auto const* types = static_cast<int32_t const*>(inputs[kTypes]);
        auto const* maskOrCuSeqlens = static_cast<int32_t const*>(inputs[kMaskOrCuSeqlens]);
        auto* seqLens = static_cast<int32_t*>(outputs[kSeqLens]);
        Dims const& idsDims = inputDesc[kIds].dims;
        // Padded: [B, S] ids, sequence b is row b. Packed: [T] ids, sequence b is ids[cu[b]:cu[b+1]].
        // In packed mode the kernel's seq_len must bound every sequence (it runs over batch * seq_len
        // (sequence, position) slots). The plugin sees shapes, not the device-side cu_seqlens, and
        // has no max_seqlen input: T bounds every sequence, at the cost of idle slots.
        auto const batch
            = static_cast<int32_t>(mParams.packed ? inputDesc[kMaskOrCuSeqlens].dims.d[0] - 1 : idsDims.d[0]);
        auto const seqLen = static_cast<int32_t>(mParams.packed ? idsDims.d[0] : idsDims.d[1]);
        int64_t const tokens = mParams.packed ? idsDims.d[0] : idsDims.d[0] * idsDims.d[1];

        if (tokens > 0 && batch > 0)
        {
            int32_t const status = checkCuda(launchTactic([&](int version) {
                return bertEmbLayerNormVersion(version, ids, types, mParams.packed ? maskOrCuSeqlens : nullptr,
                    batch, seqLen, static_cast<float const*>(inputs[kWordTable]),
                    static_cast<float const*>(inputs[kPosTable]), static_cast<float const*>(inputs[kTypeTable]),
                    static_cast<float const*>(inputs[kGamma]), static_cast<float const*>(inputs[kBeta]),
                    outputs[kEmbeddings], mParams.norm.hiddenSize,
                    static_cast<int32_t>(inputDesc[kWordTable].dims.d[0]),
                    static_cast<int32_t>(inputDesc[kPosTable].dims.d[0]),
                    static_cast<int32_t>(inputDesc[kTypeTable].dims.d[0]), mParams.norm.epsilon,
                    toBertDType(outputDesc[kEmbeddings].type), stream);
            }),
                kName, "bertEmbLayerNormVersion");
            if (status != 0)
            {
                return status;
            }
        }
        if (batch <= 0)
        {
            if (tokens > 0) // onShapeChange refuses this: a caller that skipped it
            {
                logError(kName, "tokens but no sequence (cu_seqlens [1])");
                return -1;
            }
            return 0; // no sequences: seq_lens is empty too
        }
        if (mParams.packed)
        {
            return checkCuda(
                bertCuSeqlensToSeqLens(maskOrCuSeqlens, batch, seqLens, stream), kName, "bertCuSeqlensToSeqLens");
        }
        return checkCuda(
            bertMaskToSeqLens(maskOrCuSeqlens, batch, seqLen, seqLens, stream), kName, "bertMaskToSeqLens");
    }
};
} // namespace

nvinfer1::IPluginCreatorV3One* embLayerNormCreator()
{
    static PluginCreator<EmbLayerNormPlugin> creator;
    return &creator;
}

} // namespace bert
