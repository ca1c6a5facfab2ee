using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Orchestrator.Workflows.Tests;

public sealed class SchemaTests
{
    private static readonly JsonObject s_schema = JsonNode.Parse(WorkflowSchema.Json)!.AsObject();

    [Fact]
    public void Schema_is_draft_2020_12_and_requires_name_and_steps()
    {
        Assert.Equal("https://json-schema.org/draft/2020-12/schema", (string?)s_schema["$schema"]);
        Assert.Equal(["name", "steps"], s_schema["required"]!.AsArray().Select(n => (string?)n));
        Assert.False((bool)s_schema["additionalProperties"]!);
        Assert.Equal(
            ["name", "description", "inputs", "steps", "finally", "outputs"],
            s_schema["properties"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public void Schema_lists_every_step_type_and_every_parameter_with_its_requiredness()
    {
        var defs = s_schema["$defs"]!.AsObject();
        var uses = defs["step"]!["properties"]!["uses"]!["enum"]!.AsArray().Select(n => (string?)n);

        Assert.Equal(StepTypes.All.Select(t => t.Name), uses);
        foreach (var type in StepTypes.All)
        {
            var with = defs[WorkflowSchema.WithDefinitionName(type.Name)]!.AsObject();
            Assert.Equal(type.Parameters.Select(p => p.Name), with["properties"]!.AsObject().Select(p => p.Key));
            var required = with["required"]?.AsArray().Select(n => (string?)n) ?? [];
            Assert.Equal(type.Parameters.Where(p => p.Required).Select(p => p.Name), required);
            Assert.False((bool)with["additionalProperties"]!);
        }
    }

    [Fact]
    public void Schema_covers_every_step_field_the_reader_accepts()
    {
        var stepProperties = s_schema["$defs"]!["step"]!["properties"]!.AsObject().Select(p => p.Key);

        Assert.Equal(["id", "uses", "with", "outputs", "if", "retry", "timeout", "continue_on_error", "branches"], stepProperties);
    }

    [Fact]
    public void Schema_duration_pattern_agrees_with_the_duration_parser()
    {
        var pattern = new Regex((string)s_schema["$defs"]!["duration"]!["pattern"]!, RegexOptions.None, TimeSpan.FromSeconds(1));

        foreach (var text in new[] { "500ms", "1s", "30s", "5m", "2h", "1d", "1h30m", "1.5s", "5 minutes", "10", "s", "" })
        {
            Assert.Equal(Duration.TryParse(text, out _), pattern.IsMatch(text));
        }
    }

    [Theory]
    [MemberData(nameof(BuiltInWorkflowTests.Names), MemberType = typeof(BuiltInWorkflowTests))]
    public void Every_built_in_validates_against_the_schema(string name)
    {
        // Parsed from text, so that every value is backed by a JsonElement like any document a client sends.
        var json = JsonNode.Parse(WorkflowDefinitionWriter.ToJson(BuiltInWorkflows.Get(name)));

        Assert.Empty(MiniSchemaValidator.Validate(s_schema, json));
    }

    [Fact]
    public void The_example_using_every_field_validates_against_the_schema()
    {
        Assert.Empty(MiniSchemaValidator.Validate(s_schema, JsonNode.Parse(ReaderTests.Json)));
    }

    [Theory]
    [InlineData("""{"name": "x", "steps": [{"id": "a", "uses": "sleep", "with": {"duration": "1s", "jitter": "1s"}}]}""", "/steps/0/with/jitter")]
    [InlineData("""{"name": "x", "steps": [{"id": "a", "uses": "ssh.exe", "with": {}}]}""", "/steps/0/uses")]
    [InlineData("""{"name": "x", "steps": [{"id": "a", "uses": "sleep", "with": {"duration": "soon"}}]}""", "/steps/0/with/duration")]
    [InlineData("""{"name": "x", "steps": [{"id": "a", "uses": "ssh.exec", "with": {"instance": "i", "command": "a", "script": "b"}}]}""", "/steps/0/with")]
    [InlineData("""{"name": "x", "steps": [{"id": "a", "uses": "http.check"}]}""", "/steps/0")]
    [InlineData("""{"name": "x", "steps": []}""", "/steps")]
    [InlineData("""{"steps": [{"id": "a", "uses": "sleep", "with": {"duration": "1s"}}]}""", "")]
    [InlineData("""{"name": "x", "steps": [{"id": "a", "uses": "sleep", "with": {"duration": "1s"}, "retry": {"max_attempts": 0}}]}""", "/steps/0/retry/max_attempts")]
    public void Schema_rejects_what_the_reader_rejects(string json, string location)
    {
        Assert.NotEmpty(WorkflowDefinitionReader.Read(json, WorkflowFormat.Json).Errors);

        var errors = MiniSchemaValidator.Validate(s_schema, JsonNode.Parse(json));

        Assert.Contains(errors, e => e.StartsWith(location + ":", StringComparison.Ordinal));
    }
}

/// <summary>
/// Just enough of JSON Schema 2020-12 to check our schema means what it says: the keywords
/// WorkflowSchema emits ($ref, type, enum, const, pattern, required, properties,
/// additionalProperties, propertyNames, items, minItems, minimum, maximum, allOf, anyOf, oneOf,
/// not, if/then). No schema-validator package is available to the tests.
/// </summary>
internal static class MiniSchemaValidator
{
    public static List<string> Validate(JsonObject root, JsonNode? instance)
    {
        var errors = new List<string>();
        Check(root, root, instance, "", errors);
        return errors;
    }

    private static void Check(JsonObject root, JsonNode? schemaNode, JsonNode? instance, string location, List<string> errors)
    {
        if (schemaNode is JsonValue boolean && boolean.TryGetValue<bool>(out var allowed))
        {
            if (!allowed)
            {
                errors.Add($"{location}: not allowed");
            }

            return;
        }

        var schema = schemaNode!.AsObject();
        if (schema["$ref"] is { } reference)
        {
            var name = ((string)reference!)["#/$defs/".Length..];
            Check(root, root["$defs"]![name], instance, location, errors);
        }

        if (schema["type"] is { } type)
        {
            var types = type is JsonArray list ? list.Select(t => (string)t!).ToArray() : [(string)type!];
            if (!types.Any(t => HasType(instance, t)))
            {
                errors.Add($"{location}: expected {string.Join("|", types)}");
                return;
            }
        }

        if (schema["enum"] is JsonArray options && !options.Any(o => JsonNode.DeepEquals(o, instance)))
        {
            errors.Add($"{location}: not one of the enum values");
        }

        if (schema["const"] is { } constant && !JsonNode.DeepEquals(constant, instance))
        {
            errors.Add($"{location}: not the const value");
        }

        if (schema["pattern"] is { } pattern && instance is JsonValue s && s.TryGetValue<string>(out var text)
            && !Regex.IsMatch(text, (string)pattern!, RegexOptions.None, TimeSpan.FromSeconds(1)))
        {
            errors.Add($"{location}: does not match {pattern}");
        }

        if (instance is JsonValue number && number.TryGetValue<decimal>(out var value))
        {
            if (schema["minimum"] is { } min && value < (decimal)min)
            {
                errors.Add($"{location}: below minimum");
            }

            if (schema["maximum"] is { } max && value > (decimal)max)
            {
                errors.Add($"{location}: above maximum");
            }
        }

        if (instance is JsonObject obj)
        {
            foreach (var required in schema["required"]?.AsArray() ?? [])
            {
                if (!obj.ContainsKey((string)required!))
                {
                    errors.Add($"{location}: missing {required}");
                }
            }

            var properties = schema["properties"]?.AsObject();
            foreach (var (key, item) in obj)
            {
                if (schema["propertyNames"] is { } names)
                {
                    Check(root, names, JsonValue.Create(key), $"{location}/{key}", errors);
                }

                if (properties?[key] is { } property)
                {
                    Check(root, property, item, $"{location}/{key}", errors);
                }
                else if (schema["additionalProperties"] is { } additional)
                {
                    Check(root, additional, item, $"{location}/{key}", errors);
                }
            }
        }

        if (instance is JsonArray array)
        {
            if (schema["minItems"] is { } minItems && array.Count < (int)minItems)
            {
                errors.Add($"{location}: fewer than {minItems} items");
            }

            if (schema["items"] is { } items)
            {
                for (var i = 0; i < array.Count; i++)
                {
                    Check(root, items, array[i], $"{location}/{i}", errors);
                }
            }
        }

        foreach (var part in schema["allOf"]?.AsArray() ?? [])
        {
            Check(root, part, instance, location, errors);
        }

        if (schema["anyOf"] is JsonArray anyOf && !anyOf.Any(part => Validate(root, part, instance)))
        {
            errors.Add($"{location}: matches none of anyOf");
        }

        if (schema["oneOf"] is JsonArray oneOf && oneOf.Count(part => Validate(root, part, instance)) != 1)
        {
            errors.Add($"{location}: does not match exactly one of oneOf");
        }

        if (schema["not"] is { } not && Validate(root, not, instance))
        {
            errors.Add($"{location}: matches 'not'");
        }

        if (schema["if"] is { } condition && Validate(root, condition, instance) && schema["then"] is { } then)
        {
            Check(root, then, instance, location, errors);
        }
    }

    private static bool Validate(JsonObject root, JsonNode? schema, JsonNode? instance)
    {
        var errors = new List<string>();
        Check(root, schema, instance, "", errors);
        return errors.Count == 0;
    }

    private static bool HasType(JsonNode? instance, string type) => (type, instance) switch
    {
        ("object", JsonObject) => true,
        ("array", JsonArray) => true,
        ("null", null) => true,
        ("string", JsonValue v) => v.TryGetValue<string>(out _),
        ("boolean", JsonValue v) => v.TryGetValue<bool>(out _),
        ("number", JsonValue v) => v.TryGetValue<decimal>(out _),
        ("integer", JsonValue v) => v.TryGetValue<decimal>(out var d) && d == decimal.Truncate(d),
        _ => false,
    };
}
