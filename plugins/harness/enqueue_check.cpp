// --enqueue: each case of <dir>/manifest.txt goes the way a TensorRT engine takes a plugin:
//   createPlugin(kBUILD) -> configurePlugin -> getOutputDataTypes/getOutputShapes (checked against
//   the manifest) -> the tactics offered, timed as the builder times them -> getFieldsToSerialize
//   -> for tactic 0 and every offered one: createPlugin(kRUNTIME) -> setTactic -> attachToContext
//   -> onShapeChange -> enqueue on real device buffers -> compare with the expected outputs that
//   plugins/harness/make_cases.py computed independently with PyTorch.
//
// manifest.txt (written by make_cases.py):
//   case <label> <fields file, relative to dir>
//   input  f32|f16|i32|i8 <file> <dims...> [scale <s>]   raw little-endian values of that type;
//                                               an i8 tensor's per-tensor scale (PluginTensorDesc::scale)
//   output f32|f16|i32|i8 <file> <dims...> [scale <s>]   expected values: i32 for i32, else f32
//                                               (for i8 the unrounded quotient y / scale, clamped)
//   end
#include "harness.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace harness
{
using nvinfer1::DataType;
using nvinfer1::Dims;

namespace
{
// |got - expected| <= atol + rtol * |expected|, per output type. fp16 outputs are compared with
// an fp32 reference: their tolerance covers fp16 rounding of the result and of intermediates.
struct Tolerance
{
    double atol, rtol;
};
Tolerance toleranceFor(DataType type)
{
    // INT8 against the unrounded quotient: the nearest integer (either one within 1e-3 of a tie,
    // where fp32 and float64 may round differently).
    return type == DataType::kHALF ? Tolerance{1e-2, 1e-2}
        : type == DataType::kINT8  ? Tolerance{0.5 + 1e-3, 0.0}
                                   : Tolerance{1e-4, 1e-4};
}

struct TensorFile
{
    DataType type;
    std::string path;
    Dims dims;
    float scale{-1.F}; // INT8 only: what TensorRT passes in PluginTensorDesc::scale (-1: none)

    int64_t count() const
    {
        int64_t n = 1;
        for (int32_t i = 0; i < dims.nbDims; ++i)
        {
            n *= dims.d[i];
        }
        return n;
    }
    size_t bytes() const
    {
        return static_cast<size_t>(count()) * (type == DataType::kHALF ? 2 : type == DataType::kINT8 ? 1 : 4);
    }
};

struct EnqueueCase
{
    std::string label, fieldsPath;
    std::vector<TensorFile> inputs, outputs;
    // Tactics that refuse this shape (manifest "gives-way 6 7"): pinned, they must give way to the
    // default (PluginBase::launchTactic), which runs an offered version instead.
    std::vector<int32_t> givesWay;
};

DataType parseType(std::string const& word)
{
    if (word == "f32")
    {
        return DataType::kFLOAT;
    }
    if (word == "f16")
    {
        return DataType::kHALF;
    }
    if (word == "i32")
    {
        return DataType::kINT32;
    }
    if (word == "i8")
    {
        return DataType::kINT8;
    }
    throw std::runtime_error("manifest: unknown type " + word);
}

std::vector<EnqueueCase> readManifest(std::string const& dir)
{
    std::ifstream in(dir + "/manifest.txt");
    if (!in)
    {
        throw std::runtime_error("cannot read " + dir + "/manifest.txt");
    }
    std::vector<EnqueueCase> cases;
    std::string line;
    while (std::getline(in, line))
    {
        std::istringstream words(line);
        std::string tag;
        words >> tag;
        if (tag == "case")
        {
            cases.emplace_back();
            words >> cases.back().label >> cases.back().fieldsPath;
            cases.back().fieldsPath = dir + "/" + cases.back().fieldsPath;
        }
        else if (tag == "input" || tag == "output")
        {
            if (cases.empty())
            {
                throw std::runtime_error("manifest: '" + tag + "' before 'case'");
            }
            std::string type, file;
            words >> type >> file;
            std::vector<int64_t> shape;
            float scale = -1.F;
            for (std::string word; words >> word;)
            {
                if (word == "scale")
                {
                    words >> scale;
                }
                else
                {
                    shape.push_back(std::stoll(word));
                }
            }
            TensorFile t{parseType(type), dir + "/" + file, dims(shape), scale};
            (tag == "input" ? cases.back().inputs : cases.back().outputs).push_back(t);
        }
        else if (tag == "gives-way" && !cases.empty())
        {
            for (int32_t tactic; words >> tactic;)
            {
                cases.back().givesWay.push_back(tactic);
            }
        }
        else if (!tag.empty() && tag != "end")
        {
            throw std::runtime_error("manifest: unexpected line '" + line + "'");
        }
    }
    return cases;
}

std::vector<char> readBytes(std::string const& path, size_t bytes)
{
    std::ifstream in(path, std::ios::binary);
    std::vector<char> data(bytes);
    if (!in || !in.read(data.data(), static_cast<std::streamsize>(bytes)) || in.peek() != EOF)
    {
        throw std::runtime_error(path + " does not hold exactly " + std::to_string(bytes) + " bytes");
    }
    return data;
}

float halfToFloat(uint16_t h)
{
    int const exponent = (h >> 10) & 0x1F;
    int const mantissa = h & 0x3FF;
    float const sign = (h & 0x8000) != 0 ? -1.F : 1.F;
    if (exponent == 0x1F)
    {
        return mantissa != 0 ? NAN : sign * INFINITY;
    }
    if (exponent == 0) // subnormal
    {
        return sign * std::ldexp(static_cast<float>(mantissa), -24);
    }
    return sign * std::ldexp(static_cast<float>(mantissa + 1024), exponent - 25);
}

// Device memory freed on scope exit; cudaMalloc(0) gives nullptr, which is what an empty tensor has.
class DeviceBuffer
{
public:
    explicit DeviceBuffer(size_t bytes)
    {
        check(cudaMalloc(&mPtr, bytes), "cudaMalloc");
    }
    ~DeviceBuffer()
    {
        cudaFree(mPtr);
    }
    DeviceBuffer(DeviceBuffer const&) = delete;
    DeviceBuffer& operator=(DeviceBuffer const&) = delete;
    void* get() const
    {
        return mPtr;
    }
    static void check(cudaError_t status, char const* what)
    {
        if (status != cudaSuccess)
        {
            throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
        }
    }

private:
    void* mPtr{nullptr};
};

// Compares one output with its expected file; empty when it matches.
std::string compareOutput(TensorFile const& expected, std::vector<char> const& got, double& maxError)
{
    int64_t const n = expected.count();
    std::vector<char> const want = readBytes(expected.path, static_cast<size_t>(n) * 4);
    Tolerance const tol = toleranceFor(expected.type);
    int64_t bad = 0;
    std::string firstBad;
    for (int64_t i = 0; i < n; ++i)
    {
        double g, e;
        if (expected.type == DataType::kINT32)
        {
            int32_t gi, ei;
            std::memcpy(&gi, got.data() + i * 4, 4);
            std::memcpy(&ei, want.data() + i * 4, 4);
            g = gi;
            e = ei;
        }
        else if (expected.type == DataType::kINT8)
        {
            float ef;
            std::memcpy(&ef, want.data() + i * 4, 4);
            e = ef;
            g = static_cast<int8_t>(got[i]);
        }
        else
        {
            float ef;
            std::memcpy(&ef, want.data() + i * 4, 4);
            e = ef;
            if (expected.type == DataType::kHALF)
            {
                uint16_t h;
                std::memcpy(&h, got.data() + i * 2, 2);
                g = halfToFloat(h);
            }
            else
            {
                float gf;
                std::memcpy(&gf, got.data() + i * 4, 4);
                g = gf;
            }
        }
        // A NaN is expected where the reference has one (e.g. an out-of-table id), nowhere else.
        bool ok;
        if (std::isnan(e))
        {
            ok = std::isnan(g);
        }
        else
        {
            double const error = std::fabs(g - e);
            ok = std::isfinite(g) && error <= tol.atol + tol.rtol * std::fabs(e);
            maxError = std::isfinite(g) ? std::max(maxError, error) : INFINITY;
        }
        if (!ok && bad++ == 0)
        {
            std::ostringstream text;
            text << "first at element " << i << ": got " << g << ", expected " << e;
            firstBad = text.str();
        }
    }
    if (bad == 0)
    {
        return {};
    }
    std::ostringstream text;
    text << bad << " of " << n << " elements outside atol " << tol.atol << " + rtol " << tol.rtol << "; " << firstBad;
    return text.str();
}

// A CUDA stream or event owned for a scope: created (or thrown for) on construction, destroyed
// on every way out.
template <typename Handle, cudaError_t (*kCreate)(Handle*), cudaError_t (*kDestroy)(Handle)>
class Owned
{
public:
    explicit Owned(char const* what)
    {
        DeviceBuffer::check(kCreate(&mHandle), what);
    }
    ~Owned()
    {
        kDestroy(mHandle);
    }
    Owned(Owned const&) = delete;
    Owned& operator=(Owned const&) = delete;
    Handle get() const
    {
        return mHandle;
    }

private:
    Handle mHandle{nullptr};
};
using Stream = Owned<cudaStream_t, cudaStreamCreate, cudaStreamDestroy>;
using Event = Owned<cudaEvent_t, cudaEventCreate, cudaEventDestroy>;

// Microseconds per enqueue with `tactic` set: the median of 5 runs of 20 enqueues (CUDA events),
// after 3 to warm up; -1 if setTactic, an enqueue or a CUDA call fails.
float tacticMicroseconds(nvinfer1::IPluginV3OneRuntime& plugin, int32_t tactic,
    std::vector<nvinfer1::PluginTensorDesc> const& in, std::vector<nvinfer1::PluginTensorDesc> const& out,
    std::vector<void const*> const& inputs, std::vector<void*> const& outputs, void* workspace, cudaStream_t stream)
{
    constexpr int32_t kWarmUp = 3, kCalls = 20, kRuns = 5;
    if (plugin.setTactic(tactic) != 0)
    {
        return -1.F;
    }
    Event const start("cudaEventCreate"), stop("cudaEventCreate");
    std::vector<float> runs;
    bool ok = true;
    for (int32_t i = 0; ok && i < kWarmUp; ++i)
    {
        ok = plugin.enqueue(in.data(), out.data(), inputs.data(), outputs.data(), workspace, stream) == 0;
    }
    for (int32_t r = 0; ok && r < kRuns; ++r)
    {
        ok = cudaEventRecord(start.get(), stream) == cudaSuccess;
        for (int32_t i = 0; ok && i < kCalls; ++i)
        {
            ok = plugin.enqueue(in.data(), out.data(), inputs.data(), outputs.data(), workspace, stream) == 0;
        }
        float ms = 0.F;
        ok = ok && cudaEventRecord(stop.get(), stream) == cudaSuccess && cudaEventSynchronize(stop.get()) == cudaSuccess
            && cudaEventElapsedTime(&ms, start.get(), stop.get()) == cudaSuccess;
        runs.push_back(ms * 1000.F / kCalls);
    }
    ok = cudaStreamSynchronize(stream) == cudaSuccess && ok;
    if (!ok)
    {
        return -1.F;
    }
    std::sort(runs.begin(), runs.end());
    return runs[runs.size() / 2];
}

void runCase(EnqueueCase const& c, Creators const& creators, LastVersionFn lastVersion, RecordingLogger& logger,
    Report& report)
{
    FieldsFile const file = readFieldsFile(c.fieldsPath);
    auto check = [&](bool ok, std::string const& name, std::string const& detail) {
        report.check(ok, file.plugin, name, c.label, detail);
        return ok;
    };
    auto const found = creators.find(file.plugin);
    if (!check(found != creators.end(), "enqueue-setup", "creator found"))
    {
        return;
    }
    nvinfer1::IPluginCreatorV3One* creator = found->second;
    int32_t const nbInputs = static_cast<int32_t>(c.inputs.size());
    int32_t const nbOutputs = static_cast<int32_t>(c.outputs.size());

    // Build phase.
    FieldCollection const fc(file.fields);
    PluginPtr buildPlugin(creator->createPlugin(c.label.c_str(), fc.get(), nvinfer1::TensorRTPhase::kBUILD));
    nvinfer1::IPluginV3OneBuild* build = buildOf(buildPlugin.get());
    if (!check(build != nullptr && build->getNbOutputs() == nbOutputs, "enqueue-setup",
            "build plugin with " + std::to_string(nbOutputs) + " outputs"))
    {
        return;
    }
    std::vector<nvinfer1::DynamicPluginTensorDesc> in(nbInputs), out(nbOutputs);
    std::vector<nvinfer1::PluginTensorDesc> inDesc(nbInputs), outDesc(nbOutputs);
    std::vector<DataType> inputTypes;
    for (int32_t i = 0; i < nbInputs; ++i)
    {
        inDesc[i] = {c.inputs[i].dims, c.inputs[i].type, nvinfer1::TensorFormat::kLINEAR, c.inputs[i].scale};
        in[i] = {inDesc[i], c.inputs[i].dims, c.inputs[i].dims, c.inputs[i].dims};
        inputTypes.push_back(c.inputs[i].type);
    }
    for (int32_t o = 0; o < nbOutputs; ++o)
    {
        outDesc[o] = {c.outputs[o].dims, c.outputs[o].type, nvinfer1::TensorFormat::kLINEAR, c.outputs[o].scale};
        out[o] = {outDesc[o], c.outputs[o].dims, c.outputs[o].dims, c.outputs[o].dims};
    }
    std::vector<DataType> outputTypes(nbOutputs);
    bool typesOk = build->getOutputDataTypes(outputTypes.data(), nbOutputs, inputTypes.data(), nbInputs) == 0;
    for (int32_t o = 0; o < nbOutputs; ++o)
    {
        typesOk = typesOk && outputTypes[o] == c.outputs[o].type;
    }
    ExprBuilder exprs;
    std::vector<nvinfer1::DimsExprs> inExprs(nbInputs), outExprs(nbOutputs);
    for (int32_t i = 0; i < nbInputs; ++i)
    {
        inExprs[i].nbDims = c.inputs[i].dims.nbDims;
        for (int32_t j = 0; j < inExprs[i].nbDims; ++j)
        {
            inExprs[i].d[j] = exprs.literal(c.inputs[i].dims.d[j]);
        }
    }
    bool shapesOk
        = build->getOutputShapes(inExprs.data(), nbInputs, nullptr, 0, outExprs.data(), nbOutputs, exprs) == 0;
    for (int32_t o = 0; shapesOk && o < nbOutputs; ++o)
    {
        shapesOk = outExprs[o].nbDims == c.outputs[o].dims.nbDims;
        for (int32_t j = 0; shapesOk && j < outExprs[o].nbDims; ++j)
        {
            shapesOk = exprs.evaluate(outExprs[o].d[j], {}) == c.outputs[o].dims.d[j];
        }
    }
    int32_t const configured = build->configurePlugin(in.data(), nbInputs, out.data(), nbOutputs);
    size_t const workspaceBytes = build->getWorkspaceSize(in.data(), nbInputs, out.data(), nbOutputs);
    if (!check(typesOk && shapesOk && configured == 0, "enqueue-setup",
            "output types " + std::string(typesOk ? "match" : "DIFFER") + ", shapes " + (shapesOk ? "match" : "DIFFER")
                + ", configurePlugin " + std::to_string(configured)
                + (configured != 0 ? ": " + logger.lastError() : "")))
    {
        return;
    }

    // The builder's tactics: every one offered runs below, as the one an engine would store.
    int32_t const nbTactics = build->getNbTactics();
    std::vector<int32_t> tactics{0};
    tactics.resize(1 + std::max(nbTactics, 0));
    bool const tacticsOk
        = nbTactics >= 0 && (nbTactics == 0 || build->getValidTactics(tactics.data() + 1, nbTactics) == 0);
    std::vector<int32_t> const offered(tactics.begin() + 1, tactics.end());
    if (!check(tacticsOk, "enqueue-setup",
            "tactics offered: " + std::to_string(nbTactics) + " " + (tacticsOk ? listOf(offered) : "{}")))
    {
        return;
    }
    for (int32_t tactic : c.givesWay) // a case that tests the fallback must have the tactic to pin
    {
        if (!check(contains(offered, tactic), "enqueue-setup", "gives-way tactic " + std::to_string(tactic) + " offered"))
        {
            return;
        }
    }

    // Device buffers: inputs from their files; outputs are filled with 0xFF bytes (NaN / -1)
    // before every run, so that anything enqueue() fails to write shows up.
    std::vector<std::unique_ptr<DeviceBuffer>> buffers;
    std::vector<void const*> inputPtrs;
    std::vector<void*> outputPtrs;
    for (TensorFile const& t : c.inputs)
    {
        std::vector<char> const host = readBytes(t.path, t.bytes());
        buffers.push_back(std::make_unique<DeviceBuffer>(t.bytes()));
        DeviceBuffer::check(
            cudaMemcpy(buffers.back()->get(), host.data(), t.bytes(), cudaMemcpyHostToDevice), "cudaMemcpy");
        inputPtrs.push_back(buffers.back()->get());
    }
    for (TensorFile const& t : c.outputs)
    {
        buffers.push_back(std::make_unique<DeviceBuffer>(t.bytes()));
        outputPtrs.push_back(buffers.back()->get());
    }
    DeviceBuffer workspace(workspaceBytes);
    Stream stream("cudaStreamCreate");

    // What the builder does with the offered tactics: time each on the build plugin (onShapeChange
    // with the shapes timed, setTactic, then enqueue), keep the fastest. Reported, not checked:
    // which one wins is the GPU's say.
    if (tactics.size() > 1)
    {
        nvinfer1::IPluginV3OneRuntime* timed = runtimeOf(buildPlugin.get());
        if (!check(timed != nullptr && timed->onShapeChange(inDesc.data(), nbInputs, outDesc.data(), nbOutputs) == 0,
                "enqueue-setup", "build plugin's onShapeChange took the shapes, for timing the tactics"))
        {
            return;
        }
        std::ostringstream timings;
        int32_t fastest = -1;
        float fastestUs = 0.F;
        for (int32_t tactic : tactics)
        {
            float const us = tacticMicroseconds(
                *timed, tactic, inDesc, outDesc, inputPtrs, outputPtrs, workspace.get(), stream.get());
            if (us < 0.F)
            {
                check(false, "tactic-timing", "tactic " + std::to_string(tactic) + " failed: " + logger.lastError());
                return;
            }
            timings << (tactic == tactics.front() ? "" : " ") << tactic << ":" << us;
            if (fastest < 0 || us < fastestUs)
            {
                fastest = tactic, fastestUs = us;
            }
        }
        check(true, "tactic-timing", "the builder's pick: tactic " + std::to_string(fastest) + " (us per enqueue, "
                + timings.str() + ")");
    }

    // Engine: serialized fields -> runtime plugin (given the stored tactic) -> one per execution
    // context, for every tactic the engine could have stored.
    std::vector<FieldValue> const stored = copyFields(runtimeOf(buildPlugin.get())->getFieldsToSerialize());
    FieldCollection const storedFc(stored);
    for (int32_t tactic : tactics)
    {
        std::string const with = tactics.size() > 1 ? " (tactic " + std::to_string(tactic) + ")" : "";
        PluginPtr runtimePlugin(
            creator->createPlugin(c.label.c_str(), storedFc.get(), nvinfer1::TensorRTPhase::kRUNTIME));
        if (!check(runtimePlugin != nullptr && runtimeOf(runtimePlugin.get())->setTactic(tactic) == 0,
                "enqueue-setup", "deserialized, setTactic(" + std::to_string(tactic) + ")"))
        {
            return;
        }
        ResourceContext context;
        PluginPtr attached(runtimeOf(runtimePlugin.get())->attachToContext(&context));
        if (attached != nullptr && attached.get() == runtimePlugin.get())
        {
            attached.release(); // not a new plugin (refused below): only `runtimePlugin` owns it
        }
        runtimePlugin.reset(); // the attached copy must stand on its own (enqueue-tactic checks its tactic)
        nvinfer1::IPluginV3OneRuntime* runtime = runtimeOf(attached.get());
        if (!check(runtime != nullptr
                    && runtime->onShapeChange(inDesc.data(), nbInputs, outDesc.data(), nbOutputs) == 0,
                "enqueue-setup", "attached" + with + ", onShapeChange accepted the shapes"))
        {
            return;
        }
        for (size_t o = 0; o < c.outputs.size(); ++o)
        {
            DeviceBuffer::check(cudaMemset(outputPtrs[o], 0xFF, c.outputs[o].bytes()), "cudaMemset");
        }
        lastVersion(); // forget what ran before
        int32_t const status = runtime->enqueue(
            inDesc.data(), outDesc.data(), inputPtrs.data(), outputPtrs.data(), workspace.get(), stream.get());
        cudaError_t const synced = cudaStreamSynchronize(stream.get());
        if (!check(status == 0 && synced == cudaSuccess, "enqueue",
                "status " + std::to_string(status) + with + ", stream " + cudaGetErrorString(synced)
                    + (status != 0 ? ": " + logger.lastError() : "")))
        {
            return;
        }
        // Outputs agree between kernel versions, so only the library's record shows that the
        // attached copy ran the tactic the engine stored: that version itself, or for tactic 0 the
        // default's pick, one of the offered versions; nothing where the output is empty.
        if (tactics.size() > 1)
        {
            int const ran = lastVersion();
            bool const launches = c.outputs[0].count() > 0;
            bool const offeredRan = contains(offered, ran);
            bool const givesWay = contains(c.givesWay, tactic);
            bool const ok = !launches ? ran == 0
                : givesWay            ? ran != tactic && offeredRan
                : tactic != 0         ? ran == tactic
                                      : offeredRan;
            check(ok, "enqueue-tactic",
                "tactic " + std::to_string(tactic) + ": " + (ran == 0 ? "no kernel" : "version " + std::to_string(ran))
                    + " ran" + (launches ? "" : " (empty output)") + (givesWay ? " (the pinned one refuses the shape)" : ""));
        }
        for (int32_t o = 0; o < nbOutputs; ++o)
        {
            TensorFile const& t = c.outputs[o];
            std::vector<char> host(t.bytes());
            DeviceBuffer::check(
                cudaMemcpy(host.data(), outputPtrs[o], t.bytes(), cudaMemcpyDeviceToHost), "cudaMemcpy");
            double maxError = 0.0;
            std::string const problem = compareOutput(t, host, maxError);
            std::ostringstream detail;
            detail << "output " << o << " " << typeName(t.type) << " " << toString(t.dims) << with << ": ";
            if (problem.empty())
            {
                detail << "max |error| " << maxError;
            }
            else
            {
                detail << problem;
            }
            check(problem.empty(), "enqueue-output", detail.str());
        }
    }
}
} // namespace

void runEnqueueCases(std::string const& dir, Creators const& creators, LastVersionFn lastVersion,
    RecordingLogger& logger, Report& report)
{
    int deviceCount = 0;
    if (cudaGetDeviceCount(&deviceCount) != cudaSuccess || deviceCount == 0)
    {
        report.check(false, "library", "enqueue", "-", "no CUDA device");
        return;
    }
    cudaDeviceProp properties{};
    cudaGetDeviceProperties(&properties, 0);
    std::printf("# GPU: %s\n", properties.name);
    for (EnqueueCase const& c : readManifest(dir))
    {
        try
        {
            runCase(c, creators, lastVersion, logger, report);
        }
        catch (std::exception const& e)
        {
            report.check(false, "case", "enqueue", c.label, e.what());
        }
    }
}

} // namespace harness
