namespace Orchestrator.Sandbox;

/// <summary>Absolute paths as a machine sees them, and where they live on the host.</summary>
internal static class GuestPaths
{
    /// <summary>
    /// Resolves <c>.</c> and <c>..</c> in an absolute guest path without touching the disk.
    /// A path that climbs above <c>/</c> is refused rather than clamped: it can only be a
    /// mistake or an attempt to write outside the machine.
    /// </summary>
    public static string Normalize(string guestPath, string parameterName)
    {
        ArgumentException.ThrowIfNullOrEmpty(guestPath, parameterName);
        if (guestPath[0] != '/')
        {
            throw new ArgumentException($"Guest path '{guestPath}' must be absolute.", parameterName);
        }

        if (guestPath.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("Guest paths cannot contain NUL.", parameterName);
        }

        var segments = new List<string>();
        foreach (var segment in guestPath.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                if (segments.Count == 0)
                {
                    throw new ArgumentException($"Guest path '{guestPath}' escapes the machine's root.", parameterName);
                }

                segments.RemoveAt(segments.Count - 1);
                continue;
            }

            segments.Add(segment);
        }

        return "/" + string.Join('/', segments);
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="directory"/> or lies below it (both normalized).</summary>
    public static bool IsAtOrBelow(string path, string directory) =>
        directory == "/"
        || string.Equals(path, directory, StringComparison.Ordinal)
        || path.StartsWith(directory + "/", StringComparison.Ordinal);

    /// <summary>The part of <paramref name="path"/> below <paramref name="directory"/>, without a leading slash.</summary>
    public static string RelativeTo(string path, string directory) =>
        directory == "/" ? path.TrimStart('/') : path[directory.Length..].TrimStart('/');
}
