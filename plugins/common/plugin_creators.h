// One creator per plugin, each defined next to its plugin in plugins/<name>/<name>_plugin.cpp.
// Function-local statics: created on first use, so no static-initialization-order surprises.
#pragma once

#include <NvInferRuntime.h>

namespace bert
{
nvinfer1::IPluginCreatorV3One* layerNormCreator();
nvinfer1::IPluginCreatorV3One* skipLayerNormCreator();
nvinfer1::IPluginCreatorV3One* embLayerNormCreator();
nvinfer1::IPluginCreatorV3One* qkvToContextCreator();
nvinfer1::IPluginCreatorV3One* biasGeluCreator();
} // namespace bert
