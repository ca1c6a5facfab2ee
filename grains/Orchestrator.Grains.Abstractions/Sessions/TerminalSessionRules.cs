using System.Text.RegularExpressions;

namespace Orchestrator.Grains.Sessions;

/// <summary>What valid session requests look like; shared by the gateway (400s) and the session grain (its own callers).</summary>
public static partial class TerminalSessionRules
{
    /// <summary>The tmux server socket (<c>tmux -L</c>) the sessions live on, apart from the user's own tmux.</summary>
    public const string TmuxSocket = "orchestrator";

    public const int DefaultColumns = 80;
    public const int DefaultRows = 24;
    public const int MaxNameLength = 64;
    public const int MaxScrollback = 10_000;
    public const int MaxInputTextLength = 64 * 1024;
    public const int MaxKeys = 256;

    /// <summary>Every problem with <paramref name="spec"/>, each naming the field as the API spells it.</summary>
    public static IReadOnlyList<(string Field, string Problem)> Validate(TerminalSessionSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var problems = new List<(string, string)>();
        if (spec.Name is { } name && ValidateName(name) is { } nameProblem)
        {
            problems.Add(("name", nameProblem));
        }

        // A missing command runs the login shell; env and cwd follow the rules of exec either way.
        problems.AddRange(ExecCommandRules.Validate(new ExecCommand(spec.Command ?? "true", spec.Env, spec.Cwd)));

        if (spec.Columns is < ExecCommandRules.MinColumns or > ExecCommandRules.MaxColumns)
        {
            problems.Add(("cols", $"must be from {ExecCommandRules.MinColumns} to {ExecCommandRules.MaxColumns}"));
        }

        if (spec.Rows is < ExecCommandRules.MinColumns or > ExecCommandRules.MaxColumns)
        {
            problems.Add(("rows", $"must be from {ExecCommandRules.MinColumns} to {ExecCommandRules.MaxColumns}"));
        }

        return problems;
    }

    /// <summary>Null when <paramref name="name"/> is a usable session name.</summary>
    public static string? ValidateName(string name) =>
        name.Length is 0 or > MaxNameLength || !NamePattern().IsMatch(name)
            ? $"must be 1 to {MaxNameLength} letters, digits, '.', '_' or '-', starting with a letter or digit"
            : null;

    public static string? ValidateScrollback(int scrollback) =>
        scrollback is < 0 or > MaxScrollback ? $"must be from 0 to {MaxScrollback}" : null;

    /// <summary>The first problem with <paramref name="input"/> as (field, problem), or null.</summary>
    public static (string Field, string Problem)? Validate(TerminalInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if ((input.Text is null) == (input.Keys is null))
        {
            return ("text", "give either text or keys, not both");
        }

        if (input.Text is { } text)
        {
            return text.Length is 0 or > MaxInputTextLength || text.Contains('\0', StringComparison.Ordinal)
                ? ("text", $"must be 1 to {MaxInputTextLength} characters without NUL")
                : null;
        }

        var keys = input.Keys!;
        if (keys.Count is 0 or > MaxKeys)
        {
            return ("keys", $"must list 1 to {MaxKeys} keys");
        }

        for (var i = 0; i < keys.Count; i++)
        {
            if (keys[i] is not { } key || !KeyPattern().IsMatch(key))
            {
                return ($"keys[{i}]", $"'{keys[i]}' is not a key name: use tmux names such as Enter, Escape, Tab, BSpace, Up, Down, Left, Right, Home, End, PageUp, PageDown, F1..F12, Space, a single character, with C-, M- or S- in front");
            }
        }

        return null;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex NamePattern();

    // tmux would type an unknown name literally, so only names it knows pass.
    [GeneratedRegex("^(?:[CMS]-)*(?:Enter|Escape|Tab|BTab|BSpace|Space|Up|Down|Left|Right|Home|End|PageUp|PgUp|PageDown|PgDn|PPage|NPage|IC|DC|Insert|Delete|F[1-9]|F1[0-2]|[!-~])$")]
    private static partial Regex KeyPattern();
}
