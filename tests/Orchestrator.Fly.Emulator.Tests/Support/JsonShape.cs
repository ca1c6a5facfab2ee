using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Orchestrator.Fly.Emulator.Tests.Support;

/// <summary>What may appear at one place in a response beyond what a fixture shows.</summary>
internal abstract class ShapeSchema
{
    /// <summary>A map (<c>additionalProperties</c>): any keys, none required.</summary>
    public abstract bool IsMap { get; }

    /// <summary>May the object here carry <paramref name="property"/>?</summary>
    public abstract bool Allows(string property);

    public abstract ShapeSchema? Property(string property);

    /// <summary>The schema of array items, or of a map's values.</summary>
    public abstract ShapeSchema? Items { get; }
}

/// <summary>Schemas from the OpenAPI document (resolving <c>$ref</c> and <c>allOf</c>).</summary>
internal sealed class OpenApiSchemas(JsonObject document)
{
    public ShapeSchema Named(string name) =>
        new Node(this, document["components"]?["schemas"]?[name]?.AsObject() ?? throw new ArgumentException($"No schema {name} in the OpenAPI document."));

    /// <summary>A schema with its $ref and allOf folded into one object.</summary>
    private JsonObject Resolve(JsonObject schema)
    {
        if (schema["$ref"]?.GetValue<string>() is { } reference)
        {
            return Resolve(document["components"]!["schemas"]![reference.Split('/')[^1]]!.AsObject());
        }

        if (schema["allOf"] is not JsonArray parts)
        {
            return schema;
        }

        var merged = new JsonObject();
        var properties = new JsonObject();
        foreach (var part in parts.Select(p => Resolve(p!.AsObject())).Append(schema))
        {
            foreach (var (key, value) in part["properties"]?.AsObject() ?? [])
            {
                properties[key] = value?.DeepClone();
            }

            if (part["additionalProperties"] is { } additional)
            {
                merged["additionalProperties"] = additional.DeepClone();
            }
        }

        merged["properties"] = properties;
        return merged;
    }

    private sealed class Node(OpenApiSchemas owner, JsonObject raw) : ShapeSchema
    {
        private readonly JsonObject _schema = owner.Resolve(raw);

        private JsonObject? Properties => _schema["properties"] as JsonObject;

        public override bool IsMap => Properties is null && _schema["additionalProperties"] is JsonObject;

        // An object schema without properties says nothing about its fields (e.g. MachineEvent.request).
        private bool IsOpen => Properties is null && _schema["additionalProperties"] is null;

        public override bool Allows(string property) => IsOpen || IsMap || Properties!.ContainsKey(property);

        public override ShapeSchema? Property(string property) =>
            Properties?[property] is JsonObject child ? new Node(owner, child) : null;

        public override ShapeSchema? Items =>
            (_schema["items"] ?? _schema["additionalProperties"]) is JsonObject items ? new Node(owner, items) : null;
    }
}

/// <summary>
/// Compares a response with a fixture by shape: every property the fixture has is there with the same
/// JSON kind, recursively; nothing is there that neither the fixture nor the schema (if given) knows;
/// and values that have a recognisable format in the fixture (ids, ULIDs, RFC 3339 times, epoch
/// milliseconds, IPs, ...) have that format in the response too. Other values may differ.
/// </summary>
internal static partial class JsonShape
{
    private static readonly (string Name, Regex Fixture, Regex Emulator)[] StringFormats =
    [
        ("RFC 3339 time with fraction", Rfc3339Fraction(), Rfc3339Fraction()),
        ("RFC 3339 time", Rfc3339Whole(), Rfc3339Whole()),
        ("sha256 digest", Sha256(), Sha256()),
        ("decimal id", Decimal(), Decimal()),
        ("machine id", MachineIdInFixture(), MachineId()),
        ("lease nonce", Nonce(), Nonce()),
        ("ULID", Ulid(), Ulid()),
        ("volume id", VolumeId(), VolumeId()),
        ("snapshot id", SnapshotId(), SnapshotId()),
        ("app id", AppId(), AppId()),
        ("zone", Zone(), Zone()),
    ];

