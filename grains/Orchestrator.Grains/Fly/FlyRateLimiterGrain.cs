using Orchestrator.Fly;

namespace Orchestrator.Grains.Fly;

/// <summary>
/// Token buckets for one Fly app, in memory: a limiter that forgets its buckets on a silo crash only hands out
/// a fresh burst, which Fly tolerates, so the buckets are not worth a storage write per call.
/// </summary>
internal sealed class FlyRateLimiterGrain(TimeProvider time) : Grain, IFlyRateLimiterGrain
{
    private readonly FlyTokenBuckets _buckets = new(time);

    ValueTask<FlyPermit> IFlyRateLimiterGrain.AcquireAsync(string action, string scope, int burst, TimeSpan interval, TimeSpan maxDelay)
    {
        var reservation = _buckets.Reserve(new FlyRateLimitKey(action, scope), new FlyRateLimitRule(burst, interval), maxDelay);
        return ValueTask.FromResult(new FlyPermit(reservation.Granted, reservation.Delay));
    }
}
