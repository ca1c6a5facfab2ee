using System.Globalization;

namespace Orchestrator.Grains.Environments;

/// <summary>
/// Parses <c>git status --porcelain=v2 --branch -z</c>: NUL-terminated records, so paths need no unquoting; a rename's
/// or copy's original path is the record after it. The format is git's stable machine interface (git-status(1)).
/// </summary>
internal static class GitStatusParser
{
    /// <exception cref="FormatException">The text is not porcelain v2 output.</exception>
    public static GitStatus Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string? branch = null;
        string? head = null;
        var detached = false;
        string? upstream = null;
        int? ahead = null;
        int? behind = null;
        var files = new List<GitFileStatus>();
        var conflicts = new List<string>();
        var records = text.Split('\0');
        for (var i = 0; i < records.Length; i++)
        {
            var record = records[i];
            if (record.Length == 0)
            {
                continue;
            }

            switch (record[0])
            {
                case '#':
                    var header = record.Split(' ', 3);
                    if (header.Length < 3)
                    {
                        break;
                    }

                    switch (header[1])
                    {
                        case "branch.oid":
                            head = header[2] == "(initial)" ? null : header[2];
                            break;
                        case "branch.head":
                            detached = header[2] == "(detached)";
                            branch = detached ? null : header[2];
                            break;
                        case "branch.upstream":
                            upstream = header[2];
                            break;
                        case "branch.ab":
                            var counts = header[2].Split(' ');
                            if (counts.Length != 2 || !counts[0].StartsWith('+') || !counts[1].StartsWith('-'))
                            {
                                throw new FormatException($"branch.ab '{header[2]}' is not '+<ahead> -<behind>'");
                            }

                            ahead = int.Parse(counts[0].AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture);
                            behind = int.Parse(counts[1].AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture);
                            break;
                    }

                    break;
                case '1':
                    // 1 XY sub mH mI mW hH hI path
                    var changed = Fields(record, 9);
                    files.Add(new GitFileStatus(changed[8], GitFileKinds.Changed, State(changed[1][0]), State(changed[1][1])));
                    break;
                case '2':
                    // 2 XY sub mH mI mW hH hI Xscore path, then the original path as the next record
                    var moved = Fields(record, 10);
                    if (i + 1 >= records.Length)
                    {
                        throw new FormatException($"rename of '{moved[9]}' has no original path");
                    }

                    var original = records[++i];
                    var kind = moved[8][0] == 'C' ? GitFileKinds.Copied : GitFileKinds.Renamed;
                    var score = int.Parse(moved[8].AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture);
                    files.Add(new GitFileStatus(moved[9], kind, State(moved[1][0]), State(moved[1][1]), original, score));
                    break;
                case 'u':
                    // u XY sub m1 m2 m3 mW h1 h2 h3 path
                    var unmerged = Fields(record, 11);
                    files.Add(new GitFileStatus(unmerged[10], GitFileKinds.Unmerged, State(unmerged[1][0]), State(unmerged[1][1])));
                    conflicts.Add(unmerged[10]);
                    break;
                case '?':
                    files.Add(new GitFileStatus(PathAfterMarker(record), GitFileKinds.Untracked, GitChangeStates.Untracked, GitChangeStates.Untracked));
                    break;
                case '!':
                    files.Add(new GitFileStatus(PathAfterMarker(record), GitFileKinds.Ignored, GitChangeStates.Ignored, GitChangeStates.Ignored));
                    break;
                default:
                    throw new FormatException($"unknown status record '{Shorten(record)}'");
            }
        }

        return new GitStatus(branch, head, detached, upstream, upstream is null ? null : ahead ?? 0, upstream is null ? null : behind ?? 0, files, conflicts);
    }

    /// <summary>Splits a record into <paramref name="count"/> fields; the last (the path) may contain spaces.</summary>
    private static string[] Fields(string record, int count)
    {
        var fields = record.Split(' ', count);
        if (fields.Length != count || fields[1].Length != 2)
        {
            throw new FormatException($"status record '{Shorten(record)}' has {fields.Length} fields; expected {count}");
        }

        return fields;
    }

    private static string PathAfterMarker(string record) =>
        record.Length > 2 && record[1] == ' ' ? record[2..] : throw new FormatException($"status record '{Shorten(record)}' has no path");

    internal static string State(char letter) => letter switch
    {
        '.' => GitChangeStates.Unmodified,
        'M' => GitChangeStates.Modified,
        'T' => GitChangeStates.TypeChanged,
        'A' => GitChangeStates.Added,
        'D' => GitChangeStates.Deleted,
        'R' => GitChangeStates.Renamed,
        'C' => GitChangeStates.Copied,
        'U' => GitChangeStates.Unmerged,
        _ => throw new FormatException($"unknown status letter '{letter}'"),
    };

    private static string Shorten(string text) => text.Length > 80 ? text[..80] + "…" : text;
}
