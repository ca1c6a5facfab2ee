using System.CommandLine;

namespace Orchestrator.Cli.Commands;

/// <summary>Helpers for options and values several commands share.</summary>
internal static class Args
{
    public static Command Command(string name, string description, params string[] examples) =>
        new(name, examples.Length == 0 ? description : description + "\n\nExamples:\n" + string.Join('\n', examples.Select(static e => "  " + e)));

    /// <summary>K=V pairs (from --env, --input, --secret), naming the option in the error.</summary>
    public static Dictionary<string, string>? Pairs(IEnumerable<string>? values, string option)
    {
        if (values is null)
        {
            return null;
        }

        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var value in values)
        {
            var equals = value.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new CliException(ExitCodes.Usage, $"{option} '{value}' is not KEY=VALUE.");
            }

            pairs[value[..equals]] = value[(equals + 1)..];
        }

        return pairs.Count == 0 ? null : pairs;
    }

    public static string Escape(string segment) => Uri.EscapeDataString(segment);

    public static string Time(DateTimeOffset? at) => at?.ToString("u", System.Globalization.CultureInfo.InvariantCulture) ?? "-";

    public static string Duration(DateTimeOffset? start, DateTimeOffset? end)
    {
        if (start is null)
        {
            return "-";
        }

        var span = (end ?? DateTimeOffset.UtcNow) - start.Value;
        return span.TotalSeconds < 60 ? $"{span.TotalSeconds:0.0}s" : $"{(int)span.TotalMinutes}m{span.Seconds:00}s";
    }
}
