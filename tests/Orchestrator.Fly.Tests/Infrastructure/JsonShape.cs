using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Fly.Tests.Infrastructure;

/// <summary>
/// Compares two JSON documents by shape and value: same property names, same values, in any order. A
/// <c>null</c> in the expected document may be absent from the actual one (requests leave unset
/// members out); numbers compare by value and RFC 3339 strings by instant.
/// </summary>
public static class JsonShape
{
    public static void AssertSame(string expected, string actual, string what) =>
        AssertSame(JsonNode.Parse(expected), JsonNode.Parse(actual), what);

    public static void AssertSame(JsonNode? expected, JsonNode? actual, string what)
    {
        var differences = new List<string>();
        Compare(expected, actual, "$", differences);
        Assert.True(differences.Count == 0, $"{what}: {string.Join("; ", differences)}\nexpected: {expected?.ToJsonString()}\nactual:   {actual?.ToJsonString()}");
    }

    private static void Compare(JsonNode? expected, JsonNode? actual, string path, List<string> differences)
    {
        switch (expected)
        {
            case null:
                if (actual is not null)
                {
                    differences.Add($"{path} should be null, was {actual.ToJsonString()}");
                }

                break;
            case JsonObject expectedObject:
                if (actual is not JsonObject actualObject)
                {
                    differences.Add($"{path} should be an object, was {actual?.ToJsonString() ?? "missing"}");
                    return;
                }

                foreach (var (name, value) in expectedObject)
                {
                    if (!actualObject.TryGetPropertyValue(name, out var actualMember))
                    {
                        if (value is not null)
                        {
                            differences.Add($"{path}.{name} is missing");
                        }

                        continue;
                    }

                    Compare(value, actualMember, $"{path}.{name}", differences);
                }

                foreach (var (name, _) in actualObject)
                {
                    if (!expectedObject.ContainsKey(name))
                    {
                        differences.Add($"{path}.{name} is unexpected");
                    }
                }

                break;
            case JsonArray expectedArray:
                if (actual is not JsonArray actualArray || actualArray.Count != expectedArray.Count)
                {
                    differences.Add($"{path} should be an array of {expectedArray.Count}, was {actual?.ToJsonString() ?? "missing"}");
                    return;
                }

                for (var i = 0; i < expectedArray.Count; i++)
                {
                    Compare(expectedArray[i], actualArray[i], $"{path}[{i}]", differences);
                }

                break;
            case JsonValue expectedValue:
                if (actual is not JsonValue actualValue || !SameValue(expectedValue, actualValue))
                {
                    differences.Add($"{path} should be {expectedValue.ToJsonString()}, was {actual?.ToJsonString() ?? "missing"}");
                }

                break;
        }
    }

    private static bool SameValue(JsonValue expected, JsonValue actual)
    {
        var e = expected.GetValueKind();
        var a = actual.GetValueKind();
        if (e != a)
        {
            return false;
        }

        return e switch
        {
            JsonValueKind.Number => expected.GetValue<decimal>() == actual.GetValue<decimal>(),
            JsonValueKind.String => SameString(expected.GetValue<string>(), actual.GetValue<string>()),
            _ => expected.ToJsonString() == actual.ToJsonString(),
        };
    }

    private static bool SameString(string expected, string actual)
    {
        if (expected == actual)
        {
            return true;
        }

        // RFC 3339 timestamps may be re-written with another offset notation or fraction length.
        return expected.Length >= 20 && expected[4] == '-' && expected[10] == 'T'
            && DateTimeOffset.TryParse(expected, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var e)
            && DateTimeOffset.TryParse(actual, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var a)
            && Math.Abs((e - a).Ticks) < 10; // nanoseconds beyond the 100 ns tick are dropped
    }
}
