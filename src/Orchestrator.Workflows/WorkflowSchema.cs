using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Workflows;

/// <summary>
/// The JSON Schema (draft 2020-12) of a definition, generated from <see cref="StepTypes"/> so that
/// it cannot drift from what the validator accepts. Editors use it for completion; the validator
/// remains the authority (it also checks references, ids and expressions, which a schema cannot).
/// </summary>
public static class WorkflowSchema
{
    public const string Draft = "https://json-schema.org/draft/2020-12/schema";
    public const string Id = "https://orchestrator.dev/schemas/workflow.schema.json";

    private const string DurationPattern = @"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$";
    private const string TemplatePattern = @"\$\{\{.*\}\}";

    /// <summary>The schema as indented JSON text.</summary>
    public static string Json { get; } = Create().ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>A fresh copy of the schema (callers may modify it).</summary>
    public static JsonObject Create()
    {
        var defs = new JsonObject
        {
            ["template"] = new JsonObject
            {
                ["type"] = "string",
                ["pattern"] = TemplatePattern,
                ["description"] = "A ${{ }} template, evaluated when the run reaches the step.",
            },
            ["sole_template"] = new JsonObject
            {
                ["type"] = "string",
                ["pattern"] = "^\\$\\{\\{[^}]*\\}\\}$",
                ["description"] = "Exactly one ${{ }} interpolation, which renders to the value itself (a mapping included), e.g. ${{ inputs.env }}.",
            },
            ["duration"] = new JsonObject
            {
                ["type"] = "string",
                ["pattern"] = DurationPattern,
                ["description"] = "A duration such as 500ms, 30s, 5m, 2h, 1d or 1h30m.",
            },
            ["input"] = Input(),
            ["retry"] = Retry(),
            ["output_capture"] = OutputCapture(),
            ["step"] = Step(),
        };
        foreach (var type in StepTypes.All)
        {
            defs[WithDefinitionName(type.Name)] = With(type);
        }

        return new JsonObject
        {
            ["$schema"] = Draft,
            ["$id"] = Id,
            ["title"] = "Orchestrator workflow definition",
            ["type"] = "object",
            ["required"] = Array("name", "steps"),
            ["additionalProperties"] = false,
            ["properties"] = new JsonObject
            {
                ["name"] = new JsonObject { ["type"] = "string", ["pattern"] = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", ["description"] = "Workflow name." },
                ["description"] = new JsonObject { ["type"] = "string" },
                ["inputs"] = new JsonObject
                {
                    ["type"] = "object",
                    ["propertyNames"] = new JsonObject { ["pattern"] = "^[A-Za-z_][A-Za-z0-9_]{0,63}$" },
                    ["additionalProperties"] = Ref("input"),
                },
                ["steps"] = new JsonObject { ["type"] = "array", ["minItems"] = 1, ["items"] = Ref("step") },
                ["finally"] = new JsonObject
                {
                    ["type"] = "array",
                    ["items"] = Ref("step"),
                    ["description"] = "Steps that always run after the main steps, e.g. cleanup on failure or cancel.",
                },
                ["outputs"] = new JsonObject
                {
                    ["type"] = "object",
                    ["additionalProperties"] = new JsonObject { ["type"] = "string" },
                    ["description"] = "Values the run reports when it completes (templates).",
                },
            },
            ["$defs"] = defs,
        };
    }

    public static string WithDefinitionName(string stepType) => "with_" + stepType.Replace('.', '_');

    private static JsonObject Input() => new()
    {
        ["type"] = "object",
        ["additionalProperties"] = false,
        ["properties"] = new JsonObject
        {
            ["type"] = new JsonObject { ["enum"] = Array("string", "number", "boolean", "object") },
            ["default"] = new JsonObject { ["description"] = "A literal value of the input's type; never a template." },
            ["required"] = new JsonObject { ["type"] = "boolean" },
            ["description"] = new JsonObject { ["type"] = "string" },
            ["secret"] = new JsonObject { ["type"] = "boolean", ["description"] = "Redact the value in events and logs." },
        },
    };

    private static JsonObject Retry() => new()
    {
        ["type"] = "object",
        ["required"] = Array("max_attempts"),
        ["additionalProperties"] = false,
        ["properties"] = new JsonObject
        {
            ["max_attempts"] = new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["maximum"] = 100 },
            ["backoff"] = new JsonObject
            {
                ["type"] = "object",
                ["additionalProperties"] = false,
                ["properties"] = new JsonObject
                {
                    ["initial"] = Ref("duration"),
                    ["max"] = Ref("duration"),
                    ["multiplier"] = new JsonObject { ["type"] = "number", ["minimum"] = 1, ["maximum"] = 10 },
                },
            },
        },
    };

