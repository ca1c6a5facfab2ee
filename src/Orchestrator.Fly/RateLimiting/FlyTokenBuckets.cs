namespace Orchestrator.Fly;

/// <summary>
/// Token buckets on a clock, one per <see cref="FlyRateLimits.Partition"/>: each caller reserves the next token and
/// is told how long until it exists, so waiting callers are served in arrival order and nobody holds a lock or a
/// grain while waiting. Not thread-safe: the process limiter serialises calls with a lock, the cluster limiter is a
/// grain.
/// </summary>
public sealed class FlyTokenBuckets(TimeProvider time)
{
    // Buckets that have refilled completely carry no information; past this many they are dropped.
    private const int PruneThreshold = 1024;

    private readonly Dictionary<FlyRateLimitKey, Bucket> _buckets = [];

    /// <summary>Buckets held now (full ones are dropped once there are many).</summary>
    public int Count => _buckets.Count;

    /// <summary>
    /// Takes the next token of <paramref name="partition"/>'s bucket, which holds <see cref="FlyRateLimitRule.Burst"/>
    /// tokens and gains one per <see cref="FlyRateLimitRule.Interval"/>, and answers how long the caller must wait
    /// before its call goes; when that would be longer than <paramref name="maxDelay"/> no token is taken and the
    /// permit is refused (its delay says when to come back).
    /// </summary>
    public FlyReservation Reserve(FlyRateLimitKey partition, FlyRateLimitRule rule, TimeSpan maxDelay)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var now = time.GetTimestamp();
        if (!_buckets.TryGetValue(partition, out var bucket) || bucket.Rule != rule)
        {
            bucket = new Bucket(rule, now);
            _buckets[partition] = bucket;
        }

        bucket.Refill(time, now);
        var deficit = 1 - bucket.Tokens;
        var delay = deficit <= 0 ? TimeSpan.Zero : rule.Interval * deficit;
        if (delay > maxDelay)
        {
            return new FlyReservation(false, delay);
        }

        // Tokens may go negative: the callers after this one wait one interval more each.
        bucket.Tokens -= 1;
        if (_buckets.Count > PruneThreshold)
        {
            Prune(now);
        }

        return new FlyReservation(true, delay);
    }

    private void Prune(long now)
    {
        foreach (var (key, bucket) in _buckets.ToList())
        {
            bucket.Refill(time, now);
            if (bucket.Tokens >= bucket.Rule.Burst)
            {
                _buckets.Remove(key);
            }
        }
    }

    private sealed class Bucket(FlyRateLimitRule rule, long updated)
    {
        public FlyRateLimitRule Rule { get; } = rule;

        public double Tokens { get; set; } = rule.Burst;

        private long Updated { get; set; } = updated;

        public void Refill(TimeProvider time, long now)
        {
            var elapsed = time.GetElapsedTime(Updated, now);
            if (elapsed > TimeSpan.Zero)
            {
                Tokens = Math.Min(Rule.Burst, Tokens + (elapsed / Rule.Interval));
                Updated = now;
            }
        }
    }
}

/// <summary>One answer of <see cref="FlyTokenBuckets.Reserve"/>: granted after <paramref name="Delay"/>, or refused until then.</summary>
public readonly record struct FlyReservation(bool Granted, TimeSpan Delay);
