using System.Globalization;
using System.Text.RegularExpressions;

namespace Orchestrator.Workflows;

/// <summary>Durations as authors write them: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>, <c>1d</c>, or sums like <c>1h30m</c>.</summary>
public static partial class Duration
{
    public const string Expected = "a duration such as 500ms, 30s, 5m, 2h, 1d or 1h30m";

    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (string.IsNullOrEmpty(text) || !Whole().IsMatch(text))
        {
            return false;
        }

        var total = 0m;
        foreach (Match part in Part().Matches(text))
        {
            var amount = decimal.Parse(part.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
            total += part.Groups[2].Value switch
            {
                "ms" => amount,
                "s" => amount * 1_000m,
                "m" => amount * 60_000m,
                "h" => amount * 3_600_000m,
                _ => amount * 86_400_000m,
            };
        }

        // A year is a generous ceiling for a durable sleep or a timeout; anything above is a typo.
        if (total > 366m * 86_400_000m)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds((double)total);
        return true;
    }

    public static TimeSpan Parse(string text) =>
        TryParse(text, out var value) ? value : throw new FormatException($"'{text}' is not {Expected}.");

    /// <summary>The shortest text that <see cref="TryParse"/> reads back to the same value.</summary>
    public static string Format(TimeSpan value)
    {
        var ms = (long)value.TotalMilliseconds;
        return ms switch
        {
            0 => "0s",
            _ when ms % 86_400_000 == 0 => $"{ms / 86_400_000}d",
            _ when ms % 3_600_000 == 0 => $"{ms / 3_600_000}h",
            _ when ms % 60_000 == 0 => $"{ms / 60_000}m",
            _ when ms % 1_000 == 0 => $"{ms / 1_000}s",
            _ => $"{ms}ms",
        };
    }

    [GeneratedRegex(@"^([0-9]+(\.[0-9]+)?(ms|s|m|h|d))+$", RegexOptions.CultureInvariant)]
    private static partial Regex Whole();

    [GeneratedRegex(@"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)", RegexOptions.CultureInvariant)]
    private static partial Regex Part();
}
