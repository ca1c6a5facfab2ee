namespace Orchestrator.Grains.Sessions;

/// <summary>What a valid command looks like; shared by the gateway (400s) and the session grain (its own callers).</summary>
public static class ExecCommandRules
{
    public const int MaxCommandLength = 128 * 1024;
    public const int MaxEnvEntries = 256;
    public const int MaxEnvValueLength = 32 * 1024;
    public const int MaxCwdLength = 4096;
    public const int MaxStdinBytes = 8 * 1024 * 1024;
    public const int MinColumns = 1;
    public const int MaxColumns = 1000;

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromHours(1);
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(24);

    /// <summary>Every problem with <paramref name="command"/>, each naming the field as the API spells it.</summary>
    public static IReadOnlyList<(string Field, string Problem)> Validate(ExecCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        var problems = new List<(string, string)>();
        if (string.IsNullOrWhiteSpace(command.Command))
        {
            problems.Add(("command", "is required and must not be blank"));
        }
        else if (command.Command.Length > MaxCommandLength)
        {
            problems.Add(("command", $"must be at most {MaxCommandLength} characters"));
        }
        else if (command.Command.Contains('\0', StringComparison.Ordinal))
        {
            problems.Add(("command", "must not contain NUL characters"));
        }

        if (command.Env is { } env)
        {
            if (env.Count > MaxEnvEntries)
            {
                problems.Add(("env", $"must have at most {MaxEnvEntries} variables"));
            }

            foreach (var (name, value) in env)
            {
                if (ValidateEnvName(name) is { } nameProblem)
                {
                    problems.Add(($"env.{name}", nameProblem));
                }
                else if (value.Length > MaxEnvValueLength || value.Contains('\0', StringComparison.Ordinal))
                {
                    problems.Add(($"env.{name}", $"must be at most {MaxEnvValueLength} characters without NUL"));
                }
            }
        }

        if (command.Cwd is { } cwd && (cwd.Length is 0 or > MaxCwdLength || cwd.Contains('\0', StringComparison.Ordinal)))
        {
            problems.Add(("cwd", $"must be a path of 1 to {MaxCwdLength} characters without NUL"));
        }

        if (command.Timeout is { } timeout && (timeout <= TimeSpan.Zero || timeout > MaxTimeout))
        {
            problems.Add(("timeout_seconds", $"must be more than 0 and at most {MaxTimeout.TotalSeconds:0}"));
        }

        if (command.Stdin is { Length: > MaxStdinBytes })
        {
            problems.Add(("stdin", $"must be at most {MaxStdinBytes} bytes"));
        }

        if (command.StdinStream is { } stream && (command.Stdin is not null || stream == Guid.Empty))
        {
            problems.Add(("stdin", "is either given whole or streamed, with a non-empty stream id"));
        }

        return problems;
    }

    /// <summary>Null when <paramref name="name"/> is a POSIX variable name.</summary>
    public static string? ValidateEnvName(string name)
    {
        if (name.Length is 0 or > 256)
        {
            return "must be a variable name of 1 to 256 characters";
        }

        if (!(char.IsAsciiLetter(name[0]) || name[0] == '_') || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            return "must be a variable name: letters, digits and '_', not starting with a digit";
        }

        return null;
    }

    public static string? ValidateWindow(int columns, int rows) =>
        columns is < MinColumns or > MaxColumns || rows is < MinColumns or > MaxColumns
            ? $"columns and rows must be from {MinColumns} to {MaxColumns}"
            : null;
}
