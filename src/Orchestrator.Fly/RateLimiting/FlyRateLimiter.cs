using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Orchestrator.Fly;

/// <summary>
/// Admits Fly calls under Fly's per-action limits. This process-local implementation is the default; a
/// cluster-wide one (one budget for all silos sharing a token) can replace it through DI.
/// </summary>
public interface IFlyRateLimiter
{
    /// <summary>Waits until the call may go; the lease says whether it was admitted (a full queue refuses).</summary>
    ValueTask<RateLimitLease> AcquireAsync(FlyRateLimitKey key, CancellationToken cancellationToken);
}

/// <summary>Token buckets from System.Threading.RateLimiting, one per <see cref="FlyRateLimits.Partition"/>.</summary>
internal sealed class FlyRateLimiter(IOptions<FlyOptions> options) : IFlyRateLimiter, IDisposable
{
    // Enough for a burst of grains all acting on one machine; beyond that, failing fast beats queueing for minutes.
    private const int QueueLimit = 64;

    // Idle buckets are dropped by the partitioned limiter, so one bucket per machine id does not grow without end.
    private readonly PartitionedRateLimiter<FlyRateLimitKey> _limiter = PartitionedRateLimiter.Create<FlyRateLimitKey, FlyRateLimitKey>(
        key =>
        {
            var partition = FlyRateLimits.Partition(key);
            var scale = options.Value.RateLimitScale;
            return RateLimitPartition.GetTokenBucketLimiter(partition, p => FlyRateLimits.For(p).Scaled(scale).ToTokenBucket(QueueLimit));
        });

    public ValueTask<RateLimitLease> AcquireAsync(FlyRateLimitKey key, CancellationToken cancellationToken) =>
        _limiter.AcquireAsync(key, permitCount: 1, cancellationToken);

    public void Dispose() => _limiter.Dispose();
}
