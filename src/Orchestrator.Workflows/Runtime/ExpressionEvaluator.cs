using System.Globalization;
using Orchestrator.Workflows.Expressions;

namespace Orchestrator.Workflows.Runtime;

/// <summary>
/// Evaluates parsed expressions against a run's <see cref="ExpressionContext"/>: a closed
/// interpreter over the AST, with no reflection and no dynamic code.
/// </summary>
public static class ExpressionEvaluator
{
    public static WorkflowValue Evaluate(Expression expression, ExpressionContext context)
    {
        ArgumentNullException.ThrowIfNull(expression);
        ArgumentNullException.ThrowIfNull(context);
        return expression switch
        {
            LiteralExpression literal => literal.Value,
            ReferenceExpression reference => Resolve(reference, context),
            NotExpression not => WorkflowValue.From(!Evaluate(not.Operand, context).IsTruthy),
            BinaryExpression { Operator: BinaryOperator.And } and =>
                WorkflowValue.From(Evaluate(and.Left, context).IsTruthy && Evaluate(and.Right, context).IsTruthy),
            BinaryExpression { Operator: BinaryOperator.Or } or =>
                WorkflowValue.From(Evaluate(or.Left, context).IsTruthy || Evaluate(or.Right, context).IsTruthy),
            BinaryExpression binary => WorkflowValue.From(Compare(binary.Operator, Evaluate(binary.Left, context), Evaluate(binary.Right, context))),
            CallExpression call => Call(call, context),
            _ => throw new InvalidOperationException($"Unknown expression node {expression.GetType().Name}."),
        };
    }

    /// <summary>Parses and evaluates a condition; <c>${{ }}</c> around the whole condition is optional.</summary>
    public static bool IsTrue(string condition, ExpressionContext context) => Evaluate(ParseCondition(condition), context).IsTruthy;

    /// <summary>
    /// Whether a step runs. A main step without <c>if</c> runs when nothing failed; a condition that
    /// names no status function is combined with <c>success()</c>, as in GitHub Actions. A
    /// <c>finally</c> step without <c>if</c> always runs, and its condition is taken as written.
    /// </summary>
    public static bool ShouldRun(StepDefinition step, ExpressionContext context, bool isFinally)
    {
        ArgumentNullException.ThrowIfNull(step);
        var succeeded = !context.HasFailure && !context.IsCancelled;
        if (step.If is null)
        {
            return isFinally || succeeded;
        }

        var condition = ParseCondition(step.If);
        var value = Evaluate(condition, context).IsTruthy;
        return isFinally || UsesStatusFunction(condition) ? value : succeeded && value;
    }

    /// <exception cref="ExpressionSyntaxException">The condition is not a valid expression.</exception>
    public static Expression ParseCondition(string condition)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var trimmed = condition.Trim();
        if (trimmed.StartsWith(Template.Open, StringComparison.Ordinal))
        {
            var template = Template.Parse(trimmed);
            return template.SoleInterpolation is { Raw: false } single
                ? single.Expression
                : throw new ExpressionSyntaxException("A condition is one expression: write it bare, or as one '${{ ... }}' with nothing around it.", 0);
        }

