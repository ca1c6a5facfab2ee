using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Orchestrator.Fly;

namespace Orchestrator.Grains.Fly;

/// <summary>
/// The silo's <see cref="IFlyRateLimiter"/>: asks the app's <see cref="IFlyRateLimiterGrain"/> for a permit and
/// waits the delay it names, so every silo draws from the same buckets with Fly's numbers (<see cref="FlyRateLimits"/>).
/// </summary>
internal sealed class ClusterFlyRateLimiter(IGrainFactory grains, IOptions<FlyOptions> options, TimeProvider time) : IFlyRateLimiter
{
    // Under the 25 s budget of one Fly call: a longer queue means the caller is better told to come back later.
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(15);

    public async ValueTask<RateLimitLease> AcquireAsync(FlyRateLimitKey key, CancellationToken cancellationToken)
    {
        var fly = options.Value;
        var partition = FlyRateLimits.Partition(key);
        var rule = FlyRateLimits.For(partition).Scaled(fly.RateLimitScale);
        var permit = await grains.GetGrain<IFlyRateLimiterGrain>(fly.AppName)
            .AcquireAsync(partition.Action, partition.Scope, rule.Burst, rule.Interval, MaxDelay);
        if (!permit.Granted)
        {
            return FlyRateLimitLease.Refused(permit.Delay);
        }

        if (permit.Delay > TimeSpan.Zero)
        {
            await Task.Delay(permit.Delay, time, cancellationToken);
        }

        return FlyRateLimitLease.Admitted;
    }
}
