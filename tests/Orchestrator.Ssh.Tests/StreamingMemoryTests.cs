using System.Globalization;
using Orchestrator.Testing;
using static Orchestrator.Ssh.Tests.SshTestSupport;

namespace Orchestrator.Ssh.Tests;

/// <summary>Measures the process-wide heap, so it runs after the parallel classes, alone.</summary>
[CollectionDefinition(nameof(StreamingMemoryTests), DisableParallelization = true)]
public sealed class RunsAlone;

[Collection(nameof(StreamingMemoryTests))]
public sealed class StreamingMemoryTests(SshServerFixture fixture) : IClassFixture<SshServerFixture>, IAsyncLifetime
{
    private readonly SshConnectionPool _pool = CreatePool();

    private SshServer Server => fixture.Server;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _pool.DisposeAsync();

    [Fact]
    public async Task Twenty_megabytes_stream_in_bounded_memory()
    {
        const long Total = 20_000_000;
        long received = 0;
        var maxChunk = 0;
        var chunksBeforeEnd = 0;
        long nextSample = 0;
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = 0;

        var result = await _pool.ExecAsync("instance-1", Target(Server), new SshExecRequest($"head -c {Total} /dev/zero"), (chunk, _) =>
        {
            Assert.Equal(SshOutputStream.Stdout, chunk.Stream);
            received += chunk.Data.Length;
            maxChunk = Math.Max(maxChunk, chunk.Data.Length);
            chunksBeforeEnd++;
            if (received >= nextSample)
            {
                // Counting only: a full collection shows what is really retained mid-stream.
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: true) - baseline);
                nextSample += 2_000_000;
            }

            return ValueTask.CompletedTask;
        }, CancellationToken.None);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(Total, received);
        Assert.InRange(maxChunk, 1, 64 * 1024);
        Assert.True(chunksBeforeEnd > 100, $"output came in only {chunksBeforeEnd} chunks");
        // The heap is process-wide; this class runs alone (see its collection), and holding the
        // output would need at least the full 20 MB.
        Assert.True(peak < 12_000_000, $"managed memory grew by {peak:N0} bytes while streaming {Total:N0}");
    }

    [Fact]
    public async Task A_reader_that_stops_holds_the_remote_command_back_instead_of_buffering_its_output()
    {
        // More than sshd (16 MiB per channel) and the loopback socket buffers can hold between them, so a command
        // whose output nobody reads ends up waiting to write. The odd size finds the process on this host.
        var total = 64_000_000L + Random.Shared.Next(1, 999_999);
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        long received = 0;
        var baseline = GC.GetTotalMemory(forceFullCollection: true);

        // The marker (on this host, as sshd is) says when the command has written everything.
        var finished = Path.Combine(Path.GetTempPath(), $"orch-backpressure-{total}");
        var exec = _pool.ExecAsync("instance-1", Target(Server), new SshExecRequest($"head -c {total} /dev/zero; touch {finished}"), async (chunk, _) =>
        {
            received += chunk.Data.Length;
            await reading.Task;
        }, CancellationToken.None);

        long held;
        try
        {
            var commandLine = $"head\0-c\0{total}\0/dev/zero\0";
            await Wait.UntilAsync(
                () =>
                {
                    Assert.False(File.Exists(finished), $"the command wrote all {total:N0} bytes while its reader was held: nothing held it back");
                    return Task.FromResult(FindProcess(commandLine) is { State: 'S' } writer && writer.Written < total);
                },
                "the remote command to wait for its reader",
                TimeSpan.FromSeconds(60));
            held = GC.GetTotalMemory(forceFullCollection: true) - baseline;
        }
        finally
        {
            reading.TrySetResult();
            File.Delete(finished);
        }

        var result = await exec.WaitAsync(TimeSpan.FromSeconds(120));

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(total, received);
        Assert.True(held < 12_000_000, $"managed memory grew by {held:N0} bytes while the reader was held");
    }

    /// <summary>The state letter and bytes written of the local process with this exact command line, if it runs.</summary>
    private static (char State, long Written)? FindProcess(string commandLine)
    {
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            {
                continue;
            }

            try
            {
                if (File.ReadAllText(Path.Combine(directory, "cmdline")) != commandLine)
                {
                    continue;
                }

                // "pid (comm) S ...": the state follows the last parenthesis.
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var state = stat[stat.LastIndexOf(')') + 2];
                var written = File.ReadLines(Path.Combine(directory, "io")).First(l => l.StartsWith("wchar:", StringComparison.Ordinal))[6..].Trim();
                return (state, long.Parse(written, CultureInfo.InvariantCulture));
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // The process ended between listing and reading.
            }
        }

        return null;
    }
}
