using Orleans.Concurrency;

namespace Orchestrator.Grains.Sessions;

/// <summary>
/// SSH to one instance, keyed <c>{tenant}/{instanceId}/{sessionId}</c> (see <see cref="SshSessionKey"/>). Holds no
/// state of its own: the connection is the silo's pooled one to the instance, re-opened on demand. Commands and
/// shells stream their output as it arrives, so a command that runs for hours never holds one grain call open;
/// completion comes as the last event. Disposing the enumeration (the caller went away) kills the remote command.
/// </summary>
[Alias("orchestrator.ISshSessionGrain")]
public interface ISshSessionGrain : IGrainWithStringKey
{
    /// <summary>
    /// Runs a command: first <see cref="ExecEventKind.Started"/> once the machine accepted the connection, then
    /// output chunks, then one <see cref="ExecEventKind.Exited"/>.
    /// </summary>
    /// <exception cref="Instances.InstanceValidationException">The command is invalid; the exception names the field.</exception>
    /// <exception cref="Instances.InstanceNotFoundException">The instance was never created.</exception>
    /// <exception cref="Instances.InstanceDestroyedException">The instance was destroyed.</exception>
    /// <exception cref="Instances.InstanceConflictException">The instance is not started.</exception>
    /// <exception cref="InstanceUnreachableException">The machine could not be reached or refused the connection.</exception>
    [Alias("Exec")]
    IAsyncEnumerable<ExecEvent> ExecAsync(ExecCommand command, CancellationToken cancellationToken = default);

    /// <summary>
    /// Feeds the next piece of stdin to the running command whose <see cref="ExecCommand.StdinStream"/> is
    /// <paramref name="stdinStream"/>. Answers once the piece is taken into the command's small stdin buffer, so a
    /// caller that awaits each piece moves at the pace the command reads. False when the command no longer takes stdin
    /// (it ended, or its stdin was closed): the caller stops sending.
    /// </summary>
    [Alias("WriteStdin"), AlwaysInterleave]
    Task<bool> WriteStdinAsync(Guid stdinStream, byte[] data, CancellationToken cancellationToken = default);

    /// <summary>Ends the streamed stdin: the command reads end of file once it has read what was written before.</summary>
    [Alias("CloseStdin"), AlwaysInterleave]
    Task CloseStdinAsync(Guid stdinStream, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens this session's PTY shell and streams its output: first <see cref="ShellEventKind.Opened"/>, then
    /// output, then <see cref="ShellEventKind.Exited"/>. One shell per session; ending the enumeration closes it.
    /// </summary>
    [Alias("Shell")]
    IAsyncEnumerable<ShellEvent> ShellAsync(int columns, int rows, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="ShellAsync"/>, but the PTY runs <paramref name="command"/> (shell text, as root) instead of staying
    /// in the login shell: <see cref="ShellEventKind.Opened"/> comes once the command has started, and nothing the
    /// login shell printed before it (prompt, banners) is relayed.
    /// </summary>
    [Alias("RunInTerminal")]
    IAsyncEnumerable<ShellEvent> RunInTerminalAsync(int columns, int rows, string command, CancellationToken cancellationToken = default);

    /// <summary>Sends keystrokes to the open shell.</summary>
    /// <exception cref="Instances.InstanceConflictException">No shell is open in this session.</exception>
    [Alias("WriteShell"), AlwaysInterleave]
    Task WriteShellAsync(byte[] data, CancellationToken cancellationToken = default);

    /// <summary>Changes the open shell's window size.</summary>
    [Alias("ResizeShell"), AlwaysInterleave]
    Task ResizeShellAsync(int columns, int rows, CancellationToken cancellationToken = default);
}

/// <summary>Builds session grain keys; the tenant comes first, as in every grain key.</summary>
public static class SshSessionKey
{
    /// <summary>The session that runs the API's one-off commands for an instance.</summary>
    public const string ExecSession = "exec";

    public static string Format(string tenant, string instanceId, string sessionId) => $"{tenant}/{instanceId}/{sessionId}";

    public static (string Tenant, string InstanceId, string SessionId) Parse(string key)
    {
        var parts = key.Split('/');
        return parts is [{ Length: > 0 } tenant, { Length: > 0 } instance, { Length: > 0 } session]
            ? (tenant, instance, session)
            : throw new ArgumentException($"Session key '{key}' is not '{{tenant}}/{{instanceId}}/{{sessionId}}'.", nameof(key));
    }
}

/// <summary>A command to run on an instance.</summary>
/// <param name="Command">Shell text, run by <c>sh -c</c> as root.</param>
/// <param name="Env">Variables for the command.</param>
/// <param name="Cwd">Working directory; the command fails with exit 1 when it does not exist.</param>
/// <param name="Timeout">After this the command's process group is killed; null means <see cref="ExecCommandRules.DefaultTimeout"/>.</param>
/// <param name="Stdin">Bytes fed to stdin, then end of file.</param>
/// <param name="StdinStream">
/// When set, stdin is not <paramref name="Stdin"/> but arrives while the command runs, through
/// <see cref="ISshSessionGrain.WriteStdinAsync"/> and <see cref="ISshSessionGrain.CloseStdinAsync"/> with this id
/// (a fresh one per command), without a size limit.
/// </param>
[GenerateSerializer, Immutable, Alias("orchestrator.ExecCommand")]
public sealed record ExecCommand(
    [property: Id(0)] string Command,
    [property: Id(1)] IReadOnlyDictionary<string, string>? Env = null,
    [property: Id(2)] string? Cwd = null,
    [property: Id(3)] TimeSpan? Timeout = null,
    [property: Id(4)] byte[]? Stdin = null,
    [property: Id(5)] Guid? StdinStream = null);

public enum ExecEventKind
{
    /// <summary>The machine accepted the connection and the command is starting.</summary>
    Started,
    Stdout,
    Stderr,

    /// <summary>The last event: <see cref="ExecEvent.Exit"/> says how the command ended.</summary>
    Exited,
}

/// <summary>One step of a command's life. <see cref="Data"/> is set for output, <see cref="Exit"/> for the end.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.ExecEvent")]
public sealed record ExecEvent(
    [property: Id(0)] ExecEventKind Kind,
    [property: Id(1)] byte[]? Data = null,
    [property: Id(2)] ExecExit? Exit = null);

/// <summary>How a command ended.</summary>
/// <param name="ExitCode">0..255, or null when a signal ended it.</param>
/// <param name="Signal">Signal name without <c>SIG</c> (e.g. <c>TERM</c>, <c>KILL</c>).</param>
/// <param name="Duration">From the start of the command to the end of its output.</param>
/// <param name="TimedOut">Its timeout expired and it was killed.</param>
/// <param name="Cancelled">The caller went away and it was killed.</param>
[GenerateSerializer, Immutable, Alias("orchestrator.ExecExit")]
public sealed record ExecExit(
    [property: Id(0)] int? ExitCode,
    [property: Id(1)] string? Signal,
    [property: Id(2)] TimeSpan Duration,
    [property: Id(3)] bool TimedOut,
    [property: Id(4)] bool Cancelled);

public enum ShellEventKind
{
    Opened,
    Output,
    Exited,
}

[GenerateSerializer, Immutable, Alias("orchestrator.ShellEvent")]
public sealed record ShellEvent(
    [property: Id(0)] ShellEventKind Kind,
    [property: Id(1)] byte[]? Data = null,
    [property: Id(2)] int? ExitCode = null);
