// Small helpers shared by the TensorRT glue of every plugin (plugins/<name>/<name>_plugin.cpp):
// logging through TensorRT's logger, creation fields, CUDA status checks, dtype/shape helpers.
// Nothing here calls into libnvinfer: the plugin library must load without it (the build links
// with -Wl,--no-undefined), so only header-only TensorRT types are used.
#pragma once

#include <NvInferRuntime.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/bert_kernels_common.h"

namespace bert
{

// TensorRT's plugin-library identity, the same strings as plugins/plugin_fields.py.
constexpr char const* kPluginVersion = "1";
constexpr char const* kPluginNamespace = "bert_trt";

// ---- Logging --------------------------------------------------------------------------------
// TensorRT hands the library an ILoggerFinder (setLoggerFinder, see plugin_library.cpp). The
// logger must be looked up on every message: it belongs to the builder or execution context that
// is calling the plugin right now. Without a finder (or logger) messages go to stderr.
void setLoggerFinder(nvinfer1::ILoggerFinder* finder) noexcept;
void logError(std::string const& message) noexcept;
// "<plugin>: <message>" without allocating: for enqueue() and the other noexcept calls, where
// building a std::string could throw.
void logError(char const* plugin, char const* message) noexcept;

// Logs "<plugin>: <what> failed: <CUDA error text>" when status != 0 (without allocating);
// returns status unchanged, so enqueue() can end with
// `return checkCuda(bertSomething(...), kName, "bertSomething");`.
int32_t checkCuda(int status, char const* plugin, char const* what) noexcept;

// ---- Creation fields ------------------------------------------------------------------------
// Each plugin lists its fields ONCE, as FieldRefs that point at the members of its Params struct:
//   std::vector<FieldRef> fields() { return {field("epsilon", epsilon), ...}; }
// The same list gives the creator's getFieldNames(), is filled by readFields() in createPlugin(),
// and is what getFieldsToSerialize() hands back: the three can never disagree. Every field is a
// single FLOAT32 or INT32 value, as plugins/plugin_fields.py declares.
struct FieldRef
{
    char const* name;
    nvinfer1::PluginFieldType type; // kFLOAT32 or kINT32
    void* value;                    // the float or int32_t member that holds the field
};

inline FieldRef field(char const* name, float& value)
{
    return {name, nvinfer1::PluginFieldType::kFLOAT32, &value};
}

inline FieldRef field(char const* name, int32_t& value)
{
    return {name, nvinfer1::PluginFieldType::kINT32, &value};
}

// Copies each field of `fc` into the member its FieldRef points at. A missing, unknown or
// repeated field, a wrong type, a length other than 1 or a null data pointer logs one error
// naming the plugin and the field, and returns false (the creator then returns nullptr).
bool readFields(char const* plugin, nvinfer1::PluginFieldCollection const* fc, std::vector<FieldRef> const& fields);

// The PluginFieldCollection that getFieldsToSerialize() returns. TensorRT reads it after the call
// returns, so it lives in the plugin; its PluginFields point straight at the plugin's members.
class SerializedFields
{
public:
    SerializedFields() = default;
    // A copy (a cloned plugin) starts empty: the collection points into its own plugin, and is
    // rebuilt by describe() anyway. So copying a plugin neither allocates nor copies pointers
    // into the original.
    SerializedFields(SerializedFields const&) noexcept {}
    SerializedFields& operator=(SerializedFields const&) noexcept
    {
        return *this;
    }

    nvinfer1::PluginFieldCollection const* describe(std::vector<FieldRef> const& fields);

private:
    std::vector<nvinfer1::PluginField> mFields;
    nvinfer1::PluginFieldCollection mCollection{};
};

// Text a plugin hands TensorRT by pointer (getTimingCacheID), so it lives in the plugin. Like
// SerializedFields, a copy starts empty (copying a plugin cannot throw) and set() rebuilds it.
class PluginText
{
public:
    PluginText() = default;
    PluginText(PluginText const&) noexcept {}
    PluginText& operator=(PluginText const&) noexcept
    {
        return *this;
    }
    char const* set(std::string text)
    {
        mText = std::move(text);
        return mText.c_str();
    }

private:
    std::string mText;
};

// The fields of BertLayerNorm and BertSkipLayerNorm; BertEmbLayerNorm adds two more.
struct NormParams
{
    float epsilon{0.F};
    int32_t hiddenSize{0};

    std::vector<FieldRef> fields()
    {
        return {field("epsilon", epsilon), field("hidden_size", hiddenSize)};
    }
    // Empty when valid, else what is wrong (the creator logs it and returns nullptr).
    std::string problem() const;
};

// ---- Tensors ----------------------------------------------------------------------------------
// The kernels' element type for a FLOAT or HALF tensor (supportsFormatCombination allows no other).
inline BertDType toBertDType(nvinfer1::DataType type)
{
    return type == nvinfer1::DataType::kHALF ? BERT_FP16 : BERT_FP32;
}

// Rows of a [..., n] tensor seen as a matrix: the product of every dimension but the last.
int64_t rowsOf(nvinfer1::Dims const& dims);
int64_t lastDimOf(nvinfer1::Dims const& dims);

// 1e-12 as "1e-12" (std::to_string would print 0.000000).
std::string formatFloat(float value);

// "[2,128,768]" for messages; -1 (unknown at build time) prints as "?".
std::string toString(nvinfer1::Dims const& dims);

// A build-time dimension may be -1 (not known until runtime): it matches anything.
inline bool dimMatches(int64_t actual, int64_t expected)
{
    return actual < 0 || actual == expected;
}

// Same rank and the same dimensions, -1 on either side matching anything.
bool sameShape(nvinfer1::Dims const& a, nvinfer1::Dims const& b);

// A per-hidden-unit vector (gamma, beta, bias): [n], or [1, ..., 1, n] as a broadcastable constant.
bool isVectorOf(nvinfer1::Dims const& dims, int64_t n);

// The checks several plugins make, as checkInputDims() messages ("" when the check passes):
// `input` is [..., n] (n the creation field `field`), e.g. "input [2,5,700] must end with
// hidden_size 768"; gamma and beta are per-hidden-unit vectors of n.
std::string checkRowsOf(nvinfer1::Dims const& input, int64_t n, char const* field);
std::string checkGammaBeta(nvinfer1::Dims const& gamma, nvinfer1::Dims const& beta, int64_t n);

} // namespace bert