        return ExpressionParser.Parse(condition);
    }

    public static bool UsesStatusFunction(Expression expression) => expression switch
    {
        CallExpression call => ExpressionFunctions.IsStatusFunction(call.Function) || call.Arguments.Any(UsesStatusFunction),
        NotExpression not => UsesStatusFunction(not.Operand),
        BinaryExpression binary => UsesStatusFunction(binary.Left) || UsesStatusFunction(binary.Right),
        _ => false,
    };

    private static WorkflowValue Resolve(ReferenceExpression reference, ExpressionContext context)
    {
        var s = reference.Segments;
        switch (reference.Root)
        {
            case "inputs" when s.Count >= 2 && context.Inputs.TryGetValue(s[1], out var input):
                return Descend(input, s, 2);
            case "steps" when s.Count >= 3 && context.Steps.TryGetValue(s[1], out var step):
                if (s[2] == "status")
                {
                    return new StringValue(StatusName(step.Status));
                }

                return s.Count >= 4 && s[2] == "outputs" && step.Outputs.TryGetValue(s[3], out var output) ? Descend(output, s, 4) : WorkflowValue.Null;
            case "secrets" when s.Count == 2 && context.Secrets.TryGetValue(s[1], out var secret):
                return new StringValue(secret);
            case "instance" when s.Count == 2 && context.Instance is { } instance:
                return WorkflowValue.From(s[1] switch
                {
                    "id" => instance.Id,
                    "name" => instance.Name,
                    "region" => instance.Region,
                    "private_ip" => instance.PrivateIp,
                    "public_ip" => instance.PublicIp,
                    _ => null,
                });
            case "run" when s.Count == 2:
                return s[1] switch
                {
                    "id" => new StringValue(context.RunId),
                    "workflow" => new StringValue(context.WorkflowName),
                    _ => WorkflowValue.Null,
                };
            default:
                // Validation rejects unknown references; at run time a value that was never set reads as null.
                return WorkflowValue.Null;
        }
    }

    private static WorkflowValue Descend(WorkflowValue value, ValueList<string> segments, int from)
    {
        for (var i = from; i < segments.Count; i++)
        {
            value = value is MapValue map && map.Entries.TryGetValue(segments[i], out var next) ? next : WorkflowValue.Null;
        }

        return value;
    }

    private static string StatusName(StepStatus status) => status switch
    {
        StepStatus.FailedAndContinued => "failed",
        _ => status.ToString().ToLowerInvariant(),
    };

    private static WorkflowValue Call(CallExpression call, ExpressionContext context)
    {
        WorkflowValue Argument(int index) => Evaluate(call.Arguments[index], context);
        return call.Function switch
        {
            ExpressionFunctions.Success => WorkflowValue.From(!context.HasFailure && !context.IsCancelled),
            ExpressionFunctions.Failure => WorkflowValue.From(context.HasFailure),
            ExpressionFunctions.Cancelled => WorkflowValue.From(context.IsCancelled),
            ExpressionFunctions.Always => WorkflowValue.True,
            ExpressionFunctions.Contains => WorkflowValue.From(Contains(Argument(0), Argument(1))),
            ExpressionFunctions.StartsWith => WorkflowValue.From(
                Argument(0) is not NullValue and var text && text.ToText().StartsWith(Argument(1).ToText(), StringComparison.Ordinal)),
            _ => throw new InvalidOperationException($"Unknown function {call.Function}()."),
        };
    }

    private static bool Contains(WorkflowValue haystack, WorkflowValue needle) => haystack switch
    {
        ListValue list => list.Items.Any(item => Compare(BinaryOperator.Equal, item, needle)),
        MapValue map => map.Entries.ContainsKey(needle.ToText()),
        NullValue => false,
        _ => haystack.ToText().Contains(needle.ToText(), StringComparison.Ordinal),
    };

    /// <summary>
    /// Loose comparison, because step outputs arrive as text: two values compare as numbers when both
    /// read as numbers ("0" == 0), as booleans when one is a boolean and the other reads as one,
    /// otherwise as ordinal strings; null equals only null; lists and objects compare structurally.
    /// </summary>
    private static bool Compare(BinaryOperator op, WorkflowValue left, WorkflowValue right)
    {
        int? order;
        if (left is NullValue || right is NullValue)
        {
            order = left is NullValue && right is NullValue ? 0 : null;
        }
        else if (AsNumber(left) is { } l && AsNumber(right) is { } r)
        {
            order = l.CompareTo(r);
        }
        else if ((left is BoolValue || right is BoolValue) && AsBool(left) is { } lb && AsBool(right) is { } rb)
        {
            order = lb == rb ? 0 : null;
        }
        else if (left is StringValue or NumberValue or BoolValue && right is StringValue or NumberValue or BoolValue)
        {
            order = string.CompareOrdinal(left.ToText(), right.ToText());
        }
        else
        {
            order = left.Equals(right) ? 0 : null;
        }

        return op switch
        {
            BinaryOperator.Equal => order == 0,
            BinaryOperator.NotEqual => order != 0,
            BinaryOperator.Less => order < 0,
            BinaryOperator.LessOrEqual => order <= 0,
            BinaryOperator.Greater => order > 0,
            BinaryOperator.GreaterOrEqual => order >= 0,
            _ => throw new InvalidOperationException($"{op} is not a comparison."),
        };
    }

    private static decimal? AsNumber(WorkflowValue value) => value switch
    {
        NumberValue number => number.Value,
        StringValue text when decimal.TryParse(text.Value, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => null,
    };

    private static bool? AsBool(WorkflowValue value) => value switch
    {
        BoolValue b => b.Value,
        StringValue { Value: "true" } => true,
        StringValue { Value: "false" } => false,
        _ => null,
    };
}
