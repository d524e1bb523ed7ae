#include "mock_tensorrt.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace harness
{
using nvinfer1::DimensionOperation;
using nvinfer1::IDimensionExpr;

bool ExprNode::isConstant() const
{
    return kind == Kind::kConstant;
}

int64_t ExprNode::getConstantValue() const
{
    return isConstant() ? value : std::numeric_limits<int64_t>::min(); // as IDimensionExpr documents
}

ExprBuilder::ExprBuilder()
{
    mImpl = &mImplObject;
}

Expr const* ExprBuilder::make(ExprNode node)
{
    mExprs.push_back(std::make_unique<Expr>(std::move(node)));
    return mExprs.back().get();
}

bool ExprBuilder::owns(IDimensionExpr const* expr) const
{
    return std::any_of(mExprs.begin(), mExprs.end(), [expr](auto const& e) { return e.get() == expr; });
}

IDimensionExpr const* ExprBuilder::symbol(std::string const& name)
{
    ExprNode node;
    node.kind = ExprNode::Kind::kSymbol;
    node.symbol = name;
    return make(std::move(node));
}

IDimensionExpr const* ExprBuilder::literal(int64_t value)
{
    ExprNode node;
    node.kind = ExprNode::Kind::kConstant;
    node.value = value;
    return make(std::move(node));
}

namespace
{
std::optional<int64_t> apply(DimensionOperation op, int64_t a, int64_t b)
{
    switch (op)
    {
    case DimensionOperation::kSUM: return a + b;
    case DimensionOperation::kPROD: return a * b;
    case DimensionOperation::kMAX: return std::max(a, b);
    case DimensionOperation::kMIN: return std::min(a, b);
    case DimensionOperation::kSUB: return a - b;
    case DimensionOperation::kEQUAL: return a == b ? 1 : 0;
    case DimensionOperation::kLESS: return a < b ? 1 : 0;
    case DimensionOperation::kFLOOR_DIV:
        if (b == 0)
        {
            return std::nullopt;
        }
        return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
    case DimensionOperation::kCEIL_DIV:
        if (b == 0)
        {
            return std::nullopt;
        }
        return a / b + ((a % b != 0) && ((a < 0) == (b < 0)) ? 1 : 0);
    }
    return std::nullopt;
}
} // namespace

IDimensionExpr const* ExprBuilder::Impl::constant(int64_t value)
{
    return owner.literal(value);
}

IDimensionExpr const* ExprBuilder::Impl::operation(
    DimensionOperation op, IDimensionExpr const& first, IDimensionExpr const& second)
{
    if (!owner.owns(&first) || !owner.owns(&second))
    {
        return nullptr;
    }
    // Two constants fold into a constant, as in TensorRT: a plugin may test isConstant().
    if (first.isConstant() && second.isConstant())
    {
        std::optional<int64_t> const folded = apply(op, first.getConstantValue(), second.getConstantValue());
        return folded ? owner.literal(*folded) : nullptr;
    }
    ExprNode node;
    node.kind = ExprNode::Kind::kOperation;
    node.op = op;
    node.lhs = static_cast<Expr const*>(&first);
    node.rhs = static_cast<Expr const*>(&second);
    return owner.make(std::move(node));
}

std::optional<int64_t> ExprBuilder::evaluate(IDimensionExpr const* expr, Bindings const& symbols) const
{
    if (expr == nullptr || !owns(expr))
    {
        return std::nullopt;
    }
    ExprNode const& node = static_cast<Expr const*>(expr)->node();
    switch (node.kind)
    {
    case ExprNode::Kind::kConstant: return node.value;
    case ExprNode::Kind::kSymbol:
    {
        auto const found = symbols.find(node.symbol);
        return found == symbols.end() ? std::nullopt : std::optional<int64_t>(found->second);
    }
    case ExprNode::Kind::kOperation:
    {
        std::optional<int64_t> const a = evaluate(node.lhs, symbols);
        std::optional<int64_t> const b = evaluate(node.rhs, symbols);
        return a && b ? apply(node.op, *a, *b) : std::nullopt;
    }
    }
    return std::nullopt;
}

void RecordingLogger::log(Severity severity, char const* message) noexcept
{
    bool const isError = severity <= Severity::kERROR;
    if (isError)
    {
        ++mErrors;
        mLastError = message != nullptr ? message : "";
    }
    if (verbose)
    {
        std::printf("# plugin log (%s): %s\n", isError ? "error" : "info", message != nullptr ? message : "");
    }
}

} // namespace harness
