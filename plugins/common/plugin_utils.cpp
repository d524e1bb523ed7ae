#include "common/plugin_utils.h"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace bert
{
namespace
{
std::atomic<nvinfer1::ILoggerFinder*> gLoggerFinder{nullptr};

void logErrorText(char const* message) noexcept
{
    nvinfer1::ILoggerFinder* finder = gLoggerFinder.load();
    nvinfer1::ILogger* logger = finder != nullptr ? finder->findLogger() : nullptr;
    if (logger != nullptr)
    {
        logger->log(nvinfer1::ILogger::Severity::kERROR, message);
        return;
    }
    std::fprintf(stderr, "[bert_trt] ERROR: %s\n", message);
}

char const* typeName(nvinfer1::PluginFieldType type)
{
    switch (type)
    {
    case nvinfer1::PluginFieldType::kFLOAT16: return "FLOAT16";
    case nvinfer1::PluginFieldType::kFLOAT32: return "FLOAT32";
    case nvinfer1::PluginFieldType::kFLOAT64: return "FLOAT64";
    case nvinfer1::PluginFieldType::kINT32: return "INT32";
    case nvinfer1::PluginFieldType::kINT64: return "INT64";
    default: return "another type";
    }
}
} // namespace

void setLoggerFinder(nvinfer1::ILoggerFinder* finder) noexcept
{
    gLoggerFinder.store(finder);
}

void logError(std::string const& message) noexcept
{
    logErrorText(message.c_str());
}

void logError(char const* plugin, char const* message) noexcept
{
    char text[512];
    std::snprintf(text, sizeof(text), "%s: %s", plugin, message);
    logErrorText(text);
}

int32_t checkCuda(int status, char const* plugin, char const* what) noexcept
{
    if (status != 0)
    {
        char text[512];
        std::snprintf(text, sizeof(text), "%s: %s failed: %s (cudaError %d)", plugin, what,
            bertKernelErrorString(status), status);
        logErrorText(text);
    }
    return status;
}

bool readFields(char const* plugin, nvinfer1::PluginFieldCollection const* fc, std::vector<FieldRef> const& fields)
{
    std::string const prefix = std::string(plugin) + ": ";
    if (fc == nullptr || (fc->nbFields > 0 && fc->fields == nullptr) || fc->nbFields < 0)
    {
        logError(prefix + "no PluginFieldCollection given");
        return false;
    }
    std::vector<bool> seen(fields.size(), false);
    for (int32_t i = 0; i < fc->nbFields; ++i)
    {
        nvinfer1::PluginField const& given = fc->fields[i];
        std::string const name = given.name != nullptr ? given.name : "";
        size_t k = 0;
        while (k < fields.size() && name != fields[k].name)
        {
            ++k;
        }
        if (k == fields.size())
        {
            logError(prefix + "unknown field '" + name + "'");
            return false;
        }
        if (seen[k])
        {
            logError(prefix + "field '" + name + "' given twice");
            return false;
        }
        seen[k] = true;
        if (given.type != fields[k].type)
        {
            logError(prefix + "field '" + name + "' must be " + typeName(fields[k].type) + ", got "
                     + typeName(given.type) + " (PluginFieldType " + std::to_string(static_cast<int>(given.type))
                     + ")");
            return false;
        }
        if (given.length != 1 || given.data == nullptr)
        {
            logError(prefix + "field '" + name + "' must hold exactly one value, got length "
                     + std::to_string(given.length) + (given.data == nullptr ? " and no data" : ""));
            return false;
        }
        // FLOAT32 and INT32 are both 4 bytes; memcpy also avoids assuming the data is aligned.
        std::memcpy(fields[k].value, given.data, 4);
    }
    for (size_t k = 0; k < fields.size(); ++k)
    {
        if (!seen[k])
        {
            logError(prefix + "missing field '" + fields[k].name + "'");
            return false;
        }
    }
    return true;
}

nvinfer1::PluginFieldCollection const* SerializedFields::describe(std::vector<FieldRef> const& fields)
{
    mFields.clear();
    for (FieldRef const& f : fields)
    {
        mFields.emplace_back(f.name, f.value, f.type, 1);
    }
    mCollection.nbFields = static_cast<int32_t>(mFields.size());
    mCollection.fields = mFields.data();
    return &mCollection;
}

std::string NormParams::problem() const
{
    if (!(std::isfinite(epsilon) && epsilon > 0.F))
    {
        return "epsilon must be a positive finite number, got " + formatFloat(epsilon);
    }
    if (hiddenSize <= 0)
    {
        return "hidden_size must be positive, got " + std::to_string(hiddenSize);
    }
    return {};
}

int64_t rowsOf(nvinfer1::Dims const& dims)
{
    int64_t rows = 1;
    for (int32_t i = 0; i + 1 < dims.nbDims; ++i)
    {
        rows *= dims.d[i];
    }
    return rows;
}

int64_t lastDimOf(nvinfer1::Dims const& dims)
{
    return dims.nbDims > 0 ? dims.d[dims.nbDims - 1] : 0;
}

std::string formatFloat(float value)
{
    std::ostringstream out;
    out << value; // 1e-12 stays readable, unlike std::to_string's fixed 6 decimals
    return out.str();
}

std::string toString(nvinfer1::Dims const& dims)
{
    std::ostringstream out;
    out << '[';
    for (int32_t i = 0; i < dims.nbDims; ++i)
    {
        out << (i > 0 ? "," : "");
        if (dims.d[i] < 0)
        {
            out << '?';
        }
        else
        {
            out << dims.d[i];
        }
    }
    out << ']';
    return out.str();
}

bool sameShape(nvinfer1::Dims const& a, nvinfer1::Dims const& b)
{
    if (a.nbDims != b.nbDims)
    {
        return false;
    }
    for (int32_t i = 0; i < a.nbDims; ++i)
    {
        if (a.d[i] >= 0 && b.d[i] >= 0 && a.d[i] != b.d[i])
        {
            return false;
        }
    }
    return true;
}

bool isVectorOf(nvinfer1::Dims const& dims, int64_t n)
{
    if (dims.nbDims < 1 || !dimMatches(dims.d[dims.nbDims - 1], n))
    {
        return false;
    }
    for (int32_t i = 0; i + 1 < dims.nbDims; ++i)
    {
        if (!dimMatches(dims.d[i], 1))
        {
            return false;
        }
    }
    return true;
}

std::string checkRowsOf(nvinfer1::Dims const& input, int64_t n, char const* field)
{
    if (input.nbDims < 1 || !dimMatches(lastDimOf(input), n))
    {
        return "input " + toString(input) + " must end with " + field + " " + std::to_string(n);
    }
    return {};
}

std::string checkGammaBeta(nvinfer1::Dims const& gamma, nvinfer1::Dims const& beta, int64_t n)
{
    if (!isVectorOf(gamma, n) || !isVectorOf(beta, n))
    {
        return "gamma " + toString(gamma) + " and beta " + toString(beta) + " must be [" + std::to_string(n) + "]";
    }
    return {};
}

} // namespace bert
