// The few TensorRT-side objects a plugin is handed, implemented just well enough to drive the
// plugins without libnvinfer:
//   ExprBuilder      IExprBuilder/IDimensionExpr for getOutputShapes(): constants, named
//                    runtime dimensions ("symbols") and the DimensionOperations, evaluated later
//                    with values bound to the symbols;
//   RecordingLogger  an ILogger (found through an ILoggerFinder) that counts and keeps errors, so
//                    a check can assert that a rejected call also said why;
//   ResourceContext  the IPluginResourceContext given to attachToContext() (no allocator/recorder).
//
// IExprBuilder and IDimensionExpr are thin public wrappers around private interfaces
// (nvinfer1::apiv::VExprBuilder / VDimensionExpr in NvInferImpl.h) reached through their
// protected `mImpl` pointer: that is how TensorRT itself implements them, and how we do here.
#pragma once

#include <NvInferRuntime.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace harness
{

using Bindings = std::map<std::string, int64_t>; // symbol name -> value

class Expr;

// The data behind one expression; TensorRT's wrappers call isConstant() etc. through it.
struct ExprNode : public nvinfer1::apiv::VDimensionExpr
{
    enum class Kind
    {
        kConstant,
        kSymbol,
        kOperation
    };
    Kind kind{Kind::kConstant};
    int64_t value{0};                                                    // kConstant
    std::string symbol;                                                  // kSymbol
    nvinfer1::DimensionOperation op{nvinfer1::DimensionOperation::kSUM}; // kOperation
    Expr const* lhs{nullptr};
    Expr const* rhs{nullptr};

    bool isConstant() const override;
    int64_t getConstantValue() const override;
    bool isSizeTensor() const override
    {
        return false;
    }
};

class Expr final : public nvinfer1::IDimensionExpr
{
public:
    explicit Expr(ExprNode node)
        : mNode(std::move(node))
    {
        mImpl = &mNode;
    }
    ExprNode const& node() const
    {
        return mNode;
    }

private:
    ExprNode mNode;
};

class ExprBuilder final : public nvinfer1::IExprBuilder
{
public:
    ExprBuilder();
    ~ExprBuilder() override = default;

    // A runtime dimension named `name`, e.g. "in0.d1"; its value is bound at evaluate().
    nvinfer1::IDimensionExpr const* symbol(std::string const& name);
    nvinfer1::IDimensionExpr const* literal(int64_t value);

    // The value of `expr` with the symbols bound; nullopt for an unknown symbol, a division by
    // zero or an expression this builder did not create.
    std::optional<int64_t> evaluate(nvinfer1::IDimensionExpr const* expr, Bindings const& symbols) const;

private:
    struct Impl : public nvinfer1::apiv::VExprBuilder
    {
        explicit Impl(ExprBuilder& owner)
            : owner(owner)
        {
        }
        nvinfer1::IDimensionExpr const* constant(int64_t value) override;
        nvinfer1::IDimensionExpr const* operation(nvinfer1::DimensionOperation op,
            nvinfer1::IDimensionExpr const& first, nvinfer1::IDimensionExpr const& second) override;
        nvinfer1::IDimensionExpr const* declareSizeTensor(
            int32_t, nvinfer1::IDimensionExpr const&, nvinfer1::IDimensionExpr const&) override
        {
            return nullptr; // no plugin here has data-dependent output shapes
        }
        ExprBuilder& owner;
    };

    Expr const* make(ExprNode node);
    bool owns(nvinfer1::IDimensionExpr const* expr) const;

    Impl mImplObject{*this};
    std::vector<std::unique_ptr<Expr>> mExprs;
};

class RecordingLogger final : public nvinfer1::ILogger
{
public:
    void log(Severity severity, char const* message) noexcept override;

    int32_t errorCount() const
    {
        return mErrors;
    }
    std::string const& lastError() const
    {
        return mLastError;
    }
    bool verbose{false}; // also print every message

private:
    int32_t mErrors{0};
    std::string mLastError;
};

class LoggerFinder final : public nvinfer1::ILoggerFinder
{
public:
    explicit LoggerFinder(RecordingLogger& logger)
        : mLogger(logger)
    {
    }
    ~LoggerFinder() override = default;
    nvinfer1::ILogger* findLogger() override
    {
        return &mLogger;
    }

private:
    RecordingLogger& mLogger;
};

class ResourceContext final : public nvinfer1::IPluginResourceContext
{
public:
    nvinfer1::IGpuAllocator* getGpuAllocator() const noexcept override
    {
        return nullptr;
    }
    nvinfer1::IErrorRecorder* getErrorRecorder() const noexcept override
    {
        return nullptr;
    }
};

} // namespace harness
