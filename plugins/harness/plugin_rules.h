// What each plugin is documented to do (plugins/plugin_fields.py, the kernel headers and the
// plugin READMEs), restated here on its own: the harness compares the plugins against these
// rules, so none of them is taken from the plugin code under test.
#pragma once

#include <NvInferRuntime.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace harness
{

// One creation field as written by plugins/plugin_fields.py's write_fields_file.
struct FieldValue
{
    std::string name;
    nvinfer1::PluginFieldType type; // kFLOAT32 or kINT32
    float f{0.F};
    int32_t i{0};
};

struct FieldsFile
{
    std::string path;
    std::string plugin, version, pluginNamespace;
    std::vector<FieldValue> fields;

    int32_t intField(std::string const& name) const; // throws if absent
};

FieldsFile readFieldsFile(std::string const& path); // throws std::runtime_error with the reason

// Which data types one input/output position accepts (always TensorFormat::kLINEAR):
enum class Accepts
{
    kActivation, // FLOAT or HALF; every activation of a plugin has the same type
    kParams,     // weights in the activations' type (LayerNorm's gamma, beta, bias): same rule
    kFloat,      // weights kept in fp32
    kHalf,
    kInt32, // ids, masks, lengths, offsets
    kQuantizable, // as kActivation, or INT8: then every kQuantizable position is INT8 and every
                  // kParams FLOAT
};

// A set of input shapes, valid or not; `buildTimeOnly` shapes hold -1 (unknown until runtime)
// and are only given to configurePlugin().
struct ShapeCase
{
    std::string label;
    std::vector<nvinfer1::Dims> inputs;
    bool valid;
    bool buildTimeOnly{false};
};

// A field value the creator must refuse (e.g. hidden_size = 0).
struct BadValue
{
    std::string field;
    double value;
};

struct PluginRules
{
    int32_t nbOutputs{0};
    std::vector<int32_t> inputCounts; // the supported numbers of inputs
    // Inputs then outputs, for a supported number of inputs.
    std::function<std::vector<Accepts>(int32_t nbInputs)> accepts;
    // Output types when every activation input is `activation`.
    std::function<std::vector<nvinfer1::DataType>(nvinfer1::DataType activation)> outputTypes;
    // Output shapes for valid input shapes.
    std::function<std::vector<nvinfer1::Dims>(std::vector<nvinfer1::Dims> const& inputs)> outputDims;
    std::vector<ShapeCase> shapeCases;
    std::vector<BadValue> badValues;
    // Tactics (IPluginV3OneBuild::getValidTactics): the kernel versions a plugin offers, numbered
    // 1 to lastTactic (0: it offers none). tacticsProblem(type, offered): empty when `offered`
    // (sorted, unique and in range: the harness checks that itself) is what the plugin's documented
    // rule gives for activations of `type`, else what is wrong.
    int32_t lastTactic{0};
    std::function<std::string(nvinfer1::DataType type, std::vector<int32_t> const& offered)> tacticsProblem;
    // What getTimingCacheID must contain besides the plugin's name: creation fields that timings
    // depend on and the I/O shapes do not show (attention's heads x head size).
    std::string timingCacheIdPart;
};

// The rules of `fields.plugin` for these field values; throws for an unknown plugin.
PluginRules rulesFor(FieldsFile const& fields);

nvinfer1::Dims dims(std::vector<int64_t> const& values);
bool contains(std::vector<int32_t> const& values, int32_t v);
std::string listOf(std::vector<int32_t> const& values); // {1,2,3}
std::string toString(nvinfer1::Dims const& d);
bool sameDims(nvinfer1::Dims const& a, nvinfer1::Dims const& b);

} // namespace harness
