// What every BERT plugin does the same way, written once:
//   PluginBase<Plugin, Params>  the IPluginV3 object: capability lookup, identity, clone, fields
//                               to serialize, input-shape validation, format/type negotiation.
//   PluginCreator<Plugin>       its IPluginCreatorV3One: field names and createPlugin().
//
// A TensorRT 10 plugin is one object seen through four interfaces:
//   IPluginV3            hands out the other three (getCapabilityInterface) and clones itself;
//   IPluginV3OneCore     name, version, namespace;
//   IPluginV3OneBuild    what the builder asks: output types and shapes, supported formats;
//   IPluginV3OneRuntime  what an engine needs: onShapeChange, enqueue, fields to serialize.
// The plugins hold nothing but their creation fields (Params), the number of inputs they were
// configured with, the tactics offered and the one set (fixed-size), and buffers for
// getFieldsToSerialize and getTimingCacheID (which a copy starts empty): no weights, no device
// memory. So the build and runtime objects are the same class, and cloning is a plain copy that
// cannot throw.
//
// A plugin is `class XPlugin : public PluginBase<XPlugin, XParams>` where XParams holds its
// creation fields: struct XParams { std::vector<FieldRef> fields(); std::string problem() const; }.
// The plugin class provides (see plugins/layernorm/layernorm_plugin.cpp, the smallest):
//   static constexpr char const* kName;          as in plugins/plugin_fields.py
//   std::vector<IoKind> ioKinds(int32_t nbInputs) const;   empty: that input count is unsupported
//   std::string checkInputDims(nvinfer1::Dims const* inputs, int32_t nbInputs) const;
//   getNbOutputs, getOutputDataTypes, getOutputShapes (or derive from OutputLikeFirstInput,
//   which provides them for one output like input 0), enqueue.
// and, if its launcher has numbered kernel versions to offer TensorRT as tactics (below):
//   static constexpr int32_t kLastTactic;       the highest version number
//   std::vector<int32_t> tacticsFor(in, nbInputs, out, nbOutputs) const;   those that take the
//                                                configured sizes and types
#pragma once

#include "common/plugin_utils.h"

#include <algorithm>
#include <array>
#include <exception>
#include <new>
#include <string>
#include <vector>