    public static IReadOnlyList<string> Differences(JsonNode expected, JsonNode? actual, ShapeSchema? schema = null)
    {
        var differences = new List<string>();
        Compare(expected, actual, schema, "$", differences);
        return differences;
    }

    public static void AssertMatches(string fixtureName, JsonNode expected, JsonNode? actual, ShapeSchema? schema = null)
    {
        var differences = Differences(expected, actual, schema);
        Assert.True(
            differences.Count == 0,
            $"Response does not have the shape of {fixtureName}:\n  {string.Join("\n  ", differences)}\nResponse: {actual?.ToJsonString()}");
    }

    private static void Compare(JsonNode? expected, JsonNode? actual, ShapeSchema? schema, string path, List<string> differences)
    {
        // null in a fixture is Go's unset slice/map/pointer: it says nothing about the kind.
        if (expected is null)
        {
            return;
        }

        var expectedKind = expected.GetValueKind();
        var actualKind = actual?.GetValueKind() ?? JsonValueKind.Null;
        if (Kind(expectedKind) != Kind(actualKind))
        {
            differences.Add($"{path}: expected {Kind(expectedKind)}, got {Kind(actualKind)}");
            return;
        }

        switch (expected)
        {
            case JsonObject expectedObject:
                CompareObjects(expectedObject, actual!.AsObject(), schema, path, differences);
                break;
            case JsonArray expectedArray:
                CompareArrays(expectedArray, actual!.AsArray(), schema, path, differences);
                break;
            default:
                CompareValues(expected.AsValue(), actual!.AsValue(), path, differences);
                break;
        }
    }

    private static void CompareObjects(JsonObject expected, JsonObject actual, ShapeSchema? schema, string path, List<string> differences)
    {
        if (schema is { IsMap: true })
        {
            foreach (var (key, value) in expected)
            {
                if (actual.TryGetPropertyValue(key, out var actualValue))
                {
                    Compare(value, actualValue, schema.Items, $"{path}.{key}", differences);
                }
            }

            return;
        }

        foreach (var (key, value) in expected)
        {
            if (!actual.TryGetPropertyValue(key, out var actualValue))
            {
                differences.Add($"{path}.{key}: missing");
                continue;
            }

            Compare(value, actualValue, schema?.Property(key), $"{path}.{key}", differences);
        }

        foreach (var (key, _) in actual)
        {
            if (!expected.ContainsKey(key) && schema?.Allows(key) != true)
            {
                differences.Add($"{path}.{key}: not in the fixture{(schema is null ? "" : " nor in the API schema")}");
            }
        }
    }

    /// <summary>
    /// Every element of the response must match some element of the fixture, and the fixture's first
    /// element must be matched by some element of the response (so the response is not empty, and the
    /// fixture's leading example, e.g. an exit event, is represented).
    /// </summary>
    private static void CompareArrays(JsonArray expected, JsonArray actual, ShapeSchema? schema, string path, List<string> differences)
    {
        if (expected.Count == 0)
        {
            return;
        }

        if (actual.Count == 0)
        {
            differences.Add($"{path}: expected a non-empty array like the fixture's, got []");
            return;
        }

        for (var i = 0; i < actual.Count; i++)
        {
            var best = expected
                .Select(e => { var d = new List<string>(); Compare(e, actual[i], schema?.Items, $"{path}[{i}]", d); return d; })
                .MinBy(d => d.Count)!;
            if (best.Count > 0)
            {
                differences.AddRange(best);
            }
        }

        var first = new List<string>();
        if (!actual.Any(a => { first.Clear(); Compare(expected[0], a, schema?.Items, path, first); return first.Count == 0; }))
        {
            differences.Add($"{path}: no element has the shape of the fixture's first element {expected[0]!.ToJsonString()}");
        }
    }

