// bert_plugin_harness: drives every plugin of libbert_plugins.so through its real TensorRT 10
// interfaces, without TensorRT. It does what TensorRT's plugin registry, builder and runtime do:
// dlopen the library, setLoggerFinder + getCreators, create plugins from the same fields
// builder.py passes, ask for output types, shapes and format support, configure, serialize and
// deserialize, clone and attach to a context; and with --enqueue, run enqueue() on the GPU.
//
//   bert_plugin_harness <libbert_plugins.so> <fields-dir> [--verbose]
//   bert_plugin_harness <libbert_plugins.so> --enqueue <cases-dir> [--verbose]
//
// <fields-dir> holds *.fields files written by plugins/harness/make_cases.py (one per plugin
// configuration); <cases-dir> a manifest.txt with inputs and expected outputs. Every check prints
// `PASS|FAIL <plugin> <check> <case>: ...`; the exit status is non-zero if any check failed.
#include "harness.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>
#include <stdexcept>

namespace harness
{
using nvinfer1::DataType;
using nvinfer1::Dims;
using nvinfer1::DimsExprs;
using nvinfer1::DynamicPluginTensorDesc;
using nvinfer1::IPluginV3;
using nvinfer1::PluginFieldType;
using nvinfer1::PluginTensorDesc;
using nvinfer1::TensorFormat;
using nvinfer1::TensorRTPhase;

void Report::check(bool ok, std::string const& plugin, std::string const& check, std::string const& caseName,
    std::string const& detail)
{
    (ok ? mPassed : mFailed)++;
    std::printf(
        "%s %s %s %s: %s\n", ok ? "PASS" : "FAIL", plugin.c_str(), check.c_str(), caseName.c_str(), detail.c_str());
    std::fflush(stdout);
}

FieldCollection::FieldCollection(std::vector<FieldValue> const& values)
{
    for (FieldValue const& v : values)
    {
        void const* data = v.type == PluginFieldType::kFLOAT32 ? static_cast<void const*>(&v.f) : &v.i;
        mFields.emplace_back(v.name.c_str(), data, v.type, 1);
    }
    mCollection.nbFields = static_cast<int32_t>(mFields.size());
    mCollection.fields = mFields.data();
}

namespace
{
template <typename Capability>
Capability* capability(IPluginV3* plugin, nvinfer1::PluginCapabilityType type, char const* kind)
{
    nvinfer1::IPluginCapability* c = plugin != nullptr ? plugin->getCapabilityInterface(type) : nullptr;
    if (c == nullptr)
    {
        return nullptr;
    }
    nvinfer1::InterfaceInfo const info = c->getInterfaceInfo();
    bool const expected = info.kind != nullptr && std::strcmp(info.kind, kind) == 0 && info.major == 1;
    return expected ? static_cast<Capability*>(c) : nullptr;
}
} // namespace

nvinfer1::IPluginV3OneCore* coreOf(IPluginV3* p)
{
    return capability<nvinfer1::IPluginV3OneCore>(p, nvinfer1::PluginCapabilityType::kCORE, "PLUGIN_V3ONE_CORE");
}
nvinfer1::IPluginV3OneBuild* buildOf(IPluginV3* p)
{
    return capability<nvinfer1::IPluginV3OneBuild>(p, nvinfer1::PluginCapabilityType::kBUILD, "PLUGIN_V3ONE_BUILD");
}
nvinfer1::IPluginV3OneRuntime* runtimeOf(IPluginV3* p)
{
    return capability<nvinfer1::IPluginV3OneRuntime>(
        p, nvinfer1::PluginCapabilityType::kRUNTIME, "PLUGIN_V3ONE_RUNTIME");
}

std::vector<FieldValue> copyFields(nvinfer1::PluginFieldCollection const* fc)
{
    std::vector<FieldValue> values;
    for (int32_t i = 0; fc != nullptr && i < fc->nbFields; ++i)
    {
        nvinfer1::PluginField const& f = fc->fields[i];
        FieldValue v;
        v.name = f.name != nullptr ? f.name : "";
        v.type = f.type;
        if (f.data != nullptr && f.length == 1 && f.type == PluginFieldType::kFLOAT32)
        {
            std::memcpy(&v.f, f.data, sizeof(float));
        }
        if (f.data != nullptr && f.length == 1 && f.type == PluginFieldType::kINT32)
        {
            std::memcpy(&v.i, f.data, sizeof(int32_t));
        }
        values.push_back(v);
    }
    return values;
}

std::string compareFields(nvinfer1::PluginFieldCollection const* got, std::vector<FieldValue> const& expected)
{
    if (got == nullptr)
    {
        return "no field collection";
    }
    if (got->nbFields != static_cast<int32_t>(expected.size()))
    {
        return std::to_string(got->nbFields) + " fields, expected " + std::to_string(expected.size());
    }
    for (FieldValue const& e : expected)
    {
        nvinfer1::PluginField const* match = nullptr;
        for (int32_t i = 0; i < got->nbFields; ++i)
        {
            if (got->fields[i].name != nullptr && e.name == got->fields[i].name)
            {
                match = &got->fields[i];
            }
        }
        if (match == nullptr)
        {
            return "field " + e.name + " missing";
        }
        if (match->type != e.type || match->length != 1 || match->data == nullptr)
        {
            return "field " + e.name + " has the wrong type, length or no data";
        }
        void const* value = e.type == PluginFieldType::kFLOAT32 ? static_cast<void const*>(&e.f) : &e.i;
        if (std::memcmp(match->data, value, 4) != 0)
        {
            return "field " + e.name + " has another value";
        }
    }
    return {};
}

char const* typeName(DataType type)
{
    switch (type)
    {
    case DataType::kFLOAT: return "FLOAT";
    case DataType::kHALF: return "HALF";
    case DataType::kINT8: return "INT8";
    case DataType::kINT32: return "INT32";
    case DataType::kBOOL: return "BOOL";
    default: return "other";
    }
}

namespace
{
int32_t const kNbDataTypes = nvinfer1::EnumMax<DataType>();
int32_t const kNbFormats = nvinfer1::EnumMax<TensorFormat>();

// The type a position gets when every activation is `activation` (the one valid choice; INT8
// activations are kQuantizable positions, whose parameters are then FLOAT).
DataType validType(Accepts accepts, DataType activation)
{
    switch (accepts)
    {
    case Accepts::kActivation:
    case Accepts::kQuantizable: return activation;
    case Accepts::kParams: return activation == DataType::kINT8 ? DataType::kFLOAT : activation;
    case Accepts::kFloat: return DataType::kFLOAT;
    case Accepts::kHalf: return DataType::kHALF;
    case Accepts::kInt32: return DataType::kINT32;
    }
    return DataType::kFLOAT;
}

bool isActivationLike(Accepts accepts)
{
    return accepts == Accepts::kActivation || accepts == Accepts::kParams || accepts == Accepts::kQuantizable;
}

// The activation types a plugin takes: FLOAT and HALF, and INT8 where a position is kQuantizable.
std::vector<DataType> activationTypes(std::vector<Accepts> const& accepts)
{
    bool const quantizable = std::find(accepts.begin(), accepts.end(), Accepts::kQuantizable) != accepts.end();
    if (quantizable)
    {
        return {DataType::kFLOAT, DataType::kHALF, DataType::kINT8};
    }
    return {DataType::kFLOAT, DataType::kHALF};
}

// Everything the checks of one fields file share.
struct PluginUnderTest
{
    FieldsFile file;
    PluginRules rules;
    nvinfer1::IPluginCreatorV3One* creator;
    RecordingLogger& logger;
    Report& report;
    std::string caseName; // the fields file's stem

