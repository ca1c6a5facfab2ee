namespace Orchestrator.Workflows.Expressions;

/// <summary>A piece of a template: literal text, or a <c>${{ expression }}</c> interpolation.</summary>
public abstract record TemplatePart;

public sealed record TextPart(string Text) : TemplatePart;

/// <summary>An interpolation; <c>Raw</c> when written <c>${{ x | raw }}</c> (never shell-quoted).</summary>
public sealed record InterpolationPart(Expression Expression, bool Raw, int Position) : TemplatePart;

/// <summary>A string with <c>${{ }}</c> interpolations, parsed once and rendered many times.</summary>
public sealed record Template(string Source, ValueList<TemplatePart> Parts)
{
    public const string Open = "${{";
    public const string Close = "}}";
    public const string RawFilter = "raw";

    /// <summary>True when the text contains <c>${{</c>, i.e. is a template rather than a literal.</summary>
    public static bool IsTemplate(string text) => text.Contains(Open, StringComparison.Ordinal);

    /// <summary>The template is exactly one interpolation (so it may render to a number, boolean or object).</summary>
    public InterpolationPart? SoleInterpolation => Parts is [InterpolationPart only] ? only : null;

    public IEnumerable<InterpolationPart> Interpolations => Parts.OfType<InterpolationPart>();

    /// <exception cref="ExpressionSyntaxException">An interpolation is unclosed, empty, or not a valid expression.</exception>
    public static Template Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = new List<TemplatePart>();
        var i = 0;
        while (i < text.Length)
        {
            var open = text.IndexOf(Open, i, StringComparison.Ordinal);
            if (open < 0)
            {
                parts.Add(new TextPart(text[i..]));
                break;
            }

            if (open > i)
            {
                parts.Add(new TextPart(text[i..open]));
            }

            var close = FindClose(text, open + Open.Length);
            if (close < 0)
            {
                throw new ExpressionSyntaxException(
                    $"The '${{{{' at position {open + 1} is never closed; end the interpolation with '}}}}'.", open, WorkflowErrorCodes.TemplateSyntax);
            }

            var (expression, filter) = ExpressionParser.ParseInterpolation(text, open + Open.Length, close);
            if (filter is not null && filter != RawFilter)
            {
                throw new ExpressionSyntaxException(
                    $"Unknown filter '{filter}'; the only filter is 'raw' (insert the value unquoted into a shell command).", open, WorkflowErrorCodes.UnknownFilter);
            }

            parts.Add(new InterpolationPart(expression, filter == RawFilter, open));
            i = close + Close.Length;
        }

        return new Template(text, new ValueList<TemplatePart>(parts));
    }

    // Skips quoted strings so that '}}' inside a string literal does not end the interpolation.
    private static int FindClose(string text, int from)
    {
        var quote = '\0';
        for (var i = from; i < text.Length; i++)
        {
            var c = text[i];
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
            }
            else if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == '}' && i + 1 < text.Length && text[i + 1] == '}')
            {
                return i;
            }
        }

        return -1;
    }
}
