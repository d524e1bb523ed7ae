// The tactics of the LayerNorm-family plugins (LayerNorm, SkipLayerNorm, EmbLayerNorm): their
// kernel versions, offered to TensorRT's builder through PluginBase (plugin_base.h, "Tactics").
#pragma once

#include "common/plugin_base.h"
#include "layernorm/layernorm_kernel.h"

#include <vector>

namespace bert
{

// The highest tactic: every version number bertLayerNormVersion knows.
constexpr int32_t kLayerNormLastTactic = BERT_LAYERNORM_LAST_VERSION;

// The versions that take rows of `hidden` values of `type` at every row count, version 1 only where
// no other does (versionsTaken) (FLOAT or HALF; none for any other type, e.g. SkipLayerNorm's INT8
// I/O, whose kernels are others).
inline std::vector<int32_t> layerNormTactics(int32_t hidden, nvinfer1::DataType type)
{
    return versionsTaken(type, kLayerNormLastTactic,
        [hidden](int32_t version, BertDType dtype) { return bertLayerNormVersionTakes(version, hidden, dtype); });
}

} // namespace bert
