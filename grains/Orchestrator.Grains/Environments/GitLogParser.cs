using System.Globalization;

namespace Orchestrator.Grains.Environments;

/// <summary>
/// <c>git log</c> with a fixed format: each commit's fields separated by U+001F and commits ended by U+001E, characters
/// that do not occur in names, emails, hashes or dates; the body comes last, so whatever it holds stays in it.
/// </summary>
internal static class GitLogParser
{
    /// <summary>The <c>--format</c> argument whose output <see cref="Parse"/> reads.</summary>
    public const string Format = "%H%x1f%P%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%cI%x1f%s%x1f%b%x1e";

    private const int FieldCount = 10;

    /// <exception cref="FormatException">The text is not in <see cref="Format"/>.</exception>
    public static IReadOnlyList<GitCommit> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var commits = new List<GitCommit>();
        foreach (var raw in text.Split('\u001e'))
        {
            // git ends each commit's format with a newline, which starts the next record.
            var record = raw.TrimStart('\n');
            if (record.Length == 0)
            {
                continue;
            }

            var fields = record.Split('\u001f', FieldCount);
            if (fields.Length != FieldCount)
            {
                throw new FormatException($"a log record has {fields.Length} fields; expected {FieldCount}");
            }

            if (fields[0].Length is not (40 or 64) || !fields[0].All(char.IsAsciiHexDigitLower))
            {
                throw new FormatException($"'{fields[0]}' is not a commit hash");
            }

            commits.Add(new GitCommit(
                fields[0],
                fields[1].Split(' ', StringSplitOptions.RemoveEmptyEntries),
                new GitPerson(fields[2], fields[3]),
                Date(fields[4]),
                new GitPerson(fields[5], fields[6]),
                Date(fields[7]),
                fields[8],
                fields[9].TrimEnd('\n')));
        }

        return commits;
    }

    private static DateTimeOffset Date(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date
            : throw new FormatException($"'{text}' is not an ISO 8601 date");
}
