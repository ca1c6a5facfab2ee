namespace Orchestrator.Ssh;

/// <summary>Where and as whom to connect.</summary>
/// <param name="Host">Host name or address.</param>
/// <param name="Port">TCP port of sshd.</param>
/// <param name="UserName">User to log in as.</param>
/// <param name="PrivateKeyOpenSsh">Client key in OpenSSH format.</param>
/// <param name="PinnedHostKey">
/// The server's host key as <c>type base64</c> (a comment after it is ignored), or null on first
/// connect, when any key is accepted and reported in <see cref="SshExecResult.HostKey"/> for the caller to pin.
/// </param>
public sealed record SshTarget(string Host, int Port, string UserName, string PrivateKeyOpenSsh, string? PinnedHostKey)
{
    // Keeps the private key out of logs and exception messages.
    public override string ToString() => $"SshTarget {{ {UserName}@{Host}:{Port}, PinnedHostKey = {PinnedHostKey ?? "(none)"} }}";
}

/// <summary>A command to run over SSH.</summary>
/// <param name="Command">Shell text run by <c>sh -c</c> on the remote.</param>
/// <param name="Environment">Variables set for the command (through <c>env</c>, so sshd's AcceptEnv does not matter).</param>
/// <param name="WorkingDirectory">Directory to run in; the command fails (exit 1 from cd) when it does not exist.</param>
/// <param name="Timeout">After this the remote process group is killed and the result says <see cref="SshExecResult.TimedOut"/>.</param>
/// <param name="StandardInput">Bytes fed to the command's stdin, then EOF; null sends EOF at once.</param>
public sealed record SshExecRequest(
    string Command,
    IReadOnlyDictionary<string, string>? Environment = null,
    string? WorkingDirectory = null,
    TimeSpan? Timeout = null,
    Stream? StandardInput = null);

/// <summary>Which output stream a chunk came from.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711:Identifiers should not have incorrect suffix", Justification = "Names the remote stdout/stderr stream; the name is part of the agreed contract.")]
public enum SshOutputStream
{
    Stdout,
    Stderr,
}

/// <summary>Output as it arrived. <see cref="Data"/> is only valid during the callback: copy it to keep it.</summary>
public readonly record struct SshOutputChunk(SshOutputStream Stream, ReadOnlyMemory<byte> Data);

/// <summary>How a command ended.</summary>
/// <param name="ExitCode">Exit status 0..255, or null when it was killed by a signal or the channel closed without one.</param>
/// <param name="Signal">Signal name without <c>SIG</c> (e.g. <c>TERM</c>, <c>KILL</c>) when killed by a signal.</param>
/// <param name="Duration">Time from the start of the call to the end of output.</param>
/// <param name="TimedOut">The request's timeout expired and the command was killed.</param>
/// <param name="Cancelled">The caller's token was cancelled and the command was killed.</param>
/// <param name="HostKey">The server host key seen on the connection, <c>type base64</c>, for pinning.</param>
public sealed record SshExecResult(int? ExitCode, string? Signal, TimeSpan Duration, bool TimedOut, bool Cancelled, string HostKey);

/// <summary>Tuning for <see cref="SshConnectionPool"/>.</summary>
public sealed class SshPoolOptions
{
    /// <summary>SSH keep-alive period; also how fast a dead peer is noticed.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>A connection with no open channel for this long is closed.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Bound on TCP connect + key exchange + authentication.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Channels (execs and shells) open at once per connection; callers beyond wait. Keep it below
    /// sshd's MaxSessions (OpenSSH default 10): the pool opens short kill channels outside this limit.
    /// </summary>
    public int MaxChannelsPerConnection { get; set; } = 8;
}

/// <summary>The server presented a host key other than the pinned one; the connection was refused.</summary>
public sealed class SshHostKeyMismatchException : Exception
{
    public SshHostKeyMismatchException()
        : this("The SSH host key did not match the pinned key.")
    {
    }

    public SshHostKeyMismatchException(string message)
        : base(message)
    {
    }

    public SshHostKeyMismatchException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal SshHostKeyMismatchException(string host, int port, string expectedFingerprint, string actualFingerprint, string actualHostKey, Exception? innerException)
        : base($"SSH host key of {host}:{port} does not match the pinned key: expected {expectedFingerprint}, got {actualFingerprint}. Connection refused.", innerException)
    {
        ExpectedFingerprint = expectedFingerprint;
        ActualFingerprint = actualFingerprint;
        ActualHostKey = actualHostKey;
    }

    public string? ExpectedFingerprint { get; }

    public string? ActualFingerprint { get; }

    /// <summary>The key the server presented, <c>type base64</c>.</summary>
    public string? ActualHostKey { get; }
}

/// <summary>An interactive PTY shell on a pooled connection. Disposing closes it and frees its channel.</summary>
public interface ISshShell : IAsyncDisposable
{
    /// <summary>Read terminal output bytes; write keystroke bytes (each write is sent at once).</summary>
    Stream Stream { get; }

    /// <summary>Completes when the shell's channel closes, with the exit status when the library reports one (else null).</summary>
    Task<int?> Completion { get; }

    /// <summary>Sends a window-change request.</summary>
    Task ResizeAsync(int columns, int rows);
}
