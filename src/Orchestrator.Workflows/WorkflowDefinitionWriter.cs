using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Workflows;

/// <summary>
/// Writes a definition as JSON in the same shape the reader accepts, so a definition can be stored
/// or served in one canonical form and read back into an equal record.
/// </summary>
public static class WorkflowDefinitionWriter
{
    // Own options rather than JsonSerializerOptions.Default, which is not trimming-safe (orch is published as Native AOT).
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };
    private static readonly JsonSerializerOptions s_compact = new();

    public static string ToJson(WorkflowDefinition definition, bool indented = true) =>
        ToJsonNode(definition).ToJsonString(indented ? s_indented : s_compact);

    public static JsonObject ToJsonNode(WorkflowDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var json = new JsonObject { ["name"] = definition.Name };
        if (definition.Description is not null)
        {
            json["description"] = definition.Description;
        }

        if (definition.Inputs.Count > 0)
        {
            json["inputs"] = new JsonObject(definition.Inputs.Select(static i => KeyValuePair.Create(i.Key, (JsonNode?)Input(i.Value))));
        }

        json["steps"] = Steps(definition.Steps);
        if (definition.Finally.Count > 0)
        {
            json["finally"] = Steps(definition.Finally);
        }

        if (definition.Outputs.Count > 0)
        {
            json["outputs"] = new JsonObject(definition.Outputs.Select(static o => KeyValuePair.Create(o.Key, (JsonNode?)JsonValue.Create(o.Value))));
        }

        return json;
    }

    private static JsonObject Input(InputDefinition input)
    {
        var json = new JsonObject { ["type"] = input.Type.ToString().ToLowerInvariant() };
        if (input.Default is not null)
        {
            json["default"] = input.Default.ToJsonNode();
        }

        if (input.Required)
        {
            json["required"] = true;
        }

        if (input.Description is not null)
        {
            json["description"] = input.Description;
        }

        if (input.Secret)
        {
            json["secret"] = true;
        }

        return json;
    }

    private static JsonArray Steps(ValueList<StepDefinition> steps) => new([.. steps.Select(static s => (JsonNode?)Step(s))]);

    private static JsonObject Step(StepDefinition step)
    {
        var json = new JsonObject { ["id"] = step.Id, ["uses"] = step.Uses };
        if (step.With.Count > 0)
        {
            json["with"] = new MapValue(step.With).ToJsonNode();
        }

        if (step.Outputs.Count > 0)
        {
            json["outputs"] = new JsonObject(step.Outputs.Select(static o => KeyValuePair.Create(o.Key, Capture(o.Value))));
        }

        if (step.If is not null)
        {
            json["if"] = step.If;
        }

        if (step.Retry is { } retry)
        {
            json["retry"] = new JsonObject
            {
                ["max_attempts"] = retry.MaxAttempts,
                ["backoff"] = new JsonObject
                {
                    ["initial"] = Duration.Format(retry.Backoff.Initial),
                    ["max"] = Duration.Format(retry.Backoff.Max),
                    ["multiplier"] = retry.Backoff.Multiplier,
                },
            };
        }

        if (step.Timeout is { } timeout)
        {
            json["timeout"] = Duration.Format(timeout);
        }

        if (step.ContinueOnError)
        {
            json["continue_on_error"] = true;
        }

        if (step.Branches.Count > 0)
        {
            json["branches"] = new JsonArray([.. step.Branches.Select(static b => (JsonNode?)Steps(b))]);
        }

        return json;
    }

    private static JsonNode? Capture(OutputCapture capture)
    {
        var from = capture.From.ToString().ToLowerInvariant();
        if (capture.Kind == CaptureKind.Text && capture.Group is null)
        {
            return from;
        }

        var json = new JsonObject { ["from"] = from };
        if (capture.Kind != CaptureKind.Text)
        {
            json[capture.Kind == CaptureKind.Json ? "json" : "regex"] = capture.Pattern;
        }

        if (capture.Group is not null)
        {
            json["group"] = capture.Group;
        }

        return json;
    }
}
