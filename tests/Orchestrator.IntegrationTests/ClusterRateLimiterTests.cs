using Orchestrator.Fly;

namespace Orchestrator.IntegrationTests;

/// <summary>The Fly rate limiter grain: two silos asking at once share one budget.</summary>
public sealed class ClusterRateLimiterTests(Orchestrator.Testing.PostgresDatabaseFixture database) : IClassFixture<Orchestrator.Testing.PostgresDatabaseFixture>
{
    // How far ahead the cluster limiter queues callers before refusing them (ClusterFlyRateLimiter.MaxDelay).
    private static readonly TimeSpan MaxQueue = TimeSpan.FromSeconds(15);

    private enum Outcome
    {
        AdmittedAtOnce,
        Queued,
        Refused,
    }

    [Fact]
    public async Task TwoSilosTogetherGetOneBudget()
    {
        var connectionString = await database.CreateDatabaseAsync();
        // Fly's own rates (scale 1): the per-action bucket refills one token a second, so the few milliseconds the
        // calls take cannot make up a second budget.
        await using var a = await SiloNode.StartAsync(connectionString, "limiter", "--Fly:RateLimitScale=1");
        await using var b = await SiloNode.StartAsync(connectionString, "limiter", "--Fly:RateLimitScale=1");
        var rule = FlyRateLimits.PerAction;
        // One bucket hands out its burst at once and queues callers up to MaxQueue ahead, then refuses.
        var budget = rule.Burst + (int)(MaxQueue / rule.Interval);
        var key = new FlyRateLimitKey("POST apps/*/machines/*/start", "m-limited");

        // Each caller gives up at once, so nobody waits for real time to pass: a permit free now is admitted,
        // a queued one ends in cancellation (its token stays spent), and a queue too long is refused.
        using var givenUp = new CancellationTokenSource();
        await givenUp.CancelAsync();
        var outcomes = await Task.WhenAll(new[] { a, b }.SelectMany(node => Enumerable.Range(0, budget).Select(async _ =>
        {
            var limiter = node.App.Services.GetRequiredService<IFlyRateLimiter>();
            try
            {
                using var lease = await limiter.AcquireAsync(key, givenUp.Token);
                return lease.IsAcquired ? Outcome.AdmittedAtOnce : Outcome.Refused;
            }
            catch (OperationCanceledException)
            {
                return Outcome.Queued;
            }
        })));

        var admitted = outcomes.Count(o => o == Outcome.AdmittedAtOnce);
        var granted = admitted + outcomes.Count(o => o == Outcome.Queued);
        var seen = $"{admitted} admitted at once, {granted - admitted} queued, {outcomes.Length - granted} refused";
        // The whole budget of the one bucket is handed out...
        Assert.True(admitted >= rule.Burst, seen);
        Assert.True(granted >= budget, seen);
        // ...and no more: a limiter per silo would have granted each silo's callers a budget of their own.
        Assert.True(granted < 2 * budget, seen);
    }
}
