using System.Globalization;
using System.Text.Json.Nodes;

namespace Orchestrator.Workflows;

/// <summary>
/// The JSON path subset output captures use: <c>$</c> followed by <c>.name</c>, <c>['name']</c> or
/// <c>[index]</c> segments. No wildcards or filters: a capture names one value.
/// </summary>
public sealed class JsonPath
{
    private readonly ValueList<object> _segments;

    private JsonPath(string text, ValueList<object> segments)
    {
        Text = text;
        _segments = segments;
    }

    public string Text { get; }

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what is wrong and where.</summary>
    public static bool TryParse(string text, out JsonPath? path, out string? error)
    {
        path = null;
        error = null;
        if (!text.StartsWith('$'))
        {
            error = "a JSON path starts with '$', e.g. $.status or $.items[0].name";
            return false;
        }

        var segments = new List<object>();
        var i = 1;
        while (i < text.Length)
        {
            if (text[i] == '.')
            {
                var start = ++i;
                while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '_' or '-'))
                {
                    i++;
                }

                if (i == start)
                {
                    error = $"expected a property name after '.' at position {start + 1}";
                    return false;
                }

                segments.Add(text[start..i]);
            }
            else if (text[i] == '[')
            {
                var close = text.IndexOf(']', i);
                if (close < 0)
                {
                    error = $"'[' at position {i + 1} is never closed";
                    return false;
                }

                var inner = text[(i + 1)..close];
                if (inner.Length >= 2 && inner[0] is '\'' or '"' && inner[^1] == inner[0])
                {
                    segments.Add(inner[1..^1]);
                }
                else if (int.TryParse(inner, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    segments.Add(index);
                }
                else
                {
                    error = $"'[{inner}]' at position {i + 1} is neither an index like [0] nor a quoted name like ['key']";
                    return false;
                }

                i = close + 1;
            }
            else
            {
                error = $"unexpected '{text[i]}' at position {i + 1}; expected '.' or '['";
                return false;
            }
        }

        path = new JsonPath(text, new ValueList<object>(segments));
        return true;
    }

    public static JsonPath Parse(string text) =>
        TryParse(text, out var path, out var error) ? path! : throw new FormatException($"Invalid JSON path '{text}': {error}.");

    /// <summary>The node at this path, or null when any segment is missing.</summary>
    public JsonNode? Select(JsonNode? root)
    {
        var current = root;
        foreach (var segment in _segments)
        {
            current = (segment, current) switch
            {
                (string name, JsonObject obj) => obj[name],
                (int index, JsonArray array) when index < array.Count => array[index],
                _ => null,
            };
            if (current is null)
            {
                return null;
            }
        }

        return current;
    }
}