namespace bert
{

// The data types one input/output position accepts. Every position is TensorFormat::kLINEAR.
enum class IoKind
{
    kActivation, // FLOAT or HALF, and the same type as every other kActivation of the plugin
    kParams,     // weights the kernel reads in the activations' type (LayerNorm's gamma, beta,
                 // bias: re-read for every row, so fp16 halves their loads); TensorRT converts
                 // the FLOAT constants when it picks HALF. Same rule as kActivation.
    kFloat,      // FLOAT only: weights (biases read once per thread, embedding tables)
    kHalf,       // HALF only (the embedding output when the output_fp16 field is set)
    kInt32,      // INT32 only: token ids, masks, sequence lengths and offsets
    kQuantizable, // as kActivation, or INT8 (TensorRT's implicit INT8, per-tensor scales): then
                  // every kQuantizable position is INT8 and every kParams FLOAT (SkipLayerNorm's
                  // residual stream between INT8 GEMMs)
};

template <typename Plugin, typename PluginParams>
class PluginBase : public nvinfer1::IPluginV3,
                   public nvinfer1::IPluginV3OneCore,
                   public nvinfer1::IPluginV3OneBuild,
                   public nvinfer1::IPluginV3OneRuntime
{
public:
    using Params = PluginParams;

    explicit PluginBase(Params const& params)
        : mParams(params)
    {
    }

    // ---- IPluginV3 --------------------------------------------------------------------------
    nvinfer1::IPluginCapability* getCapabilityInterface(nvinfer1::PluginCapabilityType type) noexcept override
    {
        switch (type)
        {
        case nvinfer1::PluginCapabilityType::kCORE: return static_cast<nvinfer1::IPluginV3OneCore*>(this);
        case nvinfer1::PluginCapabilityType::kBUILD: return static_cast<nvinfer1::IPluginV3OneBuild*>(this);
        case nvinfer1::PluginCapabilityType::kRUNTIME: return static_cast<nvinfer1::IPluginV3OneRuntime*>(this);
        }
        return nullptr;
    }

    nvinfer1::IPluginV3* clone() noexcept override
    {
        // A copy is a fully initialized plugin: the fields are all the state there is.
        return new (std::nothrow) Plugin(static_cast<Plugin const&>(*this));
    }

    // ---- IPluginV3OneCore -------------------------------------------------------------------
    char const* getPluginName() const noexcept override
    {
        return Plugin::kName;
    }
    char const* getPluginVersion() const noexcept override
    {
        return kPluginVersion;
    }
    char const* getPluginNamespace() const noexcept override
    {
        return kPluginNamespace;
    }

    // Whether the kernel takes INT8 I/O at this plugin's sizes (kQuantizable positions); a plugin
    // with INT8 support hides this with its own.
    bool int8Supported() const
    {
        return false;
    }

    // ---- IPluginV3OneBuild ------------------------------------------------------------------
    // TensorRT asks position by position (inputs first, then outputs); the answer for `pos` may
    // depend only on inOut[0..pos], which TensorRT has already set to combinations we accepted.
    bool supportsFormatCombination(int32_t pos, nvinfer1::DynamicPluginTensorDesc const* inOut, int32_t nbInputs,
        int32_t nbOutputs) noexcept override
    {
        try
        {
            std::vector<IoKind> const kinds = self().ioKinds(nbInputs);
            if (kinds.size() != static_cast<size_t>(nbInputs + nbOutputs) || pos < 0
                || pos >= static_cast<int32_t>(kinds.size()))
            {
                return false;
            }
            nvinfer1::PluginTensorDesc const& desc = inOut[pos].desc;
            if (desc.format != nvinfer1::TensorFormat::kLINEAR)
            {
                return false;
            }
            switch (kinds[pos])
            {
            case IoKind::kFloat: return desc.type == nvinfer1::DataType::kFLOAT;
            case IoKind::kHalf: return desc.type == nvinfer1::DataType::kHALF;
            case IoKind::kInt32: return desc.type == nvinfer1::DataType::kINT32;
            case IoKind::kActivation:
            case IoKind::kParams:
            case IoKind::kQuantizable: break;
            }
            bool const isFloat = desc.type == nvinfer1::DataType::kFLOAT || desc.type == nvinfer1::DataType::kHALF;
            bool const isInt8 = desc.type == nvinfer1::DataType::kINT8 && self().int8Supported();
            // The first activation-like position (inputs come first) fixes the type of the rest.
            for (int32_t earlier = 0; earlier < pos; ++earlier)
            {
                if (kinds[earlier] == IoKind::kActivation || kinds[earlier] == IoKind::kParams
                    || kinds[earlier] == IoKind::kQuantizable)
                {
                    nvinfer1::DataType const first = inOut[earlier].desc.type;
                    if (first == nvinfer1::DataType::kINT8)
                    {
                        return kinds[pos] == IoKind::kQuantizable ? isInt8
                            : kinds[pos] == IoKind::kParams       ? desc.type == nvinfer1::DataType::kFLOAT
                                                                  : false;
                    }
                    return isFloat && desc.type == first;
                }
            }
            return isFloat || (isInt8 && kinds[pos] == IoKind::kQuantizable);
        }
        catch (std::exception const&)
        {
            return false;
        }
    }

    // Called while building with the profile's bounds; desc.dims may hold -1 for dimensions only
    // known at runtime (checkInputDims lets -1 match anything).
    int32_t configurePlugin(nvinfer1::DynamicPluginTensorDesc const* in, int32_t nbInputs,
        nvinfer1::DynamicPluginTensorDesc const* out, int32_t nbOutputs) noexcept override
    {
        try
        {
            std::vector<nvinfer1::Dims> dims;
            for (int32_t i = 0; i < nbInputs; ++i)
            {
                dims.push_back(in[i].desc.dims);
            }
            if (int32_t const status = validateInputs(dims.data(), nbInputs); status != 0)
            {
                return status;
            }
            static_assert(static_cast<size_t>(Plugin::kLastTactic) <= kMaxTactics, "PluginBase holds at most kMaxTactics tactics");
            std::vector<int32_t> const tactics = self().tacticsFor(in, nbInputs, out, nbOutputs);
            if (tactics.size() > mTactics.size())
            {
                logError(Plugin::kName, "tacticsFor offered more than kMaxTactics tactics");
                return -1;
            }
            std::copy(tactics.begin(), tactics.end(), mTactics.begin());
            mNbTactics = static_cast<int32_t>(tactics.size());
            return 0;
        }
        catch (std::exception const&)
        {
            return -1;
        }
    }

    // Tactics. After each configurePlugin the builder asks for the plugin's tactics, times every
    // one on the GPU it builds for, at the profile's shapes, next to tactic 0 (TensorRT's name
    // for "the plugin's own choice": here the default version, picked by shape at every
    // enqueue), and keeps the fastest; the engine stores that number and calls setTactic with it
    // before enqueue, also after deserialization. Our tactics are the kernel versions that take
    // the configured sizes and type (the kernel library says which: bertLayerNormVersionTakes,
    // bertBiasGeluVersionTakes, bertQkvToContextVersionSupported): the defaults were measured on
    // one or two GPUs, and another one's builder may find a faster version (versionsTaken, below,
    // says which are offered). A pinned version then runs at every shape of the profile, not only
    // the one it was timed at (launchTactic, below, for a shape it refuses).
    int32_t getNbTactics() noexcept override
    {
        return mNbTactics;
    }

    int32_t getValidTactics(int32_t* tactics, int32_t nbTactics) noexcept override
    {
        if (tactics == nullptr || nbTactics != getNbTactics())
        {
            logError(Plugin::kName, "getValidTactics: the buffer does not hold getNbTactics() values");
            return -1;
        }
        std::copy(mTactics.begin(), mTactics.begin() + mNbTactics, tactics);
        return 0;
    }

    // Plugins with tactics: the plugin name, the tactic range and timingCacheKey(), the part of the
    // plugin's state that timings depend on beyond the I/O shapes and formats TensorRT adds itself
    // (attention's heads x head size: qkv [.., 3H] is the same shape for 12 x 64 and 6 x 128).
    // Others (nullptr) have nothing to time.
    char const* getTimingCacheID() noexcept override
    {
        if (Plugin::kLastTactic == 0)
        {
            return nullptr;
        }
        try
        {
            return mTimingCacheId.set(std::string(Plugin::kName) + "-tactics-1-to-"
                + std::to_string(Plugin::kLastTactic) + self().timingCacheKey());
        }
        catch (std::exception const&)
        {
            return nullptr;
        }
    }

    // ---- IPluginV3OneRuntime ----------------------------------------------------------------
    // Called with the real shapes before enqueue() whenever they change.
    int32_t onShapeChange(nvinfer1::PluginTensorDesc const* in, int32_t nbInputs,
        nvinfer1::PluginTensorDesc const* /*out*/, int32_t /*nbOutputs*/) noexcept override
    {
        try
        {
            std::vector<nvinfer1::Dims> dims;
            for (int32_t i = 0; i < nbInputs; ++i)
            {
                dims.push_back(in[i].dims);
            }
            return validateInputs(dims.data(), nbInputs);
        }
        catch (std::exception const&)
        {
            return -1;
        }
    }

    // Each execution context gets its own copy; these plugins hold no per-context resources.
    nvinfer1::IPluginV3* attachToContext(nvinfer1::IPluginResourceContext* /*context*/) noexcept override
    {
        return clone();
    }

    // The builder's pick while timing and in the engine; 0 where the plugin offers no tactics.
    int32_t setTactic(int32_t tactic) noexcept override
    {
        if (tactic < 0 || tactic > Plugin::kLastTactic)
        {
            try
            {
                logError(std::string(Plugin::kName) + ": setTactic(" + std::to_string(tactic)
                    + "): not a tactic of this plugin (0 to " + std::to_string(Plugin::kLastTactic) + ")");
            }
            catch (std::exception const&)
            {
                logError(Plugin::kName, "setTactic: not a tactic of this plugin");
            }
            return -1;
        }
        mTactic = tactic;
        return 0;
    }

    // The engine stores exactly the creation fields; deserializing calls the creator's
    // createPlugin(name, <these fields>, TensorRTPhase::kRUNTIME).
    nvinfer1::PluginFieldCollection const* getFieldsToSerialize() noexcept override
    {
        try
        {
            return mSerialized.describe(mParams.fields());
        }
        catch (std::exception const&)
        {
            return nullptr;
        }
    }

protected:
    // How many inputs the plugin was last configured with (0: not yet). enqueue() is not told,
    // and a plugin with an optional input (SkipLayerNorm's bias) needs to know; TensorRT calls
    // onShapeChange() with the real inputs before an execution context first enqueues.
    int32_t configuredInputs() const
    {
        return mNbInputs;
    }

    // No tactics: what a plugin without kernel versions to offer inherits.
    static constexpr int32_t kLastTactic = 0;
    std::vector<int32_t> tacticsFor(nvinfer1::DynamicPluginTensorDesc const* /*in*/, int32_t /*nbInputs*/,
        nvinfer1::DynamicPluginTensorDesc const* /*out*/, int32_t /*nbOutputs*/) const
    {
        return {};
    }

    // Creation fields the tactics' timings depend on that the I/O shapes do not show: none here.
    std::string timingCacheKey() const
    {
        return {};
    }

    // launch(version) with the tactic set last (0: the default version). A pinned version that
    // refuses the buffers it is given (cudaErrorNotSupported, before launching anything) gives way
    // to the default: e.g. pointers not 16-byte aligned, should TensorRT hand such buffers over,
    // more than 2^31 - 1 rows for the LayerNorm versions that launch a block per row, more rows than
    // one grid of BiasGelu v6/v7 holds (the harness's gives-way case), or attention v1 past ~12K keys.
    template <typename Launch>
    int launchTactic(Launch&& launch) const
    {
        int const status = launch(mTactic);
        return status == cudaErrorNotSupported && mTactic != 0 ? launch(0) : status;
    }

    Params mParams;

private:
    Plugin const& self() const
    {
        return static_cast<Plugin const&>(*this);
    }

    int32_t validateInputs(nvinfer1::Dims const* dims, int32_t nbInputs)
    {
        std::string problem = self().ioKinds(nbInputs).empty()
                                  ? "unsupported number of inputs: " + std::to_string(nbInputs)
                                  : self().checkInputDims(dims, nbInputs);
        if (problem.empty())
        {
            mNbInputs = nbInputs;
            return 0;
        }
        logError(std::string(Plugin::kName) + ": " + problem);
        return -1;
    }

    int32_t mNbInputs{0};
    SerializedFields mSerialized;
    PluginText mTimingCacheId;
    static constexpr size_t kMaxTactics = 32;
    std::array<int32_t, kMaxTactics> mTactics{}; // offered at the last configurePlugin: the first mNbTactics
    int32_t mNbTactics{0};
    int32_t mTactic{0}; // set by setTactic
};

// A plugin's tactics for activations of `type`: the versions 2..last for which `takes(version,
// BertDType)` holds (the kernel library's own rule), or version 1 where none of them does; none for
// types other than FLOAT and HALF. Version 1 is each family's plain reference kernel: a builder
// timing a tiny `opt` shape can find it fastest (attention's v1 won the harness's one-token cases in
// run 15) and would then run it at every shape of the profile: at 32 x 384 ~50x slower than v8 in
// fp32, ~400x than v5 in fp16. So it is offered only where it is all there is, as the defaults use it.
template <typename Takes>
std::vector<int32_t> versionsTaken(nvinfer1::DataType type, int32_t last, Takes&& takes)
{
    std::vector<int32_t> tactics;
    if (type != nvinfer1::DataType::kFLOAT && type != nvinfer1::DataType::kHALF)
    {
        return tactics;
    }
    for (int32_t version = 2; version <= last; ++version)
    {
        if (takes(version, toBertDType(type)) != 0)
        {
            tactics.push_back(version);
        }
    }
    if (tactics.empty() && takes(1, toBertDType(type)) != 0)
    {
        tactics.push_back(1);
    }
    return tactics;
}

// LayerNorm, SkipLayerNorm and BiasGelu: one output, shaped and typed like the first input.
template <typename Plugin, typename PluginParams>
class OutputLikeFirstInput : public PluginBase<Plugin, PluginParams>
{
public:
    using PluginBase<Plugin, PluginParams>::PluginBase;

