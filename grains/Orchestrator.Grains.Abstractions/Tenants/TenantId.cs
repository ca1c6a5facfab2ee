using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;

namespace Orchestrator.Grains.Tenants;

/// <summary>
/// Tenant ids become part of every grain key ("{tenant}/..."), so they may not contain the separator
/// or anything that needs escaping in a URL or a log line.
/// </summary>
public static partial class TenantId
{
    public const int MaxLength = 40;
    public const int MaxDisplayNameLength = 200;

    /// <summary>Returns <see langword="null"/> when <paramref name="id"/> is a valid tenant id, else the reason it is not.</summary>
    public static string? Validate([NotNullWhen(false)] string? id) => id switch
    {
        null or "" => "is required",
        { Length: > MaxLength } => $"must be at most {MaxLength} characters",
        _ when !Pattern().IsMatch(id) => "must start with a lowercase letter and contain only lowercase letters, digits and single dashes",
        _ => null,
    };

    /// <summary>Returns <see langword="null"/> when <paramref name="displayName"/> is acceptable, else the reason it is not.</summary>
    public static string? ValidateDisplayName([NotNullWhen(false)] string? displayName) => displayName switch
    {
        null => "is required",
        _ when string.IsNullOrWhiteSpace(displayName) => "must not be blank",
        { Length: > MaxDisplayNameLength } => $"must be at most {MaxDisplayNameLength} characters",
        _ when displayName.Any(char.IsControl) => "must not contain control characters",
        _ when HasBidiControl(displayName) => "must not contain bidirectional formatting characters",
        _ => null,
    };

    /// <summary>
    /// Whether <paramref name="text"/> holds a character that reorders how text around it is displayed (such as
    /// U+202E, right-to-left override): in an admin listing it could make one name look like another.
    /// </summary>
    public static bool HasBidiControl(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Any(static c => c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069'));
    }

    [GeneratedRegex("^[a-z](?:-?[a-z0-9])*$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
