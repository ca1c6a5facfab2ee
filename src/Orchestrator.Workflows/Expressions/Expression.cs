using System.Collections.Frozen;

namespace Orchestrator.Workflows.Expressions;

/// <summary>
/// A parsed expression of the condition and template language. <c>Position</c> is the 0-based offset
/// in the expression text, for error messages.
/// </summary>
public abstract record Expression(int Position);

public sealed record LiteralExpression(WorkflowValue Value, int Position) : Expression(Position);

/// <summary>A dotted reference such as <c>inputs.branch</c> or <c>steps.box.outputs.id</c>.</summary>
public sealed record ReferenceExpression(ValueList<string> Segments, int Position) : Expression(Position)
{
    public string Root => Segments[0];

    public override string ToString() => string.Join('.', Segments);
}

public sealed record NotExpression(Expression Operand, int Position) : Expression(Position);

public enum BinaryOperator
{
    Equal = 0,
    NotEqual = 1,
    Less = 2,
    LessOrEqual = 3,
    Greater = 4,
    GreaterOrEqual = 5,
    And = 6,
    Or = 7,
}

public sealed record BinaryExpression(BinaryOperator Operator, Expression Left, Expression Right, int Position) : Expression(Position);

public sealed record CallExpression(string Function, ValueList<Expression> Arguments, int Position) : Expression(Position);

/// <summary>The functions the language knows and how many arguments each takes.</summary>
public static class ExpressionFunctions
{
    public const string Contains = "contains";
    public const string StartsWith = "startsWith";
    public const string Success = "success";
    public const string Failure = "failure";
    public const string Cancelled = "cancelled";
    public const string Always = "always";

    /// <summary>The function names in documentation order (for messages).</summary>
    public static ValueList<string> Names { get; } = new([Contains, StartsWith, Success, Failure, Cancelled, Always]);

    public static FrozenDictionary<string, int> Arity { get; } = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        [Contains] = 2,
        [StartsWith] = 2,
        [Success] = 0,
        [Failure] = 0,
        [Cancelled] = 0,
        [Always] = 0,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>Status functions: an <c>if</c> that uses one decides itself whether to run after a failure.</summary>
    public static bool IsStatusFunction(string name) => name is Success or Failure or Cancelled or Always;
}

/// <summary>A syntax error in an expression or template, with the 0-based offset where it was found.</summary>
public sealed class ExpressionSyntaxException(string message, int position, string code = WorkflowErrorCodes.ExpressionSyntax) : Exception(message)
{
    public int Position { get; } = position;

    public string Code { get; } = code;
}