    void check(bool ok, std::string const& name, std::string const& detail)
    {
        report.check(ok, file.plugin, name, caseName, detail);
    }

    PluginPtr create(nvinfer1::PluginFieldCollection const* fc, TensorRTPhase phase)
    {
        return PluginPtr(creator->createPlugin(("harness_" + caseName).c_str(), fc, phase));
    }
};

// ---- Creator ------------------------------------------------------------------------------------
void checkFieldNames(PluginUnderTest& t)
{
    nvinfer1::PluginFieldCollection const* names = t.creator->getFieldNames();
    std::string problem;
    if (names == nullptr || names->nbFields != static_cast<int32_t>(t.file.fields.size()))
    {
        problem = "getFieldNames() has " + std::to_string(names ? names->nbFields : -1) + " fields, the fields file "
                  + std::to_string(t.file.fields.size());
    }
    for (size_t i = 0; problem.empty() && i < t.file.fields.size(); ++i)
    {
        nvinfer1::PluginField const& f = names->fields[i];
        if (f.name == nullptr || t.file.fields[i].name != f.name || f.type != t.file.fields[i].type)
        {
            problem = "field " + std::to_string(i) + " is '" + (f.name ? f.name : "null") + "', expected '"
                      + t.file.fields[i].name + "' of the type in plugin_fields.py";
        }
    }
    t.check(problem.empty(), "field-names",
        problem.empty() ? std::to_string(t.file.fields.size()) + " fields as in plugin_fields.py" : problem);
}

void checkIdentity(PluginUnderTest& t, IPluginV3* plugin)
{
    nvinfer1::IPluginV3OneCore* core = coreOf(plugin);
    bool const ok
        = core != nullptr && t.file.plugin == core->getPluginName() && t.file.version == core->getPluginVersion()
          && t.file.pluginNamespace == core->getPluginNamespace() && t.file.plugin == t.creator->getPluginName()
          && t.file.version == t.creator->getPluginVersion()
          && t.file.pluginNamespace == t.creator->getPluginNamespace() && plugin->getInterfaceInfo().major == 1;
    t.check(ok, "identity",
        ok ? "name/version/namespace " + t.file.plugin + "/" + t.file.version + "/" + t.file.pluginNamespace
           : "plugin or creator name/version/namespace differ from the fields file");
}

void checkCapabilities(PluginUnderTest& t, IPluginV3* plugin, char const* phase, bool needBuild)
{
    bool const ok
        = coreOf(plugin) != nullptr && runtimeOf(plugin) != nullptr && (!needBuild || buildOf(plugin) != nullptr);
    t.check(ok, std::string("capabilities-") + phase,
        ok ? "CORE, RUNTIME" + std::string(needBuild ? ", BUILD" : "") + " interfaces of the expected kind"
           : "a capability interface is missing or of the wrong kind");
}

// ---- Build phase ----------------------------------------------------------------------------------
void checkOutputTypes(PluginUnderTest& t, nvinfer1::IPluginV3OneBuild* build)
{
    std::string problem;
    int32_t calls = 0;
    for (int32_t nbInputs : t.rules.inputCounts)
    {
        std::vector<Accepts> const accepts = t.rules.accepts(nbInputs);
        for (DataType activation : activationTypes(accepts))
        {
            std::vector<DataType> inputTypes;
            for (int32_t i = 0; i < nbInputs; ++i)
            {
                inputTypes.push_back(validType(accepts[i], activation));
            }
            std::vector<DataType> got(t.rules.nbOutputs, DataType::kBOOL);
            int32_t const status
                = build->getOutputDataTypes(got.data(), t.rules.nbOutputs, inputTypes.data(), nbInputs);
            ++calls;
            if (status != 0 || got != t.rules.outputTypes(activation))
            {
                problem = std::string("with ") + std::to_string(nbInputs) + " inputs and " + typeName(activation)
                          + " activations: status " + std::to_string(status) + ", output 0 " + typeName(got[0]);
            }
        }
    }
    t.check(problem.empty(), "output-types", problem.empty() ? std::to_string(calls) + " input type sets" : problem);
}

void checkOutputShapes(PluginUnderTest& t, nvinfer1::IPluginV3OneBuild* build)
{
    std::string problem;
    int32_t cases = 0;
    for (ShapeCase const& sc : t.rules.shapeCases)
    {
        int32_t const nbInputs = static_cast<int32_t>(sc.inputs.size());
        if (!sc.valid || sc.buildTimeOnly || !contains(t.rules.inputCounts, nbInputs))
        {
            continue;
        }
        std::vector<Dims> const expected = t.rules.outputDims(sc.inputs);
        // Twice: with every input dimension a runtime symbol, then with every one a constant.
        for (bool symbolic : {true, false})
        {
            ExprBuilder builder;
            Bindings bindings;
            std::vector<DimsExprs> inputs(nbInputs);
            for (int32_t i = 0; i < nbInputs; ++i)
            {
                inputs[i].nbDims = sc.inputs[i].nbDims;
                for (int32_t j = 0; j < sc.inputs[i].nbDims; ++j)
                {
                    std::string const name = "in" + std::to_string(i) + ".d" + std::to_string(j);
                    bindings[name] = sc.inputs[i].d[j];
                    inputs[i].d[j] = symbolic ? builder.symbol(name) : builder.literal(sc.inputs[i].d[j]);
                }
            }
            std::vector<DimsExprs> outputs(t.rules.nbOutputs);
            int32_t const status = build->getOutputShapes(
                inputs.data(), nbInputs, nullptr, 0, outputs.data(), t.rules.nbOutputs, builder);
            ++cases;
            std::string const where = sc.label + (symbolic ? " (runtime dims)" : " (constant dims)");
            if (status != 0)
            {
                problem = problem.empty() ? where + ": status " + std::to_string(status) : problem;
                continue;
            }
            for (int32_t o = 0; o < t.rules.nbOutputs; ++o)
            {
                bool ok = outputs[o].nbDims == expected[o].nbDims;
                for (int32_t j = 0; ok && j < expected[o].nbDims; ++j)
                {
                    std::optional<int64_t> const value = builder.evaluate(outputs[o].d[j], bindings);
                    // Constant inputs must give constant outputs (TensorRT folds them).
                    ok = value == expected[o].d[j] && (symbolic || outputs[o].d[j]->isConstant());
                }
                if (!ok && problem.empty())
                {
                    problem = where + ": output " + std::to_string(o) + " is not " + toString(expected[o]);
                }
            }
        }
    }
    t.check(problem.empty() && cases > 0, "output-shapes",
        problem.empty() ? std::to_string(cases) + " shape sets" : problem);
}

// supportsFormatCombination is asked, as TensorRT asks it, position by position with the earlier
// positions already set to accepted values; every DataType x TensorFormat is tried at every
// position, once with FLOAT and once with HALF activations (and with INT8 ones where positions
// are kQuantizable). Exactly the documented ones must pass.
void checkFormatCombinations(PluginUnderTest& t, nvinfer1::IPluginV3OneBuild* build)
{
    for (int32_t nbInputs : t.rules.inputCounts)
    {
        std::vector<Accepts> const accepts = t.rules.accepts(nbInputs);
        int32_t const total = static_cast<int32_t>(accepts.size());
        std::string problem;
        int32_t queries = 0, accepted = 0;
        for (DataType activation : activationTypes(accepts))
        {
            // Positions after `pos` hold nonsense: the plugin must not look at them.
            std::vector<DynamicPluginTensorDesc> io(total);
            for (DynamicPluginTensorDesc& d : io)
            {
                d.desc.type = DataType::kBOOL;
                d.desc.format = TensorFormat::kCHW32;
                d.desc.dims = dims({});
            }
            bool activationSet = false; // an earlier position fixed the activation type
            for (int32_t pos = 0; pos < total; ++pos)
            {
                for (int32_t ti = 0; ti < kNbDataTypes; ++ti)
                {
                    for (int32_t fi = 0; fi < kNbFormats; ++fi)
                    {
                        auto const type = static_cast<DataType>(ti);
                        auto const format = static_cast<TensorFormat>(fi);
                        io[pos].desc.type = type;
                        io[pos].desc.format = format;
                        bool const got = build->supportsFormatCombination(pos, io.data(), nbInputs, total - nbInputs);
                        bool typeOk = false;
                        bool const isFloat = type == DataType::kFLOAT || type == DataType::kHALF;
                        switch (accepts[pos])
                        {
                        case Accepts::kActivation:
                        case Accepts::kParams:
                        case Accepts::kQuantizable:
                            typeOk = activationSet ? type == validType(accepts[pos], activation)
                                                   : isFloat
                                    || (type == DataType::kINT8 && accepts[pos] == Accepts::kQuantizable);
                            break;
                        case Accepts::kFloat: typeOk = type == DataType::kFLOAT; break;
                        case Accepts::kHalf: typeOk = type == DataType::kHALF; break;
                        case Accepts::kInt32: typeOk = type == DataType::kINT32; break;
                        }
                        bool const expected = typeOk && format == TensorFormat::kLINEAR;
                        ++queries;
                        accepted += got ? 1 : 0;
                        if (got != expected && problem.empty())
                        {
                            problem = "position " + std::to_string(pos) + " " + typeName(type) + " format "
                                      + std::to_string(fi) + (got ? " accepted" : " refused") + " (activations "
                                      + typeName(activation) + ")";
                        }
                    }
                }
                io[pos].desc.type = validType(accepts[pos], activation);
                io[pos].desc.format = TensorFormat::kLINEAR;
                activationSet = activationSet || isActivationLike(accepts[pos]);
            }
        }
        t.check(problem.empty(), "format-combinations",
            std::to_string(nbInputs) + " inputs: "
                + (problem.empty() ? std::to_string(queries) + " queries, " + std::to_string(accepted) + " accepted"
                                   : problem));
    }
    // An unsupported number of inputs supports nothing.
    int32_t const wrongCount = *std::max_element(t.rules.inputCounts.begin(), t.rules.inputCounts.end()) + 1;
    std::vector<DynamicPluginTensorDesc> io(wrongCount + t.rules.nbOutputs);
    for (DynamicPluginTensorDesc& d : io)
    {
        d.desc.type = DataType::kFLOAT;
        d.desc.format = TensorFormat::kLINEAR;
    }
    bool anyAccepted = false;
    for (int32_t pos = 0; pos < static_cast<int32_t>(io.size()); ++pos)
    {
        anyAccepted = anyAccepted || build->supportsFormatCombination(pos, io.data(), wrongCount, t.rules.nbOutputs);
    }
    t.check(!anyAccepted, "format-combinations-wrong-count",
        std::to_string(wrongCount)
            + " inputs: " + (anyAccepted ? "a position was accepted" : "every position refused"));
}

// Input/output descriptions for one shape case, activations FLOAT.
struct Descs
{
    std::vector<DynamicPluginTensorDesc> in, out;
};

Descs describe(PluginUnderTest& t, ShapeCase const& sc)
{
    int32_t const nbInputs = static_cast<int32_t>(sc.inputs.size());
    bool const countOk = contains(t.rules.inputCounts, nbInputs);
    std::vector<Accepts> const accepts = countOk ? t.rules.accepts(nbInputs) : std::vector<Accepts>{};
    auto fill = [&](DynamicPluginTensorDesc& d, Dims const& shape, DataType type) {
        d.desc.dims = shape;
        d.desc.type = type;
        d.desc.format = TensorFormat::kLINEAR;
        d.desc.scale = -1.F;
        d.min = d.opt = d.max = shape;
        for (int32_t j = 0; j < shape.nbDims; ++j)
        {
            if (shape.d[j] < 0) // a runtime dimension: the profile gives its range
            {
                d.min.d[j] = 1;
                d.opt.d[j] = 4;
                d.max.d[j] = 8;
            }
        }
    };
    Descs descs{
        std::vector<DynamicPluginTensorDesc>(nbInputs), std::vector<DynamicPluginTensorDesc>(t.rules.nbOutputs)};
    for (int32_t i = 0; i < nbInputs; ++i)
    {
        fill(descs.in[i], sc.inputs[i], countOk ? validType(accepts[i], DataType::kFLOAT) : DataType::kFLOAT);
    }
    std::vector<DataType> const outTypes = t.rules.outputTypes(DataType::kFLOAT);
    bool const outputsKnown = sc.valid && !sc.buildTimeOnly;
    std::vector<Dims> const outDims = outputsKnown ? t.rules.outputDims(sc.inputs) : std::vector<Dims>{};
    for (int32_t o = 0; o < t.rules.nbOutputs; ++o)
    {
        fill(descs.out[o], outputsKnown ? outDims[o] : sc.inputs[0], outTypes[o]);
    }
    return descs;
}

// A valid shape set must be accepted silently; an invalid one refused with a logged error.
void checkShapeValidation(PluginUnderTest& t, IPluginV3* plugin)
{
    nvinfer1::IPluginV3OneBuild* build = buildOf(plugin);
    nvinfer1::IPluginV3OneRuntime* runtime = runtimeOf(plugin);
    for (bool atRuntime : {false, true})
    {
        int32_t good = 0, bad = 0;
        std::string problem;
        for (ShapeCase const& sc : t.rules.shapeCases)
        {
            if (atRuntime && sc.buildTimeOnly)
            {
                continue;
            }
            Descs const d = describe(t, sc);
            int32_t const errorsBefore = t.logger.errorCount();
            int32_t status;
            if (atRuntime)
            {
                std::vector<PluginTensorDesc> in, out;
                for (auto const& x : d.in)
                {
                    in.push_back(x.desc);
                }
                for (auto const& x : d.out)
                {
                    out.push_back(x.desc);
                }
                status = runtime->onShapeChange(
                    in.data(), static_cast<int32_t>(in.size()), out.data(), static_cast<int32_t>(out.size()));
            }
            else
            {
                status = build->configurePlugin(
                    d.in.data(), static_cast<int32_t>(d.in.size()), d.out.data(), static_cast<int32_t>(d.out.size()));
            }
            bool const logged = t.logger.errorCount() > errorsBefore;
            bool const ok = sc.valid ? (status == 0 && !logged) : (status != 0 && logged);
            (sc.valid ? good : bad)++;
            if (!ok && problem.empty())
            {
                problem = "'" + sc.label + "': status " + std::to_string(status)
                          + (logged ? ", error logged" : ", nothing logged")
                          + (sc.valid ? " (should be accepted)" : " (should be refused with an error)");
            }
        }
        t.check(problem.empty(), atRuntime ? "onShapeChange" : "configurePlugin",
            problem.empty() ? std::to_string(good) + " valid shape sets accepted, " + std::to_string(bad)
                                  + " invalid refused with an error"
                            : problem);
    }
}

void checkWorkspace(PluginUnderTest& t, nvinfer1::IPluginV3OneBuild* build)
{
    for (ShapeCase const& sc : t.rules.shapeCases)
    {
        if (sc.valid && !sc.buildTimeOnly)
        {
            Descs const d = describe(t, sc);
            size_t const bytes = build->getWorkspaceSize(
                d.in.data(), static_cast<int32_t>(d.in.size()), d.out.data(), static_cast<int32_t>(d.out.size()));
            t.check(bytes == 0, "workspace", "'" + sc.label + "': " + std::to_string(bytes) + " bytes (expected 0)");
            return;
        }
    }
}

// Tactics after configurePlugin with a valid shape set, for FLOAT and for HALF activations: the
// offered kernel versions follow the rules (PluginRules::lastTactic); getValidTactics refuses a
// wrong count and setTactic a value outside 0..lastTactic, each with a logged error.
void checkTactics(PluginUnderTest& t, nvinfer1::IPluginV3* plugin)
{
    nvinfer1::IPluginV3OneBuild* build = buildOf(plugin);
    nvinfer1::IPluginV3OneRuntime* runtime = runtimeOf(plugin);
    auto const shape = std::find_if(t.rules.shapeCases.begin(), t.rules.shapeCases.end(),
        [](ShapeCase const& sc) { return sc.valid && !sc.buildTimeOnly; });
    if (shape == t.rules.shapeCases.end())
    {
        t.check(false, "tactics", "no valid shape case to configure the plugin with");
        return;
    }
    std::string problem;
    std::string offered;
    auto refusedWithError = [&](auto call) {
        int32_t const errorsBefore = t.logger.errorCount();
        return call() != 0 && t.logger.errorCount() > errorsBefore;
    };
    for (DataType activation : {DataType::kFLOAT, DataType::kHALF})
    {
        Descs d = describe(t, *shape);
        std::vector<Accepts> const accepts = t.rules.accepts(static_cast<int32_t>(d.in.size()));
        for (size_t i = 0; i < d.in.size(); ++i)
        {
            if (isActivationLike(accepts[i]))
            {
                d.in[i].desc.type = activation;
            }
        }
        std::vector<DataType> const outTypes = t.rules.outputTypes(activation);
        for (size_t o = 0; o < d.out.size(); ++o)
        {
            d.out[o].desc.type = outTypes[o];
        }
        if (build->configurePlugin(d.in.data(), static_cast<int32_t>(d.in.size()), d.out.data(),
                static_cast<int32_t>(d.out.size()))
            != 0)
        {
            problem = std::string("configurePlugin refused '") + shape->label + "': " + t.logger.lastError();
            break;
        }
        int32_t const n = build->getNbTactics();
        constexpr int32_t kUnwritten = -7;
        std::vector<int32_t> tactics(std::max(n, 0) + 1, kUnwritten); // one past n: must stay unwritten
        if (n < 0 || (n > 0 && build->getValidTactics(tactics.data(), n) != 0) || tactics.back() != kUnwritten)
        {
            problem = "getNbTactics " + std::to_string(n) + ", getValidTactics failed or wrote past n values";
            break;
        }
        tactics.pop_back();
        bool ok = std::is_sorted(tactics.begin(), tactics.end())
            && std::adjacent_find(tactics.begin(), tactics.end()) == tactics.end();
        for (int32_t tactic : tactics)
        {
            ok = ok && tactic >= 1 && tactic <= t.rules.lastTactic;
        }
        std::string const why = t.rules.lastTactic == 0 ? (n == 0 ? "" : "expected none")
                                                        : t.rules.tacticsProblem(outTypes[0], tactics);
        ok = ok && why.empty();
        std::string const list = listOf(tactics);
        std::string const entry = std::string(typeName(outTypes[0])) + " rows: " + list;
        if (offered.find(entry) == std::string::npos) // EmbLayerNorm's rows keep their type
        {
            offered += (offered.empty() ? "" : "; ") + entry;
        }
        if (!ok)
        {
            problem = std::string(typeName(outTypes[0])) + ": " + list + " breaks the rule (last tactic "
                + std::to_string(t.rules.lastTactic) + (why.empty() ? "" : "; " + why) + ")";
            break;
        }
        std::vector<int32_t> larger(n + 1);
        if (n > 0 && !refusedWithError([&] { return build->getValidTactics(larger.data(), n + 1); }))
        {
            problem = "getValidTactics with a wrong count: not refused with an error";
            break;
        }
    }
    char const* const cacheId = build->getTimingCacheID();
    if (problem.empty() && (t.rules.lastTactic > 0) != (cacheId != nullptr && cacheId[0] != '\0'))
    {
        problem = std::string("getTimingCacheID ") + (cacheId ? "'" + std::string(cacheId) + "'" : "nullptr")
            + (t.rules.lastTactic > 0 ? " (should name the plugin's tactics)" : " (no tactics: should be nullptr)");
    }
    if (problem.empty() && cacheId != nullptr && std::string(cacheId).find(t.rules.timingCacheIdPart) == std::string::npos)
    {
        problem = "getTimingCacheID '" + std::string(cacheId) + "' lacks '" + t.rules.timingCacheIdPart + "'";
    }
    for (int32_t tactic = 0; problem.empty() && tactic <= t.rules.lastTactic; ++tactic)
    {
        if (runtime->setTactic(tactic) != 0)
        {
            problem = "setTactic(" + std::to_string(tactic) + ") refused";
        }
    }
    for (int32_t bad : {-1, t.rules.lastTactic + 1})
    {
        if (problem.empty() && !refusedWithError([&] { return runtime->setTactic(bad); }))
        {
            problem = "setTactic(" + std::to_string(bad) + "): not refused with an error";
        }
    }
    runtime->setTactic(0);
    t.check(problem.empty(), "tactics",
        problem.empty() ? offered + (cacheId ? std::string(", timing cache id '") + cacheId + "'" : "") : problem);
}

// ---- Serialization, clone, attach -------------------------------------------------------------------
void checkSerialization(PluginUnderTest& t, IPluginV3* buildPlugin)
{
    // getFieldsToSerialize -> createPlugin(kRUNTIME): what an engine stores and deserializes.
    nvinfer1::PluginFieldCollection const* stored = runtimeOf(buildPlugin)->getFieldsToSerialize();
    std::string problem = compareFields(stored, t.file.fields);
    t.check(problem.empty(), "serialize-fields", problem.empty() ? "the creation fields, unchanged" : problem);
    std::vector<FieldValue> const copied = copyFields(stored);
    FieldCollection const fc(copied);
    int32_t const errorsBefore = t.logger.errorCount();
    PluginPtr runtimePlugin = t.create(fc.get(), TensorRTPhase::kRUNTIME);
    bool const created = runtimePlugin != nullptr && t.logger.errorCount() == errorsBefore;
    t.check(created, "deserialize",
        created ? "createPlugin(kRUNTIME) from the serialized fields" : "createPlugin(kRUNTIME) failed");
    if (!created)
    {
        return;
    }
    checkCapabilities(t, runtimePlugin.get(), "runtime", false);
    if (runtimeOf(runtimePlugin.get()) == nullptr)
    {
        return;
    }
    problem = compareFields(runtimeOf(runtimePlugin.get())->getFieldsToSerialize(), t.file.fields);
    t.check(problem.empty(), "serialize-roundtrip",
        problem.empty() ? "the deserialized plugin serializes the same fields" : problem);

    // attachToContext: a new plugin object per execution context.
    ResourceContext context;
    PluginPtr attached(runtimeOf(runtimePlugin.get())->attachToContext(&context));
    if (attached.get() == runtimePlugin.get())
    {
        attached.release(); // not a new plugin: only `runtimePlugin` owns it
    }
    bool ok = attached != nullptr && runtimeOf(attached.get()) != nullptr;
    problem = ok ? compareFields(runtimeOf(attached.get())->getFieldsToSerialize(), t.file.fields) : "no new plugin";
    t.check(problem.empty(), "attachToContext", problem.empty() ? "a new plugin with the same fields" : problem);
}

void checkClone(PluginUnderTest& t, PluginPtr original)
{
    PluginPtr clone(original->clone());
    bool const distinct = clone != nullptr && clone.get() != original.get();
    if (clone.get() == original.get())
    {
        clone.release(); // not a copy: only `original` owns it
    }
    // The original goes first: nothing of the clone may point into it.
    original.reset();
    std::string problem = "clone() returned nullptr or the same object";
    if (distinct)
    {
        problem = buildOf(clone.get()) == nullptr || runtimeOf(clone.get()) == nullptr
                      ? "the clone lacks a capability interface"
                      : compareFields(runtimeOf(clone.get())->getFieldsToSerialize(), t.file.fields);
    }
    if (problem.empty() && buildOf(clone.get())->getNbOutputs() != t.rules.nbOutputs)
    {
        problem = "the clone has another number of outputs";
    }
    t.check(problem.empty(), "clone", problem.empty() ? "an independent copy with the same fields" : problem);
}

// ---- Bad fields ---------------------------------------------------------------------------------------
// Each broken collection must give nullptr and a logged error, and must not crash.
void checkBadFields(PluginUnderTest& t)
{
    struct Broken
    {
        std::string label;
        std::vector<nvinfer1::PluginField> fields;
        bool nullCollection{false};
    };
    std::vector<FieldValue> const& good = t.file.fields;
    FieldCollection const goodCollection(good);
    std::vector<nvinfer1::PluginField> const base(
        goodCollection.get()->fields, goodCollection.get()->fields + good.size());
    static int32_t const twoInts[2] = {1, 1};
    std::vector<FieldValue> badValues; // storage for the bad values, reserved so pointers stay valid
    badValues.reserve(t.rules.badValues.size());

    std::vector<Broken> cases;
    cases.push_back({"no collection", {}, true});
    for (size_t k = 0; k < base.size(); ++k)
    {
        std::string const name = good[k].name;
        Broken missing{"missing " + name, base};
        missing.fields.erase(missing.fields.begin() + static_cast<std::ptrdiff_t>(k));
        cases.push_back(missing);

        Broken wrongType{"wrong type for " + name, base};
        wrongType.fields[k].type
            = good[k].type == PluginFieldType::kINT32 ? PluginFieldType::kFLOAT32 : PluginFieldType::kINT32;
        cases.push_back(wrongType);

        Broken float16{name + " as FLOAT16", base};
        float16.fields[k].type = PluginFieldType::kFLOAT16;
        cases.push_back(float16);

        Broken empty{name + " with length 0", base};
        empty.fields[k].length = 0;
        cases.push_back(empty);

        Broken two{name + " with length 2", base};
        two.fields[k].length = 2;
        two.fields[k].data = twoInts;
        cases.push_back(two);

        Broken noData{name + " without data", base};
        noData.fields[k].data = nullptr;
        cases.push_back(noData);

        Broken twice{name + " given twice", base};
        twice.fields.push_back(base[k]);
        cases.push_back(twice);
    }
    Broken unknown{"unknown field", base};
    static int32_t const one = 1;
    unknown.fields.emplace_back("not_a_field", &one, PluginFieldType::kINT32, 1);
    cases.push_back(unknown);
    for (BadValue const& bv : t.rules.badValues)
    {
        for (size_t k = 0; k < good.size(); ++k)
        {
            if (good[k].name == bv.field)
            {
                FieldValue v = good[k];
                v.f = static_cast<float>(bv.value);
                v.i = static_cast<int32_t>(bv.value);
                badValues.push_back(v);
                std::ostringstream label;
                label << bv.field << " = " << bv.value;
                Broken broken{label.str(), base};
                broken.fields[k].data = v.type == PluginFieldType::kFLOAT32
                                            ? static_cast<void const*>(&badValues.back().f)
                                            : &badValues.back().i;
                cases.push_back(broken);
            }
        }
    }

    std::string problem;
    for (Broken const& b : cases)
    {
        nvinfer1::PluginFieldCollection const fc{static_cast<int32_t>(b.fields.size()), b.fields.data()};
        for (TensorRTPhase phase : {TensorRTPhase::kBUILD, TensorRTPhase::kRUNTIME})
        {
            int32_t const errorsBefore = t.logger.errorCount(); // each phase must log its own error
            PluginPtr plugin = t.create(b.nullCollection ? nullptr : &fc, phase);
            if ((plugin != nullptr || t.logger.errorCount() == errorsBefore) && problem.empty())
            {
                problem = "'" + b.label + "': " + (plugin ? "a plugin was created" : "nullptr but nothing logged");
            }
        }
    }
    t.check(problem.empty(), "bad-fields",
        problem.empty()
            ? std::to_string(cases.size()) + " broken field sets refused with an error (build and runtime phase)"
            : problem);
}

void checkPlugin(FieldsFile const& file, Creators const& creators, RecordingLogger& logger, Report& report)
{
    std::string const caseName = std::filesystem::path(file.path).stem().string();
    auto const found = creators.find(file.plugin);
    if (found == creators.end())
    {
        report.check(false, file.plugin, "creator", caseName, "getCreators() has no creator for this plugin");
        return;
    }
    PluginUnderTest t{file, rulesFor(file), found->second, logger, report, caseName};
    checkFieldNames(t);

    FieldCollection const fc(file.fields);
    int32_t const errorsBefore = logger.errorCount();
    PluginPtr plugin = t.create(fc.get(), TensorRTPhase::kBUILD);
    bool const created = plugin != nullptr && logger.errorCount() == errorsBefore;
    t.check(created, "create",
        created ? "createPlugin(kBUILD) with the fields file" : "createPlugin(kBUILD) failed: " + logger.lastError());
    if (!created)
    {
        return;
    }
    checkIdentity(t, plugin.get());
    checkCapabilities(t, plugin.get(), "build", true);
    nvinfer1::IPluginV3OneBuild* build = buildOf(plugin.get());
    if (build == nullptr || runtimeOf(plugin.get()) == nullptr)
    {
        return;
    }
    t.check(build->getNbOutputs() == t.rules.nbOutputs, "nb-outputs",
        std::to_string(build->getNbOutputs()) + " (expected " + std::to_string(t.rules.nbOutputs) + ")");
    checkOutputTypes(t, build);
    checkOutputShapes(t, build);
    checkFormatCombinations(t, build);
    checkShapeValidation(t, plugin.get());
    checkWorkspace(t, build);
    checkTactics(t, plugin.get());
    checkSerialization(t, plugin.get());
    checkClone(t, std::move(plugin));
    checkBadFields(t);
}

// ---- Library --------------------------------------------------------------------------------------------
using SetLoggerFinderFn = void (*)(nvinfer1::ILoggerFinder*);
using GetCreatorsFn = nvinfer1::IPluginCreatorInterface* const* (*)(int32_t&);

Creators loadCreators(std::string const& libraryPath, LoggerFinder& finder, Report& report)
{
    void* library = dlopen(libraryPath.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr)
    {
        report.check(false, "library", "dlopen", "-", dlerror());
        return {};
    }
    auto setLoggerFinder = reinterpret_cast<SetLoggerFinderFn>(dlsym(library, "setLoggerFinder"));
    auto getCreators = reinterpret_cast<GetCreatorsFn>(dlsym(library, "getCreators"));
    report.check(setLoggerFinder && getCreators, "library", "exports", "-",
        "setLoggerFinder " + std::string(setLoggerFinder ? "found" : "MISSING") + ", getCreators "
            + (getCreators ? "found" : "MISSING"));
    if (!setLoggerFinder || !getCreators)
    {
        return {};
    }
    setLoggerFinder(&finder);
    int32_t count = -1;
    nvinfer1::IPluginCreatorInterface* const* list = getCreators(count);
    Creators creators;
    std::string problem = list == nullptr || count <= 0 ? "getCreators() returned no creators" : "";
    for (int32_t i = 0; problem.empty() && i < count; ++i)
    {
        nvinfer1::InterfaceInfo const info
            = list[i] != nullptr ? list[i]->getInterfaceInfo() : nvinfer1::InterfaceInfo{};
        if (info.kind == nullptr || std::strcmp(info.kind, "PLUGIN CREATOR_V3ONE") != 0 || info.major != 1)
        {
            problem = "creator " + std::to_string(i) + " is not an IPluginCreatorV3One";
            break;
        }
        auto* creator = static_cast<nvinfer1::IPluginCreatorV3One*>(list[i]);
        if (!creators.emplace(creator->getPluginName(), creator).second)
        {
            problem = std::string("two creators named ") + creator->getPluginName();
        }
    }
    report.check(problem.empty(), "library", "getCreators", "-",
        problem.empty() ? std::to_string(count) + " IPluginCreatorV3One creators" : problem);
    return creators;
}

int run(int argc, char** argv)
{
    std::vector<std::string> args(argv + 1, argv + argc);
    RecordingLogger logger;
    logger.verbose = std::find(args.begin(), args.end(), "--verbose") != args.end();
    args.erase(std::remove(args.begin(), args.end(), "--verbose"), args.end());
    bool const enqueue = args.size() == 3 && args[1] == "--enqueue";
    if (args.size() != 2 && !enqueue)
    {
        std::fprintf(stderr, "usage: bert_plugin_harness <libbert_plugins.so> <fields-dir> [--verbose]\n"
                             "       bert_plugin_harness <libbert_plugins.so> --enqueue <cases-dir> [--verbose]\n");
        return 2;
    }
    Report report;
    LoggerFinder finder(logger);
    Creators const creators = loadCreators(args[0], finder, report);
    if (enqueue)
    {
        // The library is loaded already: RTLD_NOLOAD hands back its handle.
        void* library = dlopen(args[0].c_str(), RTLD_NOW | RTLD_NOLOAD);
        auto lastVersion = reinterpret_cast<LastVersionFn>(
            library != nullptr ? dlsym(library, "bertLastLaunchedVersion") : nullptr);
        report.check(lastVersion != nullptr, "library", "exports-kernels", "-",
            std::string("bertLastLaunchedVersion ") + (lastVersion ? "found" : "MISSING"));
        if (lastVersion != nullptr)
        {
            runEnqueueCases(args[2], creators, lastVersion, logger, report);
        }
    }
    else
    {
        std::vector<std::string> paths;
        for (auto const& entry : std::filesystem::directory_iterator(args[1]))
        {
            if (entry.path().extension() == ".fields")
            {
                paths.push_back(entry.path().string());
            }
        }
        std::sort(paths.begin(), paths.end());
        std::set<std::string> pluginsInFiles;
        for (std::string const& path : paths)
        {
            FieldsFile const file = readFieldsFile(path);
            pluginsInFiles.insert(file.plugin);
            checkPlugin(file, creators, logger, report);
        }
        std::set<std::string> pluginsInLibrary;
        for (auto const& entry : creators)
        {
            pluginsInLibrary.insert(entry.first);
        }
        report.check(!paths.empty() && pluginsInFiles == pluginsInLibrary, "library", "coverage", "-",
            std::to_string(pluginsInLibrary.size()) + " creators, " + std::to_string(pluginsInFiles.size())
                + " plugins in " + std::to_string(paths.size()) + " fields files (must be the same plugins)");
    }
    std::printf("SUMMARY passed=%d failed=%d\n", report.passed(), report.failed());
    return report.failed() == 0 && report.passed() > 0 ? 0 : 1;
}
} // namespace
} // namespace harness

int main(int argc, char** argv)
{
    try
    {
        return harness::run(argc, argv);
    }
    catch (std::exception const& e)
    {
        std::printf("FAIL harness error -: %s\n", e.what());
        return 1;
    }
}
