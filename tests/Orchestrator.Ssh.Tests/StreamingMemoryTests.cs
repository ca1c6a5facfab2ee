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
}
