using System.Globalization;
using System.Text.Json.Nodes;

namespace Orchestrator.Workflows;

/// <summary>
/// A JSON-like value: what a step's <c>with</c> parameters, input defaults and expression results are.
/// Numbers are decimals so that <c>0.1</c> read from YAML equals <c>0.1</c> read from JSON.
/// </summary>
public abstract record WorkflowValue
{
    public static WorkflowValue Null { get; } = new NullValue();

    public static WorkflowValue True { get; } = new BoolValue(true);

    public static WorkflowValue False { get; } = new BoolValue(false);

    public static WorkflowValue From(string? value) => value is null ? Null : new StringValue(value);

    public static WorkflowValue From(bool value) => value ? True : False;

    public static WorkflowValue From(decimal value) => new NumberValue(value);

    /// <summary>The kind name used in error messages and the schema.</summary>
    public abstract string KindName { get; }

    /// <summary>Text form used when a value is interpolated into a string.</summary>
    public abstract string ToText();

    /// <summary>Truthiness for <c>if</c>: null, false, 0 and the empty string are false.</summary>
    public abstract bool IsTruthy { get; }

    public abstract JsonNode? ToJsonNode();

    public static WorkflowValue FromJsonNode(JsonNode? node) => node switch
    {
        null => Null,
        JsonObject obj => new MapValue(new ValueDictionary<WorkflowValue>(obj.Select(p => KeyValuePair.Create(p.Key, FromJsonNode(p.Value))))),
        JsonArray array => new ListValue(new ValueList<WorkflowValue>(array.Select(FromJsonNode))),
        JsonValue value when value.TryGetValue<bool>(out var b) => From(b),
        JsonValue value when value.TryGetValue<string>(out var s) => new StringValue(s),
        JsonValue value when value.TryGetValue<decimal>(out var d) => new NumberValue(d),
        JsonValue value when value.TryGetValue<double>(out var d) => new NumberValue((decimal)d),
        _ => new StringValue(node.ToJsonString()),
    };
}

public sealed record NullValue : WorkflowValue
{
    public override string KindName => "null";

    public override bool IsTruthy => false;

    public override string ToText() => "";

    public override JsonNode? ToJsonNode() => null;
}

public sealed record StringValue(string Value) : WorkflowValue
{
    public override string KindName => "string";

    public override bool IsTruthy => Value.Length > 0;

    public override string ToText() => Value;

    public override JsonNode? ToJsonNode() => JsonValue.Create(Value);
}

public sealed record NumberValue(decimal Value) : WorkflowValue
{
    public override string KindName => "number";

    public override bool IsTruthy => Value != 0;

    // "G29"-like normalisation: 1.50 and 1.5 print the same, as JSON would.
    public override string ToText() => Value.ToString("0.############################", CultureInfo.InvariantCulture);

    public override JsonNode? ToJsonNode() => JsonValue.Create(Value);
}

public sealed record BoolValue(bool Value) : WorkflowValue
{
    public override string KindName => "boolean";

    public override bool IsTruthy => Value;

    public override string ToText() => Value ? "true" : "false";

    public override JsonNode? ToJsonNode() => JsonValue.Create(Value);
}

public sealed record ListValue(ValueList<WorkflowValue> Items) : WorkflowValue
{
    public override string KindName => "list";

    public override bool IsTruthy => true;

    public override string ToText() => ToJsonNode()!.ToJsonString();

    public override JsonNode? ToJsonNode() => new JsonArray([.. Items.Select(static i => i.ToJsonNode())]);
}

public sealed record MapValue(ValueDictionary<WorkflowValue> Entries) : WorkflowValue
{
    public override string KindName => "object";

    public override bool IsTruthy => true;

    public override string ToText() => ToJsonNode()!.ToJsonString();

    public override JsonNode? ToJsonNode() =>
        new JsonObject(Entries.Select(static e => KeyValuePair.Create(e.Key, e.Value.ToJsonNode())));
}