    private static JsonObject OutputCapture() => new()
    {
        ["oneOf"] = new JsonArray(
            new JsonObject { ["enum"] = Array("stdout", "stderr", "body") },
            new JsonObject
            {
                ["type"] = "object",
                ["additionalProperties"] = false,
                ["properties"] = new JsonObject
                {
                    ["from"] = new JsonObject { ["enum"] = Array("stdout", "stderr", "body") },
                    ["json"] = new JsonObject { ["type"] = "string", ["pattern"] = "^\\$", ["description"] = "A JSON path such as $.a.b or $.items[0]." },
                    ["regex"] = new JsonObject { ["type"] = "string", ["description"] = "A regular expression with a named group (?<name>...)." },
                    ["group"] = new JsonObject { ["type"] = "string" },
                },
                ["not"] = new JsonObject { ["required"] = Array("json", "regex") },
            }),
    };

    private static JsonObject Step()
    {
        var conditions = new JsonArray();
        foreach (var type in StepTypes.All)
        {
            var then = new JsonObject { ["properties"] = new JsonObject { ["with"] = Ref(WithDefinitionName(type.Name)) } };
            if (type.Parameters.Any(static p => p.Required))
            {
                then["required"] = Array("with");
            }

            if (type.Name == StepTypes.Parallel)
            {
                then["required"] = Array("branches");
            }

            // The JsonNode overload: the generic Add<T> is not trimming-safe, and orch is published as Native AOT.
            conditions.Add((JsonNode)new JsonObject
            {
                ["if"] = new JsonObject { ["properties"] = new JsonObject { ["uses"] = new JsonObject { ["const"] = type.Name } }, ["required"] = Array("uses") },
                ["then"] = then,
            });
        }

        return new JsonObject
        {
            ["type"] = "object",
            ["required"] = Array("id", "uses"),
            ["additionalProperties"] = false,
            ["properties"] = new JsonObject
            {
                ["id"] = new JsonObject { ["type"] = "string", ["pattern"] = "^[A-Za-z_][A-Za-z0-9_-]{0,63}$", ["description"] = "Unique in the whole workflow." },
                ["uses"] = new JsonObject
                {
                    ["enum"] = new JsonArray([.. StepTypes.All.Select(static t => (JsonNode?)JsonValue.Create(t.Name))]),
                    ["description"] = string.Join("; ", StepTypes.All.Select(static t => $"{t.Name}: {t.Description}")),
                },
                ["with"] = new JsonObject { ["type"] = "object" },
                ["outputs"] = new JsonObject { ["type"] = "object", ["additionalProperties"] = Ref("output_capture") },
                ["if"] = new JsonObject { ["type"] = Array("string", "boolean"), ["description"] = "A condition over inputs, step outputs and success()/failure()/cancelled()/always()." },
                ["retry"] = Ref("retry"),
                ["timeout"] = Ref("duration"),
                ["continue_on_error"] = new JsonObject { ["type"] = "boolean" },
                ["branches"] = new JsonObject
                {
                    ["type"] = "array",
                    ["minItems"] = 1,
                    ["items"] = new JsonObject { ["type"] = "array", ["minItems"] = 1, ["items"] = Ref("step") },
                    ["description"] = "For parallel: branches run concurrently; each is a list of steps.",
                },
            },
            ["allOf"] = conditions,
        };
    }

