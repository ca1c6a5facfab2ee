using System.Text;

namespace Orchestrator.Workflows.Runtime;

/// <summary>
/// POSIX shell quoting of interpolated values. Kept here rather than shared with Orchestrator.Ssh
/// so that this library stays free of project dependencies.
/// </summary>
public static class ShellQuoting
{
    /// <summary>
    /// One shell word: the value in single quotes, each <c>'</c> written <c>'\''</c>. Inside single
    /// quotes the shell expands nothing (<c>$</c>, backticks, <c>\</c>, newlines stay literal).
    /// </summary>
    /// <exception cref="ArgumentException">The value contains NUL, which no shell word can carry.</exception>
    public static string Quote(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The value contains NUL, which cannot be passed through a shell.", nameof(value));
        }

        var builder = new StringBuilder(value.Length + 2).Append('\'');
        foreach (var character in value)
        {
            builder.Append(character == '\'' ? "'\\''" : character.ToString());
        }

        return builder.Append('\'').ToString();
    }
}
