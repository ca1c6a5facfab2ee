using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Fly.Emulator;
using Orchestrator.Ssh;
using Renci.SshNet;

namespace Orchestrator.Benchmarks;

/// <summary>
/// Bulk output of one command, <c>head -c N /dev/zero</c>, read to the end on an emulator machine, side by side:
/// SSH.NET on an open connection reading the command's own output stream (the floor, which buffers without bound)
/// and Orchestrator's pooled exec (output held at most 1 MiB per stream ahead of the reader). The two take turns.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class ExecOutputBenchmark(int runs, int mebibytes)
{
    public const int WarmUps = 2;

    public async Task<IReadOnlyList<(string Name, double MedianMilliseconds)>> RunAsync()
    {
        await using var emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(20), RateLimitScale = 20 });
        var server = await ExecBenchmark.CreateMachineAsync(emulator);
        var bytes = (long)mebibytes * 1024 * 1024;
        var command = $"head -c {bytes.ToString(CultureInfo.InvariantCulture)} /dev/zero";

        using var pem = new MemoryStream(Encoding.UTF8.GetBytes(server.ClientPrivateKeyPem));
        using var client = new SshClient(server.Host, server.Port, server.UserName, new PrivateKeyFile(pem));
        await client.ConnectAsync(CancellationToken.None);
        await using var pool = new SshConnectionPool(new SshPoolOptions(), NullLogger<SshConnectionPool>.Instance, TimeProvider.System);
        var target = new SshTarget(server.Host, server.Port, server.UserName, server.ClientPrivateKeyPem, PinnedHostKey: null);

        var methods = new ExecBenchmark.Method[]
        {
            new("(c) SSH.NET, the command's output stream (floor)", async () =>
            {
                using var ssh = client.CreateCommand(command);
                var execution = ssh.ExecuteAsync(CancellationToken.None);
                var buffer = ArrayPool<byte>.Shared.Rent(32 * 1024);
                long read = 0;
                int n;
                while ((n = await ssh.OutputStream.ReadAsync(buffer.AsMemory(0, 32 * 1024))) > 0)
                {
                    read += n;
                }

                ArrayPool<byte>.Shared.Return(buffer);
                await execution;
                Expect(read, bytes);
            }),
            new("(d) Orchestrator SshConnectionPool.ExecAsync", async () =>
            {
                long read = 0;
                await pool.ExecAsync("bench", target, new SshExecRequest(command), (chunk, _) =>
                {
                    read += chunk.Data.Length;
                    return ValueTask.CompletedTask;
                }, CancellationToken.None);
                Expect(read, bytes);
            }),
        };

        var measured = await ExecBenchmark.MeasureInterleavedAsync(methods, runs, WarmUps);
        return [.. measured.Select(static m => (m.Name, m.Result.P50))];
    }

    private static void Expect(long read, long bytes)
    {
        if (read != bytes)
        {
            throw new InvalidOperationException($"read {read} bytes of {bytes}");
        }
    }
}
