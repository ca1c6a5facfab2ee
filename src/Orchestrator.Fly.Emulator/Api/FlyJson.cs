using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Fly.Emulator.Api;

/// <summary>
/// JSON as Fly's Go server speaks it: snake_case names matched case-insensitively, unknown
/// fields ignored, and decode failures reported in Go's words (the fixture
/// <c>json: cannot unmarshal array into Go value of type main.stopRequest</c>).
/// </summary>
internal static class FlyJson
{
    public static readonly JsonSerializerOptions Options = Configure(new JsonSerializerOptions());

    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
        options.PropertyNameCaseInsensitive = true;
        // Fly's bodies show "+" in offsets and "<" in messages literally; escaping them is legal but unlike Fly.
        options.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        return options;
    }

    /// <summary>
    /// Reads the body as <typeparamref name="T"/>. An empty body is <paramref name="whenEmpty"/> (or a 400 when
    /// that is null, i.e. the body is required); anything that would not decode into Go's
    /// <paramref name="goType"/> is a 400 with Go's message.
    /// </summary>
    public static async Task<Outcome<T>> ReadAsync<T>(HttpRequest request, string goType, T? whenEmpty, CancellationToken cancellationToken)
        where T : class
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        if (buffer.Length == 0 || IsWhitespace(buffer))
        {
            return whenEmpty is null ? FlyErrors.BadRequest("EOF") : whenEmpty;
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(buffer.ToArray());
        }
        catch (JsonException ex)
        {
            return FlyErrors.BadRequest($"invalid character in JSON body at byte {ex.BytePositionInLine ?? 0}: {FirstSentence(ex.Message)}");
        }

        if (node is not JsonObject)
        {
            return FlyErrors.BadRequest($"json: cannot unmarshal {GoKind(node)} into Go value of type {goType}");
        }

        return Decode<T>(node, goType);
    }

    /// <summary>Decodes an already-parsed object, with the same Go-style errors.</summary>
    public static Outcome<T> Decode<T>(JsonNode node, string goType)
        where T : class
    {
        try
        {
            var value = node.Deserialize<T>(Options);
            return value is null ? FlyErrors.BadRequest($"json: cannot unmarshal null into Go value of type {goType}") : value;
        }
        catch (JsonException ex)
        {
            var path = ex.Path is { Length: > 2 } p ? p[2..] : "";
            var offending = path.Length > 0 ? Find(node, ex.Path!) : node;
            return FlyErrors.BadRequest($"json: cannot unmarshal {GoKind(offending)} into Go struct field {goType}.{path}");
        }
        catch (InvalidOperationException ex)
        {
            // JsonNode throws this when a value of the wrong kind is read through it.
            return FlyErrors.BadRequest($"json: cannot decode into Go value of type {goType}: {FirstSentence(ex.Message)}");
        }
    }

    /// <summary>Go's name for the kind of a JSON value, as in its unmarshal errors.</summary>
    public static string GoKind(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject => "object",
        JsonArray => "array",
        JsonValue value => value.GetValueKind() switch
        {
            JsonValueKind.String => "string",
            JsonValueKind.Number => "number",
            JsonValueKind.True or JsonValueKind.False => "bool",
            _ => "null",
        },
        _ => "value",
    };

    private static JsonNode? Find(JsonNode root, string path)
    {
        // Paths look like $.config.files[0].mode; walking them is best effort, only for the message.
        JsonNode? current = root;
        foreach (var segment in path.TrimStart('$').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = segment;
            var index = -1;
            var bracket = segment.IndexOf('[', StringComparison.Ordinal);
            if (bracket >= 0)
            {
                name = segment[..bracket];
                _ = int.TryParse(segment[(bracket + 1)..].TrimEnd(']'), out index);
            }

            current = name.Length > 0 && current is JsonObject obj ? FindProperty(obj, name) : current;
            if (index >= 0)
            {
                current = current is JsonArray array && index < array.Count ? array[index] : null;
            }
        }

        return current;
    }

    private static JsonNode? FindProperty(JsonObject obj, string name)
    {
        foreach (var (key, value) in obj)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return null;
    }

    private static bool IsWhitespace(MemoryStream buffer)
    {
        foreach (var b in buffer.GetBuffer().AsSpan(0, (int)buffer.Length))
        {
            if (b is not ((byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t'))
            {
                return false;
            }
        }

        return true;
    }

    private static string FirstSentence(string message)
    {
        var end = message.IndexOf(". ", StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }
}

/// <summary>Either a value or the Fly error that takes its place.</summary>
internal readonly record struct Outcome<T>(T? Value, FlyFailure? Failure)
{
    public bool IsSuccess => Failure is null;

    public static implicit operator Outcome<T>(T value) => new(value, null);

    public static implicit operator Outcome<T>(FlyFailure failure) => new(default, failure);
}
