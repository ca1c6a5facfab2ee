using System.Text;

namespace Orchestrator.Ssh;

/// <summary>POSIX shell quoting for building remote command lines.</summary>
public static class ShellQuote
{
    /// <summary>
    /// Quotes <paramref name="value"/> as one POSIX shell word: wrapped in single quotes, each
    /// embedded single quote written as <c>'\''</c>. Inside single quotes the shell interprets
    /// nothing ($, `, \, newlines all stay literal), so this is safe for any text without NUL.
    /// </summary>
    /// <exception cref="ArgumentException">The value contains NUL, which no shell word can carry.</exception>
    public static string Quote(string value, string? paramName = null)
    {
        ArgumentNullException.ThrowIfNull(value, paramName ?? nameof(value));
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException("The value contains NUL, which cannot be passed through a shell.", paramName ?? nameof(value));
        }

        var builder = new StringBuilder(value.Length + 2);
        builder.Append('\'');
        foreach (var character in value)
        {
            if (character == '\'')
            {
                builder.Append("'\\''");
            }
            else
            {
                builder.Append(character);
            }
        }

        return builder.Append('\'').ToString();
    }
}
