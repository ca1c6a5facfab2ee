using System.Globalization;
using System.Text.Json;

namespace Orchestrator.Gateway.Instances;

/// <summary>
/// System.Text.Json parses a string containing a lone surrogate escape ("\uD800") or invalid UTF-8 without
/// complaint and throws <see cref="InvalidOperationException"/> only when the string is read as text. Bodies
/// are checked once after parsing, so that such a string is a 400 naming its field rather than a 500 from
/// whichever parser reads it first.
/// </summary>
internal static class JsonBodyText
{
    /// <summary>Null when every string and property name in <paramref name="element"/> is text; else the field holding one that is not.</summary>
    public static string? FindUnreadable(JsonElement element) => Find(element, "");

    /// <summary>The problem for <see cref="FindUnreadable"/>'s field.</summary>
    public static IResult Problem(string field) =>
        InstanceProblems.Invalid(field, "is not valid text: it holds a lone UTF-16 surrogate escape or invalid UTF-8");

    private static string? Find(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return IsText(element) ? null : Field(path);
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return Field(path);
                    }

                    if (Find(property.Value, path.Length == 0 ? name : $"{path}.{name}") is { } field)
                    {
                        return field;
                    }
                }

                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (Find(item, $"{path}[{index.ToString(CultureInfo.InvariantCulture)}]") is { } field)
                    {
                        return field;
                    }

                    index++;
                }

                return null;
            default:
                return null;
        }
    }

    private static bool IsText(JsonElement element)
    {
        try
        {
            _ = element.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static string Field(string path) => path.Length == 0 ? "body" : path;
}
