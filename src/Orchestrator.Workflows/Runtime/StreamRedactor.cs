using System.Text;

namespace Orchestrator.Workflows.Runtime;

/// <summary>
/// Masks secrets in text that arrives in chunks (a command's output), where a chunk may end in the middle of a
/// secret. Each <see cref="Push"/> answers only text that no later chunk can turn into a secret: it holds back the
/// last (longest secret - 1) characters, which the next chunk or <see cref="Flush"/> completes. Concatenated, the
/// answers equal the whole text redacted at once (for secrets that do not overlap one another).
/// </summary>
public sealed class StreamRedactor
{
    private readonly string[] _values;
    private readonly int _holdBack;
    private string _held = "";

    /// <param name="values">The values to mask, longest first, none empty.</param>
    internal StreamRedactor(string[] values)
    {
        _values = values;
        _holdBack = values.Length == 0 ? 0 : values.Max(static v => v.Length) - 1;
    }

    /// <summary>The masked text that is safe to pass on now (possibly empty); the rest waits for the next chunk.</summary>
    public string Push(string chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (_values.Length == 0)
        {
            return chunk;
        }

        var text = _held + chunk;
        var (masked, end) = Mask(text, text.Length - _holdBack);
        _held = text[end..];
        return masked;
    }

    /// <summary>The text still held back, masked: call once at the end of the stream.</summary>
    public string Flush()
    {
        var (masked, _) = Mask(_held, _held.Length);
        _held = "";
        return masked;
    }

    /// <summary>
    /// Masks every secret that starts before <paramref name="cut"/> (such a secret is wholly in
    /// <paramref name="text"/>, since none is longer than the hold-back plus one), and answers where the masked part ends.
    /// </summary>
    private (string Masked, int End) Mask(string text, int cut)
    {
        var masked = new StringBuilder(Math.Max(cut, 0));
        var i = 0;
        while (i < cut)
        {
            var match = Array.Find(_values, v => text.AsSpan(i).StartsWith(v, StringComparison.Ordinal));
            if (match is not null)
            {
                masked.Append(Redactor.Mask);
                i += match.Length;
                continue;
            }

            if (char.IsHighSurrogate(text[i]) && i + 1 == cut && cut < text.Length)
            {
                // Never answer half of a surrogate pair: it waits with the held-back text.
                break;
            }

            masked.Append(text[i]);
            i++;
        }

        return (masked.ToString(), i);
    }
}
