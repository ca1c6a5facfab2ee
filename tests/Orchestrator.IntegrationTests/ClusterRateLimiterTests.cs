using System.Collections.Concurrent;
using System.Diagnostics;
using Orchestrator.Fly;

namespace Orchestrator.IntegrationTests;

/// <summary>The Fly rate limiter grain: two silos asking at once share one budget.</summary>
public sealed class ClusterRateLimiterTests(Orchestrator.Testing.PostgresDatabaseFixture database) : IClassFixture<Orchestrator.Testing.PostgresDatabaseFixture>
{
    [Fact]
    public async Task TwoSilosTogetherStayUnderOneBucket()
    {
        var connectionString = await database.CreateDatabaseAsync();
        await using var a = await SiloNode.StartAsync(connectionString, "limiter");
        await using var b = await SiloNode.StartAsync(connectionString, "limiter");
        // Fly's per-action rule (burst 3, 1/s) at the nodes' scale of 20: one token per 50 ms.
        var rule = FlyRateLimits.PerAction.Scaled(20);
        var key = new FlyRateLimitKey("POST apps/*/machines/*/start", "m-limited");
        var admitted = new ConcurrentBag<TimeSpan>();
        var clock = Stopwatch.StartNew();

        await Task.WhenAll(new[] { a, b }.SelectMany(node => Enumerable.Range(0, 12).Select(async _ =>
        {
            using var lease = await node.App.Services.GetRequiredService<IFlyRateLimiter>().AcquireAsync(key, CancellationToken.None);
            Assert.True(lease.IsAcquired);
            admitted.Add(clock.Elapsed);
        })));

        // A token bucket admits at most burst + t / interval calls in any span t: check every prefix.
        var times = admitted.Order().ToList();
        var slack = TimeSpan.FromMilliseconds(20);
        for (var i = rule.Burst; i < times.Count; i++)
        {
            var span = times[i] - times[0] + slack;
            Assert.True(i + 1 <= rule.Burst + (span / rule.Interval) + 1, $"call {i + 1} admitted after {span.TotalMilliseconds} ms: over the shared limit");
        }

        Assert.True(times[^1] - times[0] >= (rule.Interval * (times.Count - rule.Burst)) - TimeSpan.FromMilliseconds(100), $"24 calls took only {(times[^1] - times[0]).TotalMilliseconds} ms");
    }
}
