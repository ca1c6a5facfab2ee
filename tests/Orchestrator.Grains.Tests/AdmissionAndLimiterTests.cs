using Orchestrator.Grains.Fly;
using Orchestrator.Grains.Tenants;

namespace Orchestrator.Grains.Tests;

/// <summary>The cluster's two gatekeepers: run admission per tenant and the Fly request budget per app.</summary>
[Collection(FakeTimeCluster.Name)]
public sealed class AdmissionAndLimiterTests(FakeTimeClusterFixture fixture)
{
    private readonly string _tenant = $"t-{Guid.NewGuid():N}"[..30];

    [Fact]
    public async Task AdmissionAdmitsUpToTheLimitRefusesBeyondAndARepeatIsFree()
    {
        var admission = await AdmissionWithLimitAsync(2);

        await admission.AdmitAsync("run-a");
        await admission.AdmitAsync("run-b");
        var refused = await Assert.ThrowsAsync<QuotaExceededException>(() => admission.AdmitAsync("run-c"));
        await admission.AdmitAsync("run-a");
        await admission.AdmitAsync("run-b");

        Assert.Equal(QuotaExceededException.MaxConcurrentRuns, refused.Quota);
        Assert.Equal(2, refused.Limit);
        Assert.Contains("already has 2 live runs (its max_concurrent_runs is 2)", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReleasedRunFreesItsPlaceAtOnce()
    {
        var admission = await AdmissionWithLimitAsync(1);
        await admission.AdmitAsync("run-a");
        await Assert.ThrowsAsync<QuotaExceededException>(() => admission.AdmitAsync("run-b"));

        await admission.ReleaseAsync("run-a");

        // Release is one-way: the admission that follows may overtake it, so it is asked until it is through.
        await Eventually.UntilAsync(() => TryAdmitAsync(admission, "run-b"), admitted => admitted, "run-b to be admitted after run-a's release");
        await Assert.ThrowsAsync<QuotaExceededException>(() => admission.AdmitAsync("run-c"));
    }

    [Fact]
    public async Task AnAdmittedRunThatNeverReachesTheIndexHoldsItsPlaceForThirtySecondsOfFakeTime()
    {
        var admission = await AdmissionWithLimitAsync(1);
        await admission.AdmitAsync("run-lost");

        fixture.Clock.Advance(TimeSpan.FromSeconds(29));
        await Assert.ThrowsAsync<QuotaExceededException>(() => admission.AdmitAsync("run-next"));
        fixture.Clock.Advance(TimeSpan.FromSeconds(2));
        await admission.AdmitAsync("run-next");
    }

    [Fact]
    public async Task TheLimiterGrantsABurstThenDelaysByTheFakeClockAndRefusesPastTheMaxDelay()
    {
        var limiter = fixture.Client.GetGrain<IFlyRateLimiterGrain>($"app-{Guid.NewGuid():N}");
        const string Action = "POST apps/*/machines/*/start";
        var interval = TimeSpan.FromSeconds(1);
        var maxDelay = TimeSpan.FromMilliseconds(2500);

        var burst = new List<FlyPermit>();
        for (var i = 0; i < 3; i++)
        {
            burst.Add(await limiter.AcquireAsync(Action, "m1", 3, interval, maxDelay));
        }

        var fourth = await limiter.AcquireAsync(Action, "m1", 3, interval, maxDelay);
        var fifth = await limiter.AcquireAsync(Action, "m1", 3, interval, maxDelay);
        var refused = await limiter.AcquireAsync(Action, "m1", 3, interval, maxDelay);
        var otherScope = await limiter.AcquireAsync(Action, "m2", 3, interval, maxDelay);
        fixture.Clock.Advance(TimeSpan.FromMilliseconds(2500));
        var afterRefill = await limiter.AcquireAsync(Action, "m1", 3, interval, maxDelay);
        fixture.Clock.Advance(TimeSpan.FromMinutes(1));
        var full = await limiter.AcquireAsync(Action, "m1", 3, interval, maxDelay);

        Assert.All(burst, p => Assert.Equal(new FlyPermit(true, TimeSpan.Zero), p));
        Assert.Equal(new FlyPermit(true, TimeSpan.FromSeconds(1)), fourth);
        Assert.Equal(new FlyPermit(true, TimeSpan.FromSeconds(2)), fifth);
        // The wait would be 3 s, past the 2.5 s allowed: no permit, and no token taken.
        Assert.Equal(new FlyPermit(false, TimeSpan.FromSeconds(3)), refused);
        Assert.Equal(new FlyPermit(true, TimeSpan.Zero), otherScope);
        // 2.5 s refilled 2.5 tokens onto -2: half a token short.
        Assert.Equal(new FlyPermit(true, TimeSpan.FromMilliseconds(500)), afterRefill);
        Assert.Equal(new FlyPermit(true, TimeSpan.Zero), full);
    }

    private async Task<IRunAdmissionGrain> AdmissionWithLimitAsync(int limit)
    {
        await fixture.Client.GetGrain<ITenantGrain>(_tenant).CreateAsync("Admission", new TenantQuotas(MaxConcurrentRuns: limit));
        return fixture.Client.GetGrain<IRunAdmissionGrain>(_tenant);
    }

    private static async Task<bool> TryAdmitAsync(IRunAdmissionGrain admission, string runId)
    {
        try
        {
            await admission.AdmitAsync(runId);
            return true;
        }
        catch (QuotaExceededException)
        {
            return false;
        }
    }
}
