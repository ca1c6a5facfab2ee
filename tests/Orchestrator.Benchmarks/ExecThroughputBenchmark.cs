using System.Diagnostics;
using System.Globalization;
using Orchestrator.Fly.Emulator;

namespace Orchestrator.Benchmarks;

/// <summary>
/// Execs of `true` through the HTTP API under load: instances created through the API on one emulator, each round
/// sending <c>concurrency</c> execs to every instance at once and waiting for all of them. Each instance's execs share
/// its session grain and one pooled SSH connection, whose channels are capped (SshPoolOptions.MaxChannelsPerConnection,
/// 8) below sshd's MaxSessions: the rest queue in the pool, by design.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class ExecThroughputBenchmark(int instances, int concurrency, int rounds)
{
    public async Task<ThroughputReport> RunAsync(Action<ThroughputRound> onRound)
    {
        ThroughputReport report;
        SandboxProcesses sandboxes;
        await using (var emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(20), RateLimitScale = 20 }))
        {
            sandboxes = new SandboxProcesses(emulator.DataDirectory);
            await using var silo = await ApiSilo.StartAsync(emulator);
            var names = Enumerable.Range(0, instances).Select(i => string.Create(CultureInfo.InvariantCulture, $"bench-{i}")).ToArray();
            var create = Stopwatch.StartNew();
            await Task.WhenAll(names.Select(name => silo.CreateStartedAsync(name)));
            var created = create.Elapsed;

            // Not counted: activates the grains and opens each instance's pooled connection.
            await RoundAsync(silo, names);
            var latencies = new List<double>(instances * concurrency * rounds);
            var elapsed = TimeSpan.Zero;
            var cpu = TimeSpan.Zero;
            var sandboxCpu = TimeSpan.Zero;
            var failures = new List<string>();
            for (var round = 1; round <= rounds; round++)
            {
                var (cpuBefore, sandboxCpuBefore) = (Environment.CpuUsage.TotalTime, sandboxes.CpuTime());
                var (took, samples, failed) = await RoundAsync(silo, names);
                cpu += Environment.CpuUsage.TotalTime - cpuBefore;
                sandboxCpu += sandboxes.CpuTime() - sandboxCpuBefore;
                latencies.AddRange(samples);
                failures.AddRange(failed);
                elapsed += took;
                onRound(new ThroughputRound(round, samples.Count, failed.Count, took, Percentiles.Of(samples)));
            }

            sandboxes.Record();
            report = new ThroughputReport(created, latencies.Count, failures, elapsed, Percentiles.Of(latencies), cpu / Math.Max(1, latencies.Count + failures.Count), sandboxCpu / Math.Max(1, latencies.Count + failures.Count), 0, []);
        }

        return report with { SandboxProcesses = sandboxes.Count, LeftOver = sandboxes.Alive() };
    }

    private async Task<(TimeSpan Took, List<double> Samples, List<string> Failures)> RoundAsync(ApiSilo silo, string[] names)
    {
        var clock = Stopwatch.StartNew();
        var outcomes = await Task.WhenAll(names.SelectMany(name => Enumerable.Range(0, concurrency).Select(_ => ExecAsync(silo, name))));
        var took = clock.Elapsed;
        return (took, [.. outcomes.Where(o => o.Failure is null).Select(o => o.Milliseconds)], [.. outcomes.Select(o => o.Failure).OfType<string>()]);
    }

    private static async Task<(double Milliseconds, string? Failure)> ExecAsync(ApiSilo silo, string name)
    {
        // Yield first: every request is sent before any is awaited, so all of them are in flight at once.
        await Task.Yield();
        var start = Stopwatch.GetTimestamp();
        try
        {
            var (_, exitCode) = await silo.ExecTrueAsync(name);
            return (Stopwatch.GetElapsedTime(start).TotalMilliseconds, exitCode == 0 ? null : $"{name}: true exited {exitCode}");
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or TaskCanceledException)
        {
            return (Stopwatch.GetElapsedTime(start).TotalMilliseconds, $"{name}: {ex.GetType().Name}: {ex.Message}");
        }
    }
}

internal sealed record ThroughputRound(int Round, int Execs, int Failures, TimeSpan Elapsed, Percentiles Latency);

internal sealed record ThroughputReport(
    TimeSpan CreateElapsed,
    int Execs,
    IReadOnlyList<string> Failures,
    TimeSpan Elapsed,
    Percentiles Latency,
    TimeSpan CpuPerExec,
    TimeSpan SandboxCpuPerExec,
    int SandboxProcesses,
    IReadOnlyList<string> LeftOver);
