namespace Orchestrator.Testing;

/// <summary>Finds external executables that fixtures drive (sshd, ssh-keygen, ...).</summary>
public static class ToolLocator
{
    /// <summary>
    /// Returns the absolute path of <paramref name="name"/>: the first existing file among
    /// <paramref name="preferredPaths"/>, else the first match on PATH, else null.
    /// </summary>
    /// <remarks>
    /// Preferred paths come first because tools such as sshd live in sbin directories that a
    /// non-root PATH often leaves out. The result is absolute because sshd refuses to re-exec
    /// itself from a relative path.
    /// </remarks>
    public static string? Find(string name, params IEnumerable<string> preferredPaths)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(preferredPaths);

        foreach (var candidate in preferredPaths)
        {
            if (IsExecutableFile(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        var pathVariable = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var directory in pathVariable.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (IsExecutableFile(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        return null;
    }

    private static bool IsExecutableFile(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(path) & anyExecute) != 0;
    }
}
