namespace Orchestrator.Cli;

/// <summary>
/// What <c>orch</c> exits with, one code per kind of failure so scripts can branch on it. <c>exec</c> and <c>ssh</c>
/// exit with the remote command's code instead (128+N when a signal ended it).
/// </summary>
public static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The operation ran and failed: a run that failed or was cancelled, a definition with errors, a copy that did not complete.</summary>
    public const int Failure = 1;

    /// <summary>The command line or the request was wrong: unknown option, bad value, an API 400/413/415/422.</summary>
    public const int Usage = 2;

    /// <summary>The API answered 404.</summary>
    public const int NotFound = 3;

    /// <summary>The API answered 401 or 403: no key, a wrong or revoked key, or a tenant key for an admin call.</summary>
    public const int Auth = 4;

    /// <summary>The API answered 409: the object is in another state, or exists with other settings.</summary>
    public const int Conflict = 5;

    /// <summary>The server failed or could not be reached: 5xx, 429, a refused connection, a stream cut short.</summary>
    public const int Server = 6;

    /// <summary>Interrupted with Ctrl-C.</summary>
    public const int Interrupted = 130;

    public static int ForStatus(int status) => status switch
    {
        400 or 413 or 415 or 422 => Usage,
        401 or 403 => Auth,
        404 => NotFound,
        409 => Conflict,
        _ => Server,
    };
}

/// <summary>A failure that ends the command with <see cref="ExitCode"/> and one line on stderr.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