    private static JsonObject With(StepTypeSpec type)
    {
        var properties = new JsonObject();
        foreach (var parameter in type.Parameters)
        {
            var schema = Kind(parameter.Kind);
            schema["description"] = parameter.Description;
            properties[parameter.Name] = schema;
        }

        var with = new JsonObject
        {
            ["type"] = "object",
            ["description"] = type.Description,
            ["additionalProperties"] = false,
            ["properties"] = properties,
        };
        var required = type.Parameters.Where(static p => p.Required).Select(static p => p.Name).ToArray();
        if (required.Length > 0)
        {
            with["required"] = Array(required);
        }

        if (type.OneOf.Count > 0)
        {
            with["allOf"] = new JsonArray([.. type.OneOf.Select(static group => (JsonNode?)new JsonObject
            {
                ["oneOf"] = new JsonArray([.. group.Select(static name => (JsonNode?)new JsonObject { ["required"] = Array(name) })]),
            })]);
        }

        return with;
    }

    private static JsonObject Kind(ParameterKind kind) => kind switch
    {
        ParameterKind.String => new JsonObject { ["type"] = "string" },
        ParameterKind.Integer => AnyOf(new JsonObject { ["type"] = "integer" }, Ref("template")),
        ParameterKind.Boolean => AnyOf(new JsonObject { ["type"] = "boolean" }, Ref("template")),
        ParameterKind.Duration => AnyOf(Ref("duration"), Ref("template")),
        ParameterKind.StringMap => AnyOf(
            new JsonObject
            {
                ["type"] = "object",
                ["additionalProperties"] = new JsonObject { ["type"] = Array("string", "number", "boolean") },
            },
            Ref("sole_template")),
        ParameterKind.IntegerList => AnyOf(IntegerArray(), Ref("template")),
        ParameterKind.IntegerOrList => AnyOf(new JsonObject { ["type"] = "integer" }, IntegerArray(), Ref("template")),
        ParameterKind.Volume => AnyOf(new JsonObject
        {
            ["type"] = "object",
            ["required"] = Array("path"),
            ["additionalProperties"] = false,
            ["properties"] = new JsonObject
            {
                ["size_gb"] = AnyOf(new JsonObject { ["type"] = "integer", ["minimum"] = 1, ["maximum"] = 500 }, Ref("template")),
                ["id"] = AnyOf(new JsonObject { ["type"] = "string", ["pattern"] = "^vol_" }, Ref("template")),
                ["path"] = new JsonObject { ["type"] = "string", ["pattern"] = "^/" },
            },
            // A new volume (size_gb) or a kept one (id), never both.
            ["oneOf"] = new JsonArray(new JsonObject { ["required"] = Array("size_gb") }, new JsonObject { ["required"] = Array("id") }),
        }, Ref("sole_template")),
        ParameterKind.Size => AnyOf(
            new JsonObject { ["type"] = "string", ["pattern"] = "^(shared-cpu|performance)-[0-9]{1,2}x$" },
            new JsonObject
            {
                ["type"] = "object",
                ["required"] = Array("cpus", "memory_mb"),
                ["additionalProperties"] = false,
                ["properties"] = new JsonObject
                {
                    ["cpus"] = AnyOf(new JsonObject { ["type"] = "integer", ["minimum"] = 1 }, Ref("template")),
                    ["memory_mb"] = AnyOf(new JsonObject { ["type"] = "integer", ["minimum"] = 256, ["multipleOf"] = 256 }, Ref("template")),
                    ["cpu_kind"] = AnyOf(new JsonObject { ["enum"] = Array("shared", "performance") }, Ref("template")),
                },
            },
            Ref("template")),
        ParameterKind.AnyMap => AnyOf(new JsonObject { ["type"] = "object" }, Ref("sole_template")),
        _ => new JsonObject { ["type"] = Array("string", "integer") },
    };

    private static JsonObject IntegerArray() => new()
    {
        ["type"] = "array",
        ["items"] = AnyOf(new JsonObject { ["type"] = "integer" }, Ref("template")),
    };

    private static JsonObject AnyOf(params JsonNode[] options) => new() { ["anyOf"] = new JsonArray(options) };

    private static JsonObject Ref(string definition) => new() { ["$ref"] = "#/$defs/" + definition };

    private static JsonArray Array(params string[] values) => new([.. values.Select(static v => (JsonNode?)JsonValue.Create(v))]);
}
