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

/// <summary><see cref="FlyTokenBuckets"/> for this process, waiting on the injected clock.</summary>
internal sealed class FlyRateLimiter(IOptions<FlyOptions> options, TimeProvider time) : IFlyRateLimiter
{
    // Enough for a burst of grains all acting on one machine; beyond that, failing fast beats queueing for minutes.
    internal const int QueueLimit = 64;

    private readonly FlyTokenBuckets _buckets = new(time);
    private readonly Lock _gate = new();
    private long _reservations;

    /// <summary>Calls that have taken their place in a bucket (admitted, waiting or refused).</summary>
    internal long Reservations => Interlocked.Read(ref _reservations);

    internal int BucketCount
    {
        get
        {
            lock (_gate)
            {
                return _buckets.Count;
            }
        }
    }

    public async ValueTask<RateLimitLease> AcquireAsync(FlyRateLimitKey key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var partition = FlyRateLimits.Partition(key);
        var rule = FlyRateLimits.For(partition).Scaled(options.Value.RateLimitScale);
        FlyReservation reservation;
        lock (_gate)
        {
            // A wait of more than QueueLimit intervals means more than QueueLimit callers are ahead.
            reservation = _buckets.Reserve(partition, rule, rule.Interval * QueueLimit);
        }

        Interlocked.Increment(ref _reservations);

        if (!reservation.Granted)
        {
            return FlyRateLimitLease.Refused(reservation.Delay);
        }

        if (reservation.Delay > TimeSpan.Zero)
        {
            // A cancelled wait keeps its token spent: the bucket errs on the side of fewer calls.
            await Task.Delay(reservation.Delay, time, cancellationToken);
        }

        return FlyRateLimitLease.Admitted;
    }
}