    int32_t getNbOutputs() const noexcept override
    {
        return 1;
    }

    int32_t getOutputDataTypes(nvinfer1::DataType* outputTypes, int32_t /*nbOutputs*/,
        nvinfer1::DataType const* inputTypes, int32_t /*nbInputs*/) const noexcept override
    {
        outputTypes[0] = inputTypes[0];
        return 0;
    }

    int32_t getOutputShapes(nvinfer1::DimsExprs const* inputs, int32_t nbInputs, nvinfer1::DimsExprs const*, int32_t,
        nvinfer1::DimsExprs* outputs, int32_t /*nbOutputs*/, nvinfer1::IExprBuilder&) noexcept override
    {
        try
        {
            if (static_cast<Plugin const&>(*this).ioKinds(nbInputs).empty())
            {
                return -1; // an input count the plugin does not take
            }
        }
        catch (std::exception const&)
        {
            return -1;
        }
        outputs[0] = inputs[0];
        return 0;
    }
};

template <typename Plugin>
class PluginCreator : public nvinfer1::IPluginCreatorV3One
{
public:
    PluginCreator()
    {
        // Names and types only: data stays null, TensorRT reads it from createPlugin's argument.
        for (FieldRef const& f : mDefaults.fields())
        {
            mFieldNames.emplace_back(f.name, nullptr, f.type, 1);
        }
        mFieldCollection.nbFields = static_cast<int32_t>(mFieldNames.size());
        mFieldCollection.fields = mFieldNames.data();
    }

