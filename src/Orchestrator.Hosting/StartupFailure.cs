namespace Orchestrator.Hosting;

/// <summary>
/// A failure that stops the process before it serves anything, reported as one line on standard
/// error with a distinct exit code instead of an unhandled-exception stack trace.
/// </summary>
public sealed class StartupFailureException : Exception
{
    public StartupFailureException()
        : this(StartupFailureKind.Configuration, "start-up failed")
    {
    }

    public StartupFailureException(string message)
        : this(StartupFailureKind.Configuration, message)
    {
    }

    public StartupFailureException(string message, Exception innerException)
        : this(StartupFailureKind.Configuration, message, innerException)
    {
    }

    public StartupFailureException(StartupFailureKind kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
    }

    public StartupFailureKind Kind { get; }

    public int ExitCode => Kind switch
    {
        StartupFailureKind.Configuration => StartupFailure.ConfigurationExitCode,
        _ => StartupFailure.DatabaseExitCode,
    };

    public static StartupFailureException FromProblems(IReadOnlyCollection<ConfigurationProblem> problems) =>
        new(StartupFailureKind.Configuration, "configuration error: " + string.Join("; ", problems));
}

public enum StartupFailureKind
{
    Configuration,
    Database,
}

public static class StartupFailure
{
    /// <summary>A setting is missing or malformed (sysexits EX_CONFIG).</summary>
    public const int ConfigurationExitCode = 78;

    /// <summary>The database is unreachable, refused us, or has a schema this build does not know (EX_UNAVAILABLE).</summary>
    public const int DatabaseExitCode = 69;

    /// <summary>Runs <paramref name="main"/>, turning a <see cref="StartupFailureException"/> into one line and an exit code.</summary>
    public static async Task<int> RunAsync(string processName, Func<Task> main)
    {
        try
        {
            await main();
            return 0;
        }
        catch (StartupFailureException ex)
        {
            await Console.Error.WriteLineAsync($"{processName}: {ex.Message}");
            return ex.ExitCode;
        }
    }
}
