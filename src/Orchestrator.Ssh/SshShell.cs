using System.Reflection;
using Renci.SshNet;

namespace Orchestrator.Ssh;

/// <summary>A PTY shell on a pooled connection; frees its channel slot once, on dispose.</summary>
internal sealed class SshShell : ISshShell
{
    private readonly ShellStream _shell;
    private readonly TaskCompletionSource<int?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Action? _release;
    // -1 until the server sends "exit-status" (real statuses are 0..255).
    private int _exitStatus = -1;

    public SshShell(ShellStream shell, Action release)
    {
        _shell = shell;
        _release = release;
        Stream = new ShellDuplexStream(shell);
        ObserveExitStatus(shell);
        shell.Closed += (_, _) => _completion.TrySetResult(ExitStatus);
    }

    public Stream Stream { get; }

    public Task<int?> Completion => _completion.Task;

    private int? ExitStatus => Volatile.Read(ref _exitStatus) is var status and >= 0 ? status : null;

    public Task ResizeAsync(int columns, int rows)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        _shell.ChangeWindowSize((uint)columns, (uint)rows, 0, 0);
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        _shell.Dispose();
        _completion.TrySetResult(ExitStatus);
        Interlocked.Exchange(ref _release, null)?.Invoke();
        return ValueTask.CompletedTask;
    }

    // SSH.NET 2026.0.0's ShellStream does not surface the "exit-status" channel request, so this
    // listens on its channel by reflection; if SSH.NET's internals change, Completion yields null.
    private void ObserveExitStatus(ShellStream shell)
    {
        try
        {
            var channel = typeof(ShellStream).GetField("_channel", BindingFlags.Instance | BindingFlags.NonPublic)?.GetValue(shell);
            var requestReceived = channel?.GetType().GetEvent("RequestReceived", BindingFlags.Instance | BindingFlags.Public);
            if (channel is null || requestReceived?.EventHandlerType is not { } handlerType)
            {
                return;
            }

            var method = typeof(SshShell).GetMethod(nameof(OnRequest), BindingFlags.Instance | BindingFlags.NonPublic)!;
            requestReceived.AddEventHandler(channel, Delegate.CreateDelegate(handlerType, this, method));
        }
        catch (Exception exception) when (exception is ArgumentException or InvalidOperationException or MemberAccessException or TargetException)
        {
            // Best effort: Completion still completes, without the status.
        }
    }

    private void OnRequest(object? sender, EventArgs e)
    {
        var info = e.GetType().GetProperty("Info")?.GetValue(e);
        if (info?.GetType().Name == "ExitStatusRequestInfo" && info.GetType().GetProperty("ExitStatus")?.GetValue(info) is uint status)
        {
            Volatile.Write(ref _exitStatus, (int)status);
        }
    }

    /// <summary>ShellStream buffers writes until Flush; a terminal needs every keystroke sent at once.</summary>
    private sealed class ShellDuplexStream(ShellStream shell) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => shell.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            shell.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            shell.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count)
        {
            shell.Write(buffer, offset, count);
            shell.Flush();
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await shell.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            await shell.FlushAsync(cancellationToken).ConfigureAwait(false);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() => shell.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => shell.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