    private static void CompareValues(JsonValue expected, JsonValue actual, string path, List<string> differences)
    {
        if (expected.GetValueKind() == JsonValueKind.String)
        {
            var fixtureValue = expected.GetValue<string>();
            var actualValue = actual.GetValue<string>();
            if (IPAddress.TryParse(fixtureValue, out _) && fixtureValue.Contains(':', StringComparison.Ordinal) && !IPAddress.TryParse(actualValue, out _))
            {
                differences.Add($"{path}: expected an IP address like \"{fixtureValue}\", got \"{actualValue}\"");
                return;
            }

            foreach (var (name, fixture, emulator) in StringFormats)
            {
                if (fixture.IsMatch(fixtureValue))
                {
                    if (!emulator.IsMatch(actualValue))
                    {
                        differences.Add($"{path}: expected a {name} like \"{fixtureValue}\", got \"{actualValue}\"");
                    }

                    return;
                }
            }

            return;
        }

        if (expected.GetValueKind() == JsonValueKind.Number && expected.TryGetValue<long>(out var fixtureNumber))
        {
            var actualNumber = actual.TryGetValue<long>(out var n) ? n : (long)actual.GetValue<double>();
            // Unix times: milliseconds (event timestamps, app created_at) vs seconds (lease expires_at).
            var expectedScale = Epoch(fixtureNumber);
            if (expectedScale is not null && Epoch(actualNumber) != expectedScale)
            {
                differences.Add($"{path}: expected unix {expectedScale} like {fixtureNumber.ToString(CultureInfo.InvariantCulture)}, got {actualNumber.ToString(CultureInfo.InvariantCulture)}");
            }
        }
    }

    private static string? Epoch(long value) => value switch
    {
        >= 1_000_000_000_000 and < 10_000_000_000_000 => "milliseconds",
        >= 1_000_000_000 and < 10_000_000_000 => "seconds",
        _ => null,
    };

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Undefined => "nothing",
        _ => kind.ToString().ToLowerInvariant(),
    };

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+(Z|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339Fraction();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339Whole();

    [GeneratedRegex("^sha256:[0-9a-f]{64}$")]
    private static partial Regex Sha256();

    [GeneratedRegex(@"^\d+$")]
    private static partial Regex Decimal();

    // A few docs examples have 15 hex characters; real machine ids (and the emulator's) have 14.
    [GeneratedRegex("^[0-9a-f]{14,15}$")]
    private static partial Regex MachineIdInFixture();

    [GeneratedRegex("^[0-9a-f]{14}$")]
    private static partial Regex MachineId();

    [GeneratedRegex("^[0-9a-f]{12}$")]
    private static partial Regex Nonce();

    [GeneratedRegex("^[0-9A-HJKMNP-TV-Z]{26}$")]
    private static partial Regex Ulid();

    [GeneratedRegex("^vol_[a-z0-9]{16}$")]
    private static partial Regex VolumeId();

    [GeneratedRegex("^vs_[A-Za-z0-9]{20,}$")]
    private static partial Regex SnapshotId();

    [GeneratedRegex("^[a-z0-9]{16}$")]
    private static partial Regex AppId();

    [GeneratedRegex("^[0-9a-f]{4}$")]
    private static partial Regex Zone();
}

/// <summary>Schemas that are not in the OpenAPI document: an array of some schema, or another fixture's shape.</summary>
internal static class Shapes
{
    public static ShapeSchema ArrayOf(ShapeSchema items) => new Array(items);

    /// <summary>What a newer fixture of the same response shows is allowed (a legacy fixture lacks newer fields).</summary>
    public static ShapeSchema Example(JsonNode example) => new ExampleSchema(example);

    private sealed class Array(ShapeSchema items) : ShapeSchema
    {
        public override bool IsMap => false;

        public override bool Allows(string property) => false;

        public override ShapeSchema? Property(string property) => null;

        public override ShapeSchema? Items => items;
    }

    private sealed class ExampleSchema(JsonNode? example) : ShapeSchema
    {
        public override bool IsMap => false;

        public override bool Allows(string property) => example is JsonObject obj && obj.ContainsKey(property);

        public override ShapeSchema? Property(string property) =>
            example is JsonObject obj && obj[property] is { } child ? new ExampleSchema(child) : null;

        public override ShapeSchema? Items => example is JsonArray { Count: > 0 } array ? new ExampleSchema(array[0]) : null;
    }
}
