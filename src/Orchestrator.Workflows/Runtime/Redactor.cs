namespace Orchestrator.Workflows.Runtime;

/// <summary>
/// Replaces every secret value with <c>***</c> in text bound for events and logs. It also hides the
/// shell-quoted spelling of each secret (<c>'</c> written <c>'\''</c>), because rendered commands carry secrets in that form.
/// </summary>
public sealed class Redactor
{
    public const string Mask = "***";

    private readonly string[] _values;

    public Redactor(IEnumerable<string> secretValues)
    {
        ArgumentNullException.ThrowIfNull(secretValues);
        // Longest first, so that a secret containing another secret is hidden whole.
        // Empty values are skipped: masking "" would insert *** between every character.
        _values = [.. secretValues
            .Where(static v => v.Length > 0)
            .SelectMany(static v => v.Contains('\0', StringComparison.Ordinal) ? [v] : new[] { v, ShellQuoting.Quote(v)[1..^1] })
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(static v => v.Length)];
    }

    public bool HasSecrets => _values.Length > 0;

    public string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var value in _values)
        {
            text = text.Replace(value, Mask, StringComparison.Ordinal);
        }

        return text;
    }

    /// <summary>A redactor for one stream of text that arrives in chunks cut anywhere, a secret included.</summary>
    public StreamRedactor CreateStream() => new(_values);
}
