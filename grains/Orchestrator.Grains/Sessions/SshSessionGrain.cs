using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Tenants;
using Orchestrator.Ssh;
using Orchestrator.Telemetry;
using Orleans.Concurrency;
using Orleans.Placement;
using Renci.SshNet.Common;

namespace Orchestrator.Grains.Sessions;

/// <summary>
/// Runs commands and shells on the silo's pooled connection to the instance (one per instance per silo, shared by
/// every session grain here). Reentrant: many commands stream at once, and a shell takes input while its output
/// streams. Placed on the silo that first calls it, so a co-hosted gateway streams output without a network hop.
/// </summary>
[Reentrant, PreferLocalPlacement]
internal sealed partial class SshSessionGrain(
    SshConnectionPool pool,
    InstanceSecretProtector secrets,
    IOptions<SshSessionOptions> options,
    TimeProvider time,
    OrchestratorMetrics metrics,
    ILogger<SshSessionGrain> logger) : Grain, ISshSessionGrain
{
    // Output chunks (up to 32 KB each) held between the SSH channel and a slower caller: the bound keeps memory
    // constant whatever the output size, and the SSH window stalls the remote command instead.
    private const int OutputBufferChunks = 16;
    private const int ShellReadBufferSize = 16 * 1024;
    private const string LaunchMarker = "orchestrator-launch";
    private const int MaxLaunchPreamble = 256 * 1024;

    private string _instanceKey = "";
    private string _instanceId = "";
    private ISshShell? _shell;
    private bool _shellClaimed;

    private SshSessionOptions Options => options.Value;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var (tenant, instanceId, sessionId) = SshSessionKey.Parse(this.GetPrimaryKeyString());
        if (TenantId.Validate(tenant) is { } tenantProblem)
        {
            throw new ArgumentException($"Tenant id '{tenant}' {tenantProblem}.");
        }

        if (InstanceSpecRules.ValidateName(instanceId) is { } nameProblem)
        {
            throw new InstanceValidationException("id", $"id {nameProblem}");
        }

        if (InstanceSpecRules.ValidateName(sessionId) is { } sessionProblem)
        {
            throw new InstanceValidationException("session", $"session {sessionProblem}");
        }

        _instanceId = instanceId;
        _instanceKey = InstanceKey.Format(tenant, instanceId);
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _shell, null) is { } shell)
        {
            await shell.DisposeAsync();
        }
    }

    public async IAsyncEnumerable<ExecEvent> ExecAsync(ExecCommand command, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (ExecCommandRules.Validate(command) is [var first, ..])
        {
            throw new InstanceValidationException(first.Field, $"{first.Field} {first.Problem}");
        }

        var stdin = OpenStdin(command);
        try
        {
            var target = await ConnectAsync(cancellationToken);
            yield return new ExecEvent(ExecEventKind.Started);

            var output = Channel.CreateBounded<ExecEvent>(new BoundedChannelOptions(OutputBufferChunks) { SingleReader = true, SingleWriter = true });
            using var abandon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var run = RunAsync(target, command, stdin?.Reader, output.Writer, abandon.Token);
            var drained = false;
            try
            {
                while (await output.Reader.WaitToReadAsync(cancellationToken))
                {
                    while (output.Reader.TryRead(out var item))
                    {
                        yield return item;
                    }
                }

                drained = true;
            }
            finally
            {
                if (!drained)
                {
                    // The caller stopped enumerating (went away): cancelling kills the remote process group.
                    await abandon.CancelAsync();
                    await run;
                }
            }

            if (await run is { } error)
            {
                throw error;
            }
        }
        finally
        {
            await CloseStdinAsync(command, stdin);
        }
    }

    public IAsyncEnumerable<ShellEvent> ShellAsync(int columns, int rows, CancellationToken cancellationToken) =>
        RunShellAsync(columns, rows, command: null, cancellationToken);

    public IAsyncEnumerable<ShellEvent> RunInTerminalAsync(int columns, int rows, string command, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        return RunShellAsync(columns, rows, command, cancellationToken);
    }

    private async IAsyncEnumerable<ShellEvent> RunShellAsync(int columns, int rows, string? command, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (ExecCommandRules.ValidateWindow(columns, rows) is { } windowProblem)
        {
            throw new InstanceValidationException("columns", windowProblem);
        }

        if (_shellClaimed)
        {
            throw new InstanceConflictException($"Session '{this.GetPrimaryKeyString()}' already has a shell open.");
        }

        _shellClaimed = true;
        try
        {
            var shell = await OpenShellAsync(columns, rows, cancellationToken);
            _shell = shell;
            LogShellOpened(_instanceKey, columns, rows);
            var buffer = new byte[ShellReadBufferSize];
            var skipped = command is null ? null : await LaunchAsync(shell, command, buffer, cancellationToken);
            yield return new ShellEvent(ShellEventKind.Opened);
            if (skipped is { Length: > 0 })
            {
                yield return new ShellEvent(ShellEventKind.Output, skipped);
            }

            int read;
            while ((read = await shell.Stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                yield return new ShellEvent(ShellEventKind.Output, buffer.AsSpan(0, read).ToArray());
            }

            var exitCode = await shell.Completion.WaitAsync(Options.ShellExitStatusWait, time, cancellationToken);
            LogShellClosed(_instanceKey, exitCode);
            yield return new ShellEvent(ShellEventKind.Exited, ExitCode: exitCode);
        }
        finally
        {
            if (Interlocked.Exchange(ref _shell, null) is { } open)
            {
                await open.DisposeAsync();
            }

            _shellClaimed = false;
        }
    }

    /// <summary>
    /// Types <paramref name="command"/> into the fresh login shell (the SSH library has no exec request with a PTY)
    /// and swallows everything up to a marker the shell prints just before it becomes the command: the prompt, banners
    /// and the typed line's echo. The echo shows the marker as the text <c>\036</c>, never as the byte, so only the
    /// printed marker ends the skip. Returns the command's first output after it.
    /// </summary>
    private static async Task<byte[]> LaunchAsync(ISshShell shell, string command, byte[] buffer, CancellationToken cancellationToken)
    {
        var launch = Encoding.UTF8.GetBytes($"stty -echo; printf '\\036{LaunchMarker}\\n'; exec {command}\n");
        await shell.Stream.WriteAsync(launch, cancellationToken);
        var marker = Encoding.ASCII.GetBytes("\u001E" + LaunchMarker);
        using var seen = new MemoryStream();
        while (true)
        {
            var read = await shell.Stream.ReadAsync(buffer, cancellationToken);
            if (read == 0)
            {
                return [];
            }

            seen.Write(buffer, 0, read);
            var bytes = seen.GetBuffer().AsSpan(0, (int)seen.Length);
            var at = bytes.IndexOf(marker);
            if (at >= 0)
            {
                var after = bytes[(at + marker.Length)..];
                var newline = after.IndexOf((byte)'\n');
                if (newline >= 0)
                {
                    return after[(newline + 1)..].ToArray();
                }
            }
            else if (seen.Length > MaxLaunchPreamble)
            {
                throw new InstanceUnreachableException(UnreachableReasons.Unreachable, "The machine's login shell did not start the terminal's command.");
            }
        }
    }

    public async Task WriteShellAsync(byte[] data, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        var shell = _shell ?? throw new InstanceConflictException($"Session '{this.GetPrimaryKeyString()}' has no open shell.");
        await shell.Stream.WriteAsync(data, cancellationToken);
    }

    public async Task ResizeShellAsync(int columns, int rows, CancellationToken cancellationToken)
    {
        if (ExecCommandRules.ValidateWindow(columns, rows) is { } windowProblem)
        {
            throw new InstanceValidationException("columns", windowProblem);
        }

        var shell = _shell ?? throw new InstanceConflictException($"Session '{this.GetPrimaryKeyString()}' has no open shell.");
        await shell.ResizeAsync(columns, rows);
    }

    /// <summary>Runs the command into <paramref name="output"/>; returns what went wrong instead of throwing, for the reader to rethrow.</summary>
    private async Task<Exception?> RunAsync(SshTarget target, ExecCommand command, Stream? streamedStdin, ChannelWriter<ExecEvent> output, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        using var span = StartExecSpan();
        var (status, exitCode) = (SshExecStatuses.Error, (int?)null);
        try
        {
            using var whole = command.Stdin is { } bytes ? new MemoryStream(bytes, writable: false) : null;
            var request = new SshExecRequest(command.Command, command.Env, command.Cwd, command.Timeout ?? ExecCommandRules.DefaultTimeout, streamedStdin ?? whole);
            // On the thread pool, not the activation's turn: SSH.NET opens channels synchronously, and a slow machine
            // must not stall every other call to this session (its other commands, their heartbeats) meanwhile.
            var result = await Task.Run(
                () => pool.ExecAsync(
                    _instanceKey,
                    target,
                    request,
                    (chunk, token) => output.WriteAsync(
                        new ExecEvent(chunk.Stream == SshOutputStream.Stdout ? ExecEventKind.Stdout : ExecEventKind.Stderr, chunk.Data.ToArray()),
                        token),
                    cancellationToken),
                CancellationToken.None);
            LogExecuted(_instanceKey, result.ExitCode, result.Signal, (long)result.Duration.TotalMilliseconds, result.TimedOut, result.Cancelled);
            (status, exitCode) = (SshExecStatuses.Classify(result.ExitCode, result.Signal, result.TimedOut, result.Cancelled), result.ExitCode);
            var exited = new ExecEvent(ExecEventKind.Exited, Exit: new ExecExit(result.ExitCode, result.Signal, result.Duration, result.TimedOut, result.Cancelled));
            if (!output.TryWrite(exited))
            {
                await output.WriteAsync(exited, cancellationToken);
            }

            return null;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            status = SshExecStatuses.Cancelled;
            return null;
        }
        catch (Exception exception)
        {
            return Translate(exception);
        }
        finally
        {
            EndExecSpan(span, status, started, exitCode);
            output.TryComplete();
        }
    }

    private Activity? StartExecSpan()
    {
        var span = OrchestratorTelemetry.Source.StartActivity(OrchestratorTelemetry.SshExecSpan, ActivityKind.Client);
        if (span is not null)
        {
            span.DisplayName = "ssh exec";
            span.SetTag("orchestrator.instance", _instanceKey);
        }

        return span;
    }

    private void EndExecSpan(Activity? span, string status, long started, int? exitCode)
    {
        metrics.SshExecEnded(status, time.GetElapsedTime(started));
        if (span is null)
        {
            return;
        }

        span.SetTag("ssh.exec.status", status);
        span.SetTag("ssh.exec.exit_code", exitCode);
        if (status == SshExecStatuses.Error)
        {
            span.SetStatus(ActivityStatusCode.Error);
        }
    }

    private async Task<ISshShell> OpenShellAsync(int columns, int rows, CancellationToken cancellationToken)
    {
        var target = await ConnectAsync(cancellationToken);
        try
        {
            return await Task.Run(() => pool.OpenShellAsync(_instanceKey, target, columns, rows, cancellationToken), CancellationToken.None);
        }
        catch (Exception exception) when (IsSshFailure(exception))
        {
            throw Translate(exception);
        }
    }

    /// <summary>
    /// Makes sure the connection is up before anything runs: a machine that just started gets a short grace while
    /// its sshd comes up, and the host key is pinned on first connect (a mismatch later is refused).
    /// </summary>
    private async Task<SshTarget> ConnectAsync(CancellationToken cancellationToken)
    {
        var target = await ResolveTargetAsync(cancellationToken);
        var deadline = time.GetUtcNow() + Options.ConnectRetryWindow;
        var delay = TimeSpan.FromMilliseconds(200);
        string hostKey;
        while (true)
        {
            try
            {
                hostKey = await Task.Run(() => pool.ConnectAsync(_instanceKey, target, cancellationToken), CancellationToken.None);
                break;
            }
            catch (Exception exception) when (IsTransient(exception) && time.GetUtcNow() + delay < deadline)
            {
                LogConnectRetry(_instanceKey, exception.Message);
                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
            catch (Exception exception) when (IsSshFailure(exception))
            {
                throw Translate(exception);
            }
        }

        if (target.PinnedHostKey is not null)
        {
            return target;
        }

        // The instance grain takes one call at a time and may be busy following a transition: wait for the pin a
        // little, then go on trusting this first connection (as trust on first use does anyway) and finish the pin
        // in the background.
        var pin = GrainFactory.GetGrain<IInstanceGrain>(_instanceKey).PinHostKeyAsync(hostKey, CancellationToken.None);
        if (await Task.WhenAny(pin, Task.Delay(Options.PinWait, time, cancellationToken)) == pin)
        {
            if (!await pin)
            {
                throw HostKeyNotPinned(hostKey);
            }

            var fingerprint = SshKeys.Fingerprint(hostKey);
            LogHostKeyPinned(_instanceKey, fingerprint);
        }
        else
        {
            _ = FinishPinAsync(pin, hostKey);
        }

        return target with { PinnedHostKey = hostKey };
    }

    private async Task FinishPinAsync(Task<bool> pin, string hostKey)
    {
        try
        {
            if (await pin)
            {
                var fingerprint = SshKeys.Fingerprint(hostKey);
                LogHostKeyPinned(_instanceKey, fingerprint);
                return;
            }

            var refusal = HostKeyNotPinned(hostKey).Message;
            LogPinRefused(_instanceKey, refusal);
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            LogPinRefused(_instanceKey, exception.Message);
        }

        // Unpinned or pinned to another key: the next command connects afresh and checks the pin.
        pool.Invalidate(_instanceKey);
    }

    private InstanceUnreachableException HostKeyNotPinned(string hostKey)
    {
        // Another silo pinned a different key between our read and our pin.
        pool.Invalidate(_instanceKey);
        return new InstanceUnreachableException(
            UnreachableReasons.HostKeyMismatch,
            $"Instance '{_instanceId}' presented SSH host key {SshKeys.Fingerprint(hostKey)}, which is not the key pinned for it. Connection refused.");
    }

    private async Task<SshTarget> ResolveTargetAsync(CancellationToken cancellationToken)
    {
        var access = await GrainFactory.GetGrain<IInstanceSshAccessGrain>(_instanceKey).GetSshAccessAsync(cancellationToken);
        var key = secrets.Unprotect(access.ProtectedPrivateKey, _instanceKey);
        try
        {
            return new SshTarget(access.Host, Options.Port, Options.UserName, Encoding.UTF8.GetString(key), access.PinnedHostKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static bool IsTransient(Exception exception) =>
        exception is SocketException or TimeoutException or SshConnectionException or SshOperationTimeoutException;

    private static bool IsSshFailure(Exception exception) =>
        IsTransient(exception) || exception is SshException or SshHostKeyMismatchException or IOException;

    private Exception Translate(Exception exception) => exception switch
    {
        SshHostKeyMismatchException mismatch => new InstanceUnreachableException(
            UnreachableReasons.HostKeyMismatch, $"Instance '{_instanceId}': {mismatch.Message}"),
        SshAuthenticationException auth => new InstanceUnreachableException(
            UnreachableReasons.AuthenticationFailed, $"Instance '{_instanceId}' did not accept its SSH key: {auth.Message}"),
        _ when IsSshFailure(exception) => new InstanceUnreachableException(
            UnreachableReasons.Unreachable, $"Instance '{_instanceId}' could not be reached over SSH: {exception.Message}"),
        _ => exception,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance {Instance}: pinned SSH host key {Fingerprint} on first connect")]
    private partial void LogHostKeyPinned(string instance, string fingerprint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {Instance}: the host key of the first connection could not be pinned ({Reason}); the connection is dropped")]
    private partial void LogPinRefused(string instance, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Instance {Instance}: SSH connect failed ({Reason}); retrying while the machine comes up")]
    private partial void LogConnectRetry(string instance, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Instance {Instance}: command ended: exit {ExitCode}, signal {Signal}, {DurationMs} ms, timed out {TimedOut}, cancelled {Cancelled}")]
    private partial void LogExecuted(string instance, int? exitCode, string? signal, long durationMs, bool timedOut, bool cancelled);

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance {Instance}: shell opened ({Columns}x{Rows})")]
    private partial void LogShellOpened(string instance, int columns, int rows);

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance {Instance}: shell closed with exit status {ExitCode}")]
    private partial void LogShellClosed(string instance, int? exitCode);
}
