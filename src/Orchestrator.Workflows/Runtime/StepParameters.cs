using System.Globalization;

namespace Orchestrator.Workflows.Runtime;

/// <summary>
/// Typed access to a step's rendered <c>with</c> parameters. Validation checks literal values, but a
/// template's type is known only once rendered; a value of the wrong type then fails the step with a
/// <see cref="StepParameterException"/> that names the parameter and what it needed.
/// </summary>
public sealed class StepParameters(string stepId, ValueDictionary<WorkflowValue> values)
{
    public string StepId { get; } = stepId;

    public ValueDictionary<WorkflowValue> Values { get; } = values;

    /// <summary>Renders <paramref name="step"/>'s parameters against <paramref name="context"/> (shell-quoting ssh.exec command and script).</summary>
    public static StepParameters Render(StepDefinition step, ExpressionContext context)
    {
        ArgumentNullException.ThrowIfNull(step);
        return new StepParameters(step.Id, TemplateRenderer.RenderParameters(step, context));
    }

    public bool Has(string name) => Values.TryGetValue(name, out var value) && value is not NullValue;

    public string GetString(string name) => GetOptionalString(name) ?? throw Missing(name);

    public string? GetOptionalString(string name) => Get(name) switch
    {
        null => null,
        StringValue s => s.Value,
        WorkflowValue scalar when scalar is NumberValue or BoolValue => scalar.ToText(),
        var other => throw Wrong(name, other, "a string"),
    };

    public bool? GetOptionalBoolean(string name) => Get(name) switch
    {
        null => null,
        BoolValue b => b.Value,
        StringValue { Value: "true" } => true,
        StringValue { Value: "false" } => false,
        var other => throw Wrong(name, other, "true or false"),
    };

    public int? GetOptionalInteger(string name) => Get(name) is { } value ? ToInteger(name, value) : null;

    public TimeSpan? GetOptionalDuration(string name) => Get(name) switch
    {
        null => null,
        StringValue s when Duration.TryParse(s.Value, out var duration) => duration,
        var other => throw Wrong(name, other, Duration.Expected),
    };

    public TimeSpan GetDuration(string name) => GetOptionalDuration(name) ?? throw Missing(name);

    /// <summary>A list of integers; a single integer reads as a list of one.</summary>
    public IReadOnlyList<int>? GetOptionalIntegers(string name) => Get(name) switch
    {
        null => null,
        ListValue list => [.. list.Items.Select(item => ToInteger(name, item))],
        var single => [ToInteger(name, single)],
    };

    /// <summary>A map of strings, e.g. environment variables; numbers and booleans become their text.</summary>
    public IReadOnlyDictionary<string, string>? GetOptionalStringMap(string name) => Get(name) switch
    {
        null => null,
        MapValue map => map.Entries.ToDictionary(
            static e => e.Key,
            e => e.Value is StringValue or NumberValue or BoolValue ? e.Value.ToText() : throw Wrong($"{name}.{e.Key}", e.Value, "a string"),
            StringComparer.Ordinal),
        var other => throw Wrong(name, other, "a mapping of names to strings"),
    };

    public MapValue? GetOptionalMap(string name) => Get(name) switch
    {
        null => null,
        MapValue map => map,
        var other => throw Wrong(name, other, "a mapping"),
    };

    private WorkflowValue? Get(string name) => Values.TryGetValue(name, out var value) && value is not NullValue ? value : null;

    private int ToInteger(string name, WorkflowValue value) => value switch
    {
        NumberValue { Value: var n } when n == decimal.Truncate(n) && n is >= int.MinValue and <= int.MaxValue => (int)n,
        StringValue s when int.TryParse(s.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed) => parsed,
        _ => throw Wrong(name, value, "a whole number"),
    };

    private StepParameterException Missing(string name) =>
        new(StepId, name, $"Step '{StepId}': parameter '{name}' rendered to nothing; it is required.");

    private StepParameterException Wrong(string name, WorkflowValue value, string expected) =>
        new(StepId, name, $"Step '{StepId}': parameter '{name}' rendered to {value.KindName} '{value.ToText()}'; expected {expected}.");
}

/// <summary>A rendered parameter has the wrong type or is missing: the step fails with this message.</summary>
public sealed class StepParameterException(string stepId, string parameter, string message) : Exception(message)
{
    public string StepId { get; } = stepId;

    public string Parameter { get; } = parameter;
}
