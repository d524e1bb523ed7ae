// Shared by harness.cpp (interface checks, no GPU) and enqueue_check.cpp (--enqueue, GPU).
#pragma once

#include "mock_tensorrt.h"
#include "plugin_rules.h"

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace harness
{

// Prints one machine-readable line per check:
//   PASS <plugin> <check> <case>: <detail>
//   FAIL <plugin> <check> <case>: <why>
// and counts them; the harness exits non-zero if any check failed.
class Report
{
public:
    void check(bool ok, std::string const& plugin, std::string const& check, std::string const& caseName,
        std::string const& detail);
    int32_t passed() const
    {
        return mPassed;
    }
    int32_t failed() const
    {
        return mFailed;
    }

private:
    int32_t mPassed{0};
    int32_t mFailed{0};
};

using Creators = std::map<std::string, nvinfer1::IPluginCreatorV3One*>; // by plugin name
using PluginPtr = std::unique_ptr<nvinfer1::IPluginV3>;

// A PluginFieldCollection over FieldValues (which must outlive it), as builder.py passes one.
class FieldCollection
{
public:
    explicit FieldCollection(std::vector<FieldValue> const& values);
    nvinfer1::PluginFieldCollection const* get() const
    {
        return &mCollection;
    }

private:
    std::vector<nvinfer1::PluginField> mFields;
    nvinfer1::PluginFieldCollection mCollection{};
};

// The capability interface of `plugin`, after checking that its interface kind is the one
// TensorRT expects ("PLUGIN_V3ONE_CORE", ...); nullptr otherwise.
nvinfer1::IPluginV3OneCore* coreOf(nvinfer1::IPluginV3* plugin);
nvinfer1::IPluginV3OneBuild* buildOf(nvinfer1::IPluginV3* plugin);
nvinfer1::IPluginV3OneRuntime* runtimeOf(nvinfer1::IPluginV3* plugin);

// Empty when `got` holds exactly the fields of `expected` (names, types, one value, same bits).
std::string compareFields(nvinfer1::PluginFieldCollection const* got, std::vector<FieldValue> const& expected);

// The fields of a serialized plugin, copied out of the plugin (which owns the returned memory).
std::vector<FieldValue> copyFields(nvinfer1::PluginFieldCollection const* fc);

// Runs every case of <dir>/manifest.txt through enqueue() on the GPU (enqueue_check.cpp).
// `lastVersion`: the library's bertLastLaunchedVersion (which kernel a tactic really ran).
using LastVersionFn = int (*)();
void runEnqueueCases(std::string const& dir, Creators const& creators, LastVersionFn lastVersion,
    RecordingLogger& logger, Report& report);

char const* typeName(nvinfer1::DataType type);

} // namespace harness
