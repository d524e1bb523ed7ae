// The TensorRT 10 plugin-library interface of libbert_plugins.so.
//
// trt.get_plugin_registry().load_library(path) (or trtexec --dynamicPlugins) dlopens the library
// and looks up these two C symbols; nothing registers itself at load time (no static
// REGISTER_TENSORRT_PLUGIN), and nothing here needs libnvinfer, so the same library can also be
// loaded and exercised by plugins/harness without TensorRT. The declarations are not in the
// public headers: they are the documented contract of a plugin shared library.
#include "common/plugin_creators.h"
#include "common/plugin_utils.h"

// TensorRT passes a finder for the logger of whichever builder/runtime is calling a plugin.
extern "C" TENSORRTAPI void setLoggerFinder(nvinfer1::ILoggerFinder* finder)
{
    bert::setLoggerFinder(finder);
}

// Every creator of the library; TensorRT registers each under its getPluginNamespace().
extern "C" TENSORRTAPI nvinfer1::IPluginCreatorInterface* const* getCreators(int32_t& nbCreators)
{
    static nvinfer1::IPluginCreatorInterface* const creators[] = {
        bert::layerNormCreator(),
        bert::skipLayerNormCreator(),
        bert::embLayerNormCreator(),
        bert::qkvToContextCreator(),
        bert::biasGeluCreator(),
    };
    nbCreators = static_cast<int32_t>(sizeof(creators) / sizeof(creators[0]));
    return creators;
}