    // The same fields in both phases: kBUILD gets them from the network builder (builder.py via
    // plugins/plugin_fields.py), kRUNTIME from getFieldsToSerialize() of the serialized plugin.
    nvinfer1::IPluginV3* createPlugin(char const* /*name*/, nvinfer1::PluginFieldCollection const* fc,
        nvinfer1::TensorRTPhase /*phase*/) noexcept override
    {
        try
        {
            typename Plugin::Params params{};
            if (!readFields(Plugin::kName, fc, params.fields()))
            {
                return nullptr;
            }
            std::string const problem = params.problem();
            if (!problem.empty())
            {
                logError(std::string(Plugin::kName) + ": " + problem);
                return nullptr;
            }
            return new (std::nothrow) Plugin(params);
        }
        catch (std::exception const& e)
        {
            logError(std::string(Plugin::kName) + ": createPlugin failed: " + e.what());
            return nullptr;
        }
    }

    nvinfer1::PluginFieldCollection const* getFieldNames() noexcept override
    {
        return &mFieldCollection;
    }
    char const* getPluginName() const noexcept override
    {
        return Plugin::kName;
    }
    char const* getPluginVersion() const noexcept override
    {
        return kPluginVersion;
    }
    char const* getPluginNamespace() const noexcept override
    {
        return kPluginNamespace;
    }

private:
    typename Plugin::Params mDefaults{}; // only the field names and types are read from it
    std::vector<nvinfer1::PluginField> mFieldNames;
    nvinfer1::PluginFieldCollection mFieldCollection{};
};

} // namespace bert
