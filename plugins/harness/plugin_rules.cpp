#include "plugin_rules.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace harness
{
using nvinfer1::DataType;
using nvinfer1::Dims;

Dims dims(std::vector<int64_t> const& values)
{
    Dims d{};
    d.nbDims = static_cast<int32_t>(values.size());
    for (size_t i = 0; i < values.size(); ++i)
    {
        d.d[i] = values[i];
    }
    return d;
}

bool contains(std::vector<int32_t> const& values, int32_t v)
{
    return std::find(values.begin(), values.end(), v) != values.end();
}

std::string listOf(std::vector<int32_t> const& values)
{
    std::string text;
    for (int32_t value : values)
    {
        text += (text.empty() ? "" : ",") + std::to_string(value);
    }
    return "{" + text + "}";
}

std::string toString(Dims const& d)
{
    std::string text = "[";
    for (int32_t i = 0; i < d.nbDims; ++i)
    {
        text += (i > 0 ? "," : "") + std::to_string(d.d[i]);
    }
    return text + "]";
}

bool sameDims(Dims const& a, Dims const& b)
{
    if (a.nbDims != b.nbDims)
    {
        return false;
    }
    for (int32_t i = 0; i < a.nbDims; ++i)
    {
        if (a.d[i] != b.d[i])
        {
            return false;
        }
    }
    return true;
}

int32_t FieldsFile::intField(std::string const& name) const
{
    for (FieldValue const& f : fields)
    {
        if (f.name == name)
        {
            return f.type == nvinfer1::PluginFieldType::kINT32 ? f.i : static_cast<int32_t>(f.f);
        }
    }
    throw std::runtime_error(path + ": no field " + name);
}

// Format (plugins/plugin_fields.py write_fields_file):
//   plugin <name> <version> <namespace>
//   field <name> float32|int32 <value>
FieldsFile readFieldsFile(std::string const& path)
{
    std::ifstream in(path);
    if (!in)
    {
        throw std::runtime_error("cannot read " + path);
    }
    FieldsFile file;
    file.path = path;
    std::string line;
    while (std::getline(in, line))
    {
        std::istringstream words(line);
        std::string tag;
        words >> tag;
        if (tag == "plugin")
        {
            words >> file.plugin >> file.version >> file.pluginNamespace;
        }
        else if (tag == "field")
        {
            FieldValue field;
            std::string kind, value;
            words >> field.name >> kind >> value;
            if (kind == "float32")
            {
                field.type = nvinfer1::PluginFieldType::kFLOAT32;
                field.f = std::stof(value);
            }
            else if (kind == "int32")
            {
                field.type = nvinfer1::PluginFieldType::kINT32;
                field.i = std::stoi(value);
            }
            else
            {
                throw std::runtime_error(path + ": unknown field kind '" + kind + "'");
            }
            file.fields.push_back(field);
        }
        else if (!tag.empty())
        {
            throw std::runtime_error(path + ": unexpected line '" + line + "'");
        }
    }
    if (file.plugin.empty())
    {
        throw std::runtime_error(path + ": no 'plugin' line");
    }
    return file;
}

namespace
{
std::vector<Dims> sameAsFirstInput(std::vector<Dims> const& inputs)
{
    return {inputs[0]};
}

int32_t valuesPer16Bytes(DataType type)
{
    return type == DataType::kHALF ? 8 : 4;
}

// Every plugin offers version 1, its plain reference kernel, only where no other version takes
// the call (plugin_base.h, versionsTaken: a builder timing a tiny shape could pin it otherwise).

// The LayerNorm family's kernel versions, offered as tactics (layernorm_kernel.h: 1 to 20) when
// they take rows of h values of the type: vectorized ones where the row is whole 16-byte vectors,
// up to 8192 values; else version 1 alone.
constexpr int32_t kLayerNormVersions = 20;
void offerLayerNormTactics(PluginRules& r, int64_t h)
{
    r.lastTactic = kLayerNormVersions;
    r.tacticsProblem = [h](DataType type, std::vector<int32_t> const& offered) {
        bool const vectors = h % valuesPer16Bytes(type) == 0 && h <= 8192;
        bool const ok = vectors ? !offered.empty() && !contains(offered, 1) : offered == std::vector<int32_t>{1};
        return ok ? std::string() : vectors ? "expected vectorized versions, not 1" : "expected {1}";
    };
}

// BertLayerNorm(input [..., H], gamma [H], beta [H]) -> [..., H]
PluginRules layerNormRules(int64_t h)
{
    PluginRules r;
    r.nbOutputs = 1;
    offerLayerNormTactics(r, h);
    r.inputCounts = {3};
    r.accepts = [](int32_t) {
        return std::vector<Accepts>{Accepts::kActivation, Accepts::kParams, Accepts::kParams, Accepts::kActivation};
    };
    r.outputTypes = [](DataType a) {
        return std::vector<DataType>{a};
    };
    r.outputDims = sameAsFirstInput;
    Dims const v = dims({h});
    r.shapeCases = {
        {"[B,S,H]", {dims({2, 5, h}), v, v}, true},
        {"[rows,H]", {dims({7, h}), v, v}, true},
        {"one token", {dims({1, 1, h}), v, v}, true},
        {"empty", {dims({0, h}), v, v}, true},
        {"gamma/beta as [1,H]", {dims({2, 5, h}), dims({1, h}), dims({1, h})}, true},
        {"wildcard [?,?,H]", {dims({-1, -1, h}), v, v}, true, true},
        {"input last dim != hidden_size", {dims({2, 5, h + 8}), v, v}, false},
        {"wildcard with wrong hidden", {dims({-1, -1, h + 8}), v, v}, false, true},
        {"gamma [H/2]", {dims({2, 5, h}), dims({h / 2}), v}, false},
        {"beta [2,H]", {dims({2, 5, h}), v, dims({2, h})}, false},
        {"rank-0 input", {dims({}), v, v}, false},
        {"2 inputs", {dims({2, 5, h}), v}, false},
    };
    r.badValues = {{"epsilon", 0.0}, {"epsilon", -1e-5}, {"epsilon", NAN}, {"epsilon", INFINITY}, {"hidden_size", 0},
        {"hidden_size", -768}};
    return r;
}

// BertSkipLayerNorm(input, skip, gamma, beta[, bias]) -> LN(input + skip + bias)
PluginRules skipLayerNormRules(int64_t h)
{
    PluginRules r;
    r.nbOutputs = 1;
    offerLayerNormTactics(r, h);
    r.inputCounts = {4, 5};
    // INT8 I/O: input, skip and output INT8 together, gamma/beta/bias then FLOAT; only at the
    // sizes bertSkipLayerNormInt8 takes (skip_layernorm_kernel.h: multiples of 8 up to 2048).
    Accepts const activation = h % 8 == 0 && h <= 2048 ? Accepts::kQuantizable : Accepts::kActivation;
    r.accepts = [activation](int32_t nbInputs) {
        std::vector<Accepts> a{activation, activation, Accepts::kParams, Accepts::kParams};
        if (nbInputs == 5)
        {
            a.push_back(Accepts::kParams); // bias
        }
        a.push_back(activation); // output
        return a;
    };
    r.outputTypes = [](DataType a) {
        return std::vector<DataType>{a};
    };
    r.outputDims = sameAsFirstInput;
    Dims const x = dims({2, 5, h});
    Dims const v = dims({h});
    r.shapeCases = {
        {"no bias", {x, x, v, v}, true},
        {"with bias", {x, x, v, v, v}, true},
        {"one token", {dims({1, 1, h}), dims({1, 1, h}), v, v, v}, true},
        {"empty", {dims({0, h}), dims({0, h}), v, v}, true},
        {"wildcard", {dims({-1, -1, h}), dims({-1, -1, h}), v, v, v}, true, true},
        {"skip shape != input shape", {x, dims({2, 4, h}), v, v}, false},
        {"input last dim != hidden_size", {dims({2, 5, h + 8}), dims({2, 5, h + 8}), v, v}, false},
        {"bias [H+8]", {x, x, v, v, dims({h + 8})}, false},
        {"gamma [2,H]", {x, x, dims({2, h}), v}, false},
        {"3 inputs", {x, x, v}, false},
        {"6 inputs", {x, x, v, v, v, v}, false},
    };
    r.badValues = {{"epsilon", 0.0}, {"epsilon", NAN}, {"hidden_size", 0}, {"hidden_size", -1}};
    return r;
}

// BertEmbLayerNorm(ids, token types, mask | cu_seqlens, word, pos, type tables, gamma, beta)
//   -> embeddings [B,S,H] | [T,H] (HALF if output_fp16), seq_lens [B] INT32
PluginRules embLayerNormRules(int64_t h, bool packed, bool fp16)
{
    PluginRules r;
    r.nbOutputs = 2;
    offerLayerNormTactics(r, h);
    r.inputCounts = {8};
    Accepts const embeddings = fp16 ? Accepts::kHalf : Accepts::kFloat;
    r.accepts = [embeddings](int32_t) {
        return std::vector<Accepts>{Accepts::kInt32, Accepts::kInt32, Accepts::kInt32, Accepts::kFloat, Accepts::kFloat,
            Accepts::kFloat, Accepts::kFloat, Accepts::kFloat, embeddings, Accepts::kInt32};
    };
    r.outputTypes = [fp16](DataType) {
        return std::vector<DataType>{fp16 ? DataType::kHALF : DataType::kFLOAT, DataType::kINT32};
    };
    r.outputDims = [h, packed](std::vector<Dims> const& in) {
        Dims const& ids = in[0];
        if (packed)
        {
            return std::vector<Dims>{dims({ids.d[0], h}), dims({in[2].d[0] - 1})};
        }
        return std::vector<Dims>{dims({ids.d[0], ids.d[1], h}), dims({ids.d[0]})};
    };
    int64_t const vocab = 30, positions = 16, typeVocab = 2;
    auto inputs = [&](Dims ids, Dims types, Dims lengths, int64_t tableWidth) {
        return std::vector<Dims>{ids, types, lengths, dims({vocab, tableWidth}), dims({positions, h}),
            dims({typeVocab, h}), dims({h}), dims({h})};
    };
    if (packed)
    {
        r.shapeCases = {
            {"[T] ids, 3 sequences", inputs(dims({9}), dims({9}), dims({4}), h), true},
            {"one token", inputs(dims({1}), dims({1}), dims({2}), h), true},
            {"empty", inputs(dims({0}), dims({0}), dims({1}), h), true},
            {"wildcard", inputs(dims({-1}), dims({-1}), dims({-1}), h), true, true},
            {"ids rank 2", inputs(dims({2, 5}), dims({2, 5}), dims({3}), h), false},
            {"token types != ids", inputs(dims({9}), dims({8}), dims({4}), h), false},
            {"cu_seqlens rank 2", inputs(dims({9}), dims({9}), dims({2, 2}), h), false},
            {"word table [V,H+8]", inputs(dims({9}), dims({9}), dims({4}), h + 8), false},
        };
    }
    else
    {
        r.shapeCases = {
            {"[B,S] ids", inputs(dims({2, 7}), dims({2, 7}), dims({2, 7}), h), true},
            {"one token", inputs(dims({1, 1}), dims({1, 1}), dims({1, 1}), h), true},
            {"S = position table rows", inputs(dims({1, 16}), dims({1, 16}), dims({1, 16}), h), true},
            {"empty batch", inputs(dims({0, 7}), dims({0, 7}), dims({0, 7}), h), true},
            {"wildcard", inputs(dims({-1, -1}), dims({-1, -1}), dims({-1, -1}), h), true, true},
            {"S > position table rows", inputs(dims({1, 17}), dims({1, 17}), dims({1, 17}), h), false},
            {"mask shape != ids", inputs(dims({2, 7}), dims({2, 7}), dims({2, 6}), h), false},
            {"ids rank 1", inputs(dims({7}), dims({7}), dims({7}), h), false},
            {"word table [V,H+8]", inputs(dims({2, 7}), dims({2, 7}), dims({2, 7}), h + 8), false},
        };
    }
    std::vector<Dims> sevenInputs = r.shapeCases[0].inputs;
    sevenInputs.pop_back();
    r.shapeCases.push_back({"7 inputs", sevenInputs, false});
    r.badValues = {{"epsilon", 0.0}, {"hidden_size", 0}, {"packed", 2}, {"packed", -1}, {"output_fp16", 2}};
    return r;
}

// The compute capability of the current GPU, 0 without one (CI runs the interface checks on CPUs).
int computeCapability()
{
    int count = 0, device = 0, major = 0, minor = 0;
    bool const known = cudaGetDeviceCount(&count) == cudaSuccess && count > 0 && cudaGetDevice(&device) == cudaSuccess
        && cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess
        && cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device) == cudaSuccess;
    return known ? major * 10 + minor : 0;
}

// QkvToContext's versions (attention_kernel.h: 1 to 8), offered as tactics where they run on this
// GPU with this build: fp16 2 and 3 at head sizes 32, 64 and 128 and 4 at 32 and 64 on compute
// capability 8.0 or newer, 5 and 6 at 64 on 9.0 where the library has sm_90a code; fp32 7 and 8 at
// 64 and 128 where a block may have 50 KB (64: every GPU the library is built for, so required) or
// 98 KB (128: allowed) of shared memory; 1 where none of these runs (always without a GPU).
constexpr int32_t kAttentionVersions = 8;
void offerAttentionTactics(PluginRules& r, int64_t heads, int64_t headSize)
{
    r.lastTactic = kAttentionVersions;
    r.timingCacheIdPart = "-heads-" + std::to_string(heads) + "x" + std::to_string(headSize);
    r.tacticsProblem = [headSize](DataType type, std::vector<int32_t> const& offered) {
        int const cc = computeCapability();
        bool const mma = headSize == 32 || headSize == 64 || headSize == 128;
        std::vector<int32_t> required, allowed;
        auto add = [](std::vector<int32_t>& to, std::initializer_list<int32_t> versions) {
            to.insert(to.end(), versions);
        };
        if (type == DataType::kHALF && cc >= 80 && mma)
        {
            add(required, {2, 3});
            add(allowed, {2, 3});
            if (headSize <= 64)
            {
                add(required, {4});
                add(allowed, {4});
            }
#if defined(BERT_HAVE_SM90A)
            if (headSize == 64 && cc == 90)
            {
                add(required, {5, 6});
                add(allowed, {5, 6});
            }
#endif
        }
        if (type == DataType::kFLOAT && cc > 0 && (headSize == 64 || headSize == 128))
        {
            add(allowed, {7, 8});
            if (headSize == 64)
            {
                add(required, {7, 8});
            }
        }
        if (offered == std::vector<int32_t>{1})
        {
            return required.empty() ? std::string() : "expected " + listOf(required) + " at least, not 1";
        }
        for (int32_t version : required)
        {
            if (!contains(offered, version))
            {
                return "version " + std::to_string(version) + " missing (compute capability " + std::to_string(cc)
                    + ", head size " + std::to_string(headSize) + ")";
            }
        }
        for (int32_t version : offered)
        {
            if (!contains(allowed, version))
            {
                return "version " + std::to_string(version) + " not expected here (allowed " + listOf(allowed) + ")";
            }
        }
        return offered.empty() ? "expected " + listOf(allowed) + " or {1}" : std::string();
    };
}

// BertQkvToContext(qkv [B,S,3H], seq_lens [B]) | (qkv [T,3H], cu_seqlens [B+1], max_seqlen [S])
PluginRules qkvToContextRules(int64_t heads, int64_t headSize, bool packed)
{
    int64_t const h = heads * headSize;
    PluginRules r;
    r.nbOutputs = 1;
    r.inputCounts = {packed ? 3 : 2};
    r.accepts = [packed](int32_t) {
        return packed
                   ? std::vector<Accepts>{Accepts::kActivation, Accepts::kInt32, Accepts::kInt32, Accepts::kActivation}
                   : std::vector<Accepts>{Accepts::kActivation, Accepts::kInt32, Accepts::kActivation};
    };
    r.outputTypes = [](DataType a) {
        return std::vector<DataType>{a};
    };
    r.outputDims = [h](std::vector<Dims> const& in) {
        Dims out = in[0];
        out.d[out.nbDims - 1] = h;
        return std::vector<Dims>{out};
    };
    if (packed)
    {
        r.shapeCases = {
            {"[T,3H], 3 sequences", {dims({9, 3 * h}), dims({4}), dims({5})}, true},
            {"one token", {dims({1, 3 * h}), dims({2}), dims({1})}, true},
            {"empty", {dims({0, 3 * h}), dims({1}), dims({0})}, true},
            {"wildcard", {dims({-1, 3 * h}), dims({-1}), dims({-1})}, true, true},
            {"qkv last dim != 3H", {dims({9, 3 * h + 3}), dims({4}), dims({5})}, false},
            {"qkv rank 3", {dims({1, 9, 3 * h}), dims({2}), dims({9})}, false},
            {"cu_seqlens rank 2", {dims({9, 3 * h}), dims({2, 2}), dims({5})}, false},
            {"no max_seqlen (2 inputs)", {dims({9, 3 * h}), dims({4})}, false},
        };
    }
    else
    {
        r.shapeCases = {
            {"[B,S,3H]", {dims({2, 5, 3 * h}), dims({2})}, true},
            {"one token", {dims({1, 1, 3 * h}), dims({1})}, true},
            {"empty", {dims({0, 5, 3 * h}), dims({0})}, true},
            {"wildcard", {dims({-1, -1, 3 * h}), dims({-1})}, true, true},
            {"qkv last dim != 3H", {dims({2, 5, 3 * h - 3}), dims({2})}, false},
            {"seq_lens [B+1]", {dims({2, 5, 3 * h}), dims({3})}, false},
            {"qkv rank 2", {dims({10, 3 * h}), dims({2})}, false},
            {"3 inputs", {dims({2, 5, 3 * h}), dims({2}), dims({5})}, false},
        };
    }
    r.badValues = {{"num_heads", 0}, {"head_size", -64}, {"scale", 0.0}, {"scale", NAN}, {"packed", 3}};
    offerAttentionTactics(r, heads, headSize);
    return r;
}

// BertBiasGelu(input [..., N], bias [N]) -> gelu(input + bias)
PluginRules biasGeluRules(int64_t n)
{
    PluginRules r;
    r.nbOutputs = 1;
    r.inputCounts = {2};
    r.accepts = [](int32_t) {
        return std::vector<Accepts>{Accepts::kActivation, Accepts::kFloat, Accepts::kActivation};
    };
    r.outputTypes = [](DataType a) {
        return std::vector<DataType>{a};
    };
    r.outputDims = sameAsFirstInput;
    r.shapeCases = {
        {"[B,S,N]", {dims({2, 5, n}), dims({n})}, true},
        {"one token", {dims({1, 1, n}), dims({n})}, true},
        {"empty", {dims({0, n}), dims({n})}, true},
        {"wildcard", {dims({-1, -1, n}), dims({n})}, true, true},
        {"input last dim != size", {dims({2, 5, n + 1}), dims({n})}, false},
        {"bias [N-1]", {dims({2, 5, n}), dims({n - 1})}, false},
        {"1 input", {dims({2, 5, n})}, false},
    };
    r.badValues = {{"size", 0}, {"size", -3072}};
    // BiasGelu's versions (bias_gelu_kernel.h: 1 to 9): where the row is whole 16-byte vectors 2, 3
    // and 6, and in fp16 the ShortGelu ones, 4, 5, 7 and 8; 9 where it is whole blocks of 128 such
    // vectors; else 1 (scalar). No GPU involved.
    r.lastTactic = 9;
    r.tacticsProblem = [n](DataType type, std::vector<int32_t> const& offered) {
        std::vector<int32_t> expected{1};
        if (n % valuesPer16Bytes(type) == 0)
        {
            expected = type == DataType::kHALF ? std::vector<int32_t>{2, 3, 4, 5, 6, 7, 8} : std::vector<int32_t>{2, 3, 6};
            if (n % (128 * valuesPer16Bytes(type)) == 0)
            {
                expected.push_back(9);
            }
        }
        return offered == expected ? std::string() : "expected " + listOf(expected);
    };
    return r;
}
} // namespace

PluginRules rulesFor(FieldsFile const& f)
{
    if (f.plugin == "BertLayerNorm")
    {
        return layerNormRules(f.intField("hidden_size"));
    }
    if (f.plugin == "BertSkipLayerNorm")
    {
        return skipLayerNormRules(f.intField("hidden_size"));
    }
    if (f.plugin == "BertEmbLayerNorm")
    {
        return embLayerNormRules(f.intField("hidden_size"), f.intField("packed") != 0, f.intField("output_fp16") != 0);
    }
    if (f.plugin == "BertQkvToContext")
    {
        return qkvToContextRules(f.intField("num_heads"), f.intField("head_size"), f.intField("packed") != 0);
    }
    if (f.plugin == "BertBiasGelu")
    {
        return biasGeluRules(f.intField("size"));
    }
    throw std::runtime_error(f.path + ": no rules for plugin " + f.plugin);
}

} // namespace harness
