// The tactics of the LayerNorm-family plugins (LayerNorm, SkipLayerNorm, EmbLayerNorm): their
// kernel versions, offered to TensorRT's builder through PluginBase (plugin_base.h, "Tactics").
#pragma once

#include "common/plugin_utils.h"
#include "layernorm/layernorm_kernel.h"

#include <vector>

namespace bert
{

// The highest tactic: every version number bertLayerNormVersion knows.
constexpr int32_t kLayerNormLastTactic = BERT_LAYERNORM_LAST_VERSION;

// The versions that take rows of `hidden` values of `type` at every row count (FLOAT or HALF;
// none for any other type, e.g. SkipLayerNorm's INT8 I/O, whose kernels are others).
inline std::vector<int32_t> layerNormTactics(int32_t hidden, nvinfer1::DataType type)
{
    std::vector<int32_t> tactics;
    if (type != nvinfer1::DataType::kFLOAT && type != nvinfer1::DataType::kHALF)
    {
        return tactics;
    }
    for (int32_t version = 1; version <= kLayerNormLastTactic; ++version)
    {
        if (bertLayerNormVersionTakes(version, hidden, toBertDType(type)) != 0)
        {
            tactics.push_back(version);
        }
    }
    return tactics;
}

} // namespace bert
