using System.IO.Pipelines;

namespace Orchestrator.Grains.Sessions;

/// <summary>
/// Streamed stdin: the caller sends pieces with <see cref="ISshSessionGrain.WriteStdinAsync"/> while the command runs,
/// and the command's stdin reads them from a small pipe. A write waits while the pipe is full, so however large the
/// input, this activation holds at most <see cref="StdinPauseBytes"/> of it and a slow command slows its caller.
/// </summary>
internal sealed partial class SshSessionGrain
{
    private const long StdinPauseBytes = 256 * 1024;
    private const long StdinResumeBytes = 128 * 1024;

    private readonly Dictionary<Guid, StreamedStdin> _stdins = [];

    public async Task<bool> WriteStdinAsync(Guid stdinStream, byte[] data, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        return _stdins.TryGetValue(stdinStream, out var stdin) && await stdin.WriteAsync(data, cancellationToken);
    }

    public async Task CloseStdinAsync(Guid stdinStream, CancellationToken cancellationToken)
    {
        if (_stdins.TryGetValue(stdinStream, out var stdin))
        {
            await stdin.CloseAsync(cancellationToken);
        }
    }

    /// <summary>Registers the command's streamed stdin, when it has one, before the caller can write to it.</summary>
    private StreamedStdin? OpenStdin(ExecCommand command)
    {
        if (command.StdinStream is not { } id)
        {
            return null;
        }

        var stdin = new StreamedStdin();
        if (!_stdins.TryAdd(id, stdin))
        {
            throw new Instances.InstanceConflictException($"Stdin stream {id} belongs to another command.");
        }

        return stdin;
    }

    /// <summary>The command ended: writers still waiting are told it takes no more stdin.</summary>
    private async ValueTask CloseStdinAsync(ExecCommand command, StreamedStdin? stdin)
    {
        if (stdin is not null && command.StdinStream is { } id)
        {
            _stdins.Remove(id);
            await stdin.DisposeAsync();
        }
    }

    private sealed class StreamedStdin : IAsyncDisposable
    {
        private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: StdinPauseBytes, resumeWriterThreshold: StdinResumeBytes, useSynchronizationContext: false));

        // A PipeWriter takes one writer at a time; a reentrant grain could otherwise interleave two callers' writes.
        private readonly SemaphoreSlim _writer = new(1, 1);
        private bool _closed;

        /// <summary>What the command's stdin reads; end of file once the stream is closed.</summary>
        public Stream Reader { get; }

        public StreamedStdin() => Reader = _pipe.Reader.AsStream();

        public async Task<bool> WriteAsync(byte[] data, CancellationToken cancellationToken)
        {
            await _writer.WaitAsync(cancellationToken);
            try
            {
                if (_closed)
                {
                    return false;
                }

                var result = await _pipe.Writer.WriteAsync(data, cancellationToken);
                return !result.IsCompleted;
            }
            finally
            {
                _writer.Release();
            }
        }

        public async Task CloseAsync(CancellationToken cancellationToken)
        {
            await _writer.WaitAsync(cancellationToken);
            try
            {
                if (!_closed)
                {
                    _closed = true;
                    await _pipe.Writer.CompleteAsync();
                }
            }
            finally
            {
                _writer.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            // Completing the reader first releases a write waiting for room; then the writer can be taken.
            await _pipe.Reader.CompleteAsync();
            await CloseAsync(CancellationToken.None);
        }
    }
}
