namespace Orchestrator.Grains.Sessions;

/// <summary>
/// A named, persistent terminal session on an instance, keyed <c>{tenant}/{instanceId}/{sessionId}</c> (see
/// <see cref="SshSessionKey"/>). Its program runs in a tmux session on the machine (server socket
/// <see cref="TerminalSessionRules.TmuxSocket"/>), so it keeps running with nobody attached and outlives sockets,
/// gateways and the silo that hosted this grain; the grain keeps what the API shows (name, command, status) in storage.
/// </summary>
[Alias("orchestrator.ITerminalSessionGrain")]
public interface ITerminalSessionGrain : IGrainWithStringKey
{
    /// <summary>Starts the session's tmux session on the machine and records it; creating it again returns it unchanged.</summary>
    /// <exception cref="Instances.InstanceValidationException">The spec is invalid; the exception names the field.</exception>
    [Alias("Create")]
    Task<TerminalSessionInfo> CreateAsync(TerminalSessionSpec spec, CancellationToken cancellationToken = default);

    /// <summary>The session with its status read from the machine (a program that ended makes it <c>exited</c>).</summary>
    /// <exception cref="TerminalSessionNotFoundException">No such session.</exception>
    [Alias("Get")]
    Task<TerminalSessionInfo> GetAsync(CancellationToken cancellationToken = default);

    [Alias("Rename")]
    Task<TerminalSessionInfo> RenameAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Kills the tmux session (and so its processes) and forgets the session.</summary>
    [Alias("Delete")]
    Task DeleteAsync(CancellationToken cancellationToken = default);

    /// <summary>The screen as text, with up to <paramref name="scrollback"/> lines of history above it.</summary>
    [Alias("Screen")]
    Task<TerminalScreen> GetScreenAsync(int scrollback, CancellationToken cancellationToken = default);

    /// <summary>Types text (literally) or presses keys (tmux key names) in the session.</summary>
    /// <exception cref="TerminalSessionEndedException">The session's program has exited or the session was ended.</exception>
    [Alias("Input")]
    Task SendInputAsync(TerminalInput input, CancellationToken cancellationToken = default);

    /// <summary>
    /// The command that attaches a terminal to this session on the machine (<c>tmux attach</c>; read-only when
    /// <paramref name="viewOnly"/>). Counts as activity.
    /// </summary>
    [Alias("Attach")]
    Task<string> GetAttachCommandAsync(bool viewOnly, CancellationToken cancellationToken = default);

    /// <summary>
    /// The session read from the machine now, for a client that just ended: when the program has died but tmux does not
    /// have its exit status yet, waits for it (a few seconds at most), so an exit is reported with its code.
    /// </summary>
    /// <exception cref="TerminalSessionNotFoundException">No such session.</exception>
    [Alias("ProbeExit")]
    Task<TerminalSessionInfo> ProbeExitAsync(CancellationToken cancellationToken = default);

    /// <summary>Has every terminal attached to the session draw its whole screen again (for a viewer that just joined one).</summary>
    /// <exception cref="TerminalSessionNotFoundException">No such session.</exception>
    [Alias("Redraw")]
    Task RedrawAsync(CancellationToken cancellationToken = default);

    /// <summary>Ends the session when it has been idle (no input or output, nobody attached) longer than the tenant allows.</summary>
    [Alias("CheckIdle")]
    Task<TerminalSessionInfo?> CheckIdleAsync(CancellationToken cancellationToken = default);
}

/// <summary>The sessions of one instance, keyed <c>{tenant}/{instanceId}</c>; sessions add and remove themselves.</summary>
[Alias("orchestrator.ITerminalSessionListGrain")]
public interface ITerminalSessionListGrain : IGrainWithStringKey
{
    [Alias("Add")]
    Task AddAsync(string sessionId);

    [Alias("Remove")]
    Task RemoveAsync(string sessionId);

    /// <summary>Session ids, oldest first.</summary>
    [Alias("List"), Orleans.Concurrency.ReadOnly]
    Task<IReadOnlyList<string>> ListAsync();
}

/// <summary>What to run in a new session.</summary>
/// <param name="Name">Shown in lists; the id when null.</param>
/// <param name="Command">Shell text; null runs the user's login shell.</param>
/// <param name="Cwd">Working directory to start in.</param>
/// <param name="Env">Variables for the program; passed to tmux, never stored.</param>
/// <param name="Columns">The window's width until a client attaches with its own.</param>
/// <param name="Rows">The window's height until a client attaches with its own.</param>
[GenerateSerializer, Immutable, Alias("orchestrator.TerminalSessionSpec")]
public sealed record TerminalSessionSpec(
    [property: Id(0)] string? Name = null,
    [property: Id(1)] string? Command = null,
    [property: Id(2)] string? Cwd = null,
    [property: Id(3)] IReadOnlyDictionary<string, string>? Env = null,
    [property: Id(4)] int Columns = TerminalSessionRules.DefaultColumns,
    [property: Id(5)] int Rows = TerminalSessionRules.DefaultRows);

public static class TerminalSessionStatus
{
    public const string Running = "running";

    /// <summary>The program exited; <see cref="TerminalSessionInfo.ExitCode"/> says how.</summary>
    public const string Exited = "exited";

    /// <summary>The orchestrator ended it (idle timeout) or its tmux session vanished (machine restarted).</summary>
    public const string Ended = "ended";
}

public static class TerminalSessionEndReasons
{
    public const string Idle = "idle";
    public const string Lost = "lost";
}

[GenerateSerializer, Immutable, Alias("orchestrator.TerminalSessionInfo")]
public sealed record TerminalSessionInfo(
    [property: Id(0)] string Id,
    [property: Id(1)] string Name,
    [property: Id(2)] string Status,
    [property: Id(3)] string? Command,
    [property: Id(4)] string? Cwd,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] DateTimeOffset LastActivityAt,
    [property: Id(7)] int Attached,
    [property: Id(8)] int? ExitCode = null,
    [property: Id(9)] string? EndedReason = null,
    [property: Id(10)] DateTimeOffset? EndedAt = null);

/// <summary>The screen's text (lines joined by '\n'), the cursor (0-based, within the visible screen) and the size.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.TerminalScreen")]
public sealed record TerminalScreen(
    [property: Id(0)] string Text,
    [property: Id(1)] int CursorX,
    [property: Id(2)] int CursorY,
    [property: Id(3)] int Columns,
    [property: Id(4)] int Rows);

/// <summary>Either text typed literally or tmux key names pressed in order.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.TerminalInput")]
public sealed record TerminalInput(
    [property: Id(0)] string? Text = null,
    [property: Id(1)] IReadOnlyList<string>? Keys = null);

[GenerateSerializer, Alias("orchestrator.TerminalSessionNotFoundException")]
public sealed class TerminalSessionNotFoundException : Exception
{
    public TerminalSessionNotFoundException()
    {
    }

    public TerminalSessionNotFoundException(string message)
        : base(message)
    {
    }

    public TerminalSessionNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The session's program exited or the session was ended: it takes no more input.</summary>
[GenerateSerializer, Alias("orchestrator.TerminalSessionEndedException")]
public sealed class TerminalSessionEndedException : Exception
{
    public TerminalSessionEndedException()
    {
    }

    public TerminalSessionEndedException(string message)
        : base(message)
    {
    }

    public TerminalSessionEndedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
