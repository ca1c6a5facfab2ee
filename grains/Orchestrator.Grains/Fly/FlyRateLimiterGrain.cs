namespace Orchestrator.Grains.Fly;

/// <summary>
/// Token buckets for one Fly app, in memory: a limiter that forgets its buckets on a silo crash only hands out
/// a fresh burst, which Fly tolerates, so the buckets are not worth a storage write per call.
/// </summary>
internal sealed class FlyRateLimiterGrain(TimeProvider time) : Grain, IFlyRateLimiterGrain
{
    // Buckets that have refilled completely carry no information; they are dropped past this many.
    private const int PruneThreshold = 1024;

    private readonly Dictionary<(string Action, string Scope), Bucket> _buckets = [];

    ValueTask<FlyPermit> IFlyRateLimiterGrain.AcquireAsync(string action, string scope, int burst, TimeSpan interval, TimeSpan maxDelay)
    {
        var now = time.GetUtcNow();
        if (!_buckets.TryGetValue((action, scope), out var bucket))
        {
            bucket = new Bucket(burst, now);
            _buckets[(action, scope)] = bucket;
        }

        // Tokens may go negative: each caller reserves the next token and is told how long until it exists,
        // so waiting callers are served in arrival order without holding the grain.
        bucket.Refill(now, burst, interval);
        var deficit = 1 - bucket.Tokens;
        var delay = deficit <= 0 ? TimeSpan.Zero : interval * deficit;
        if (delay > maxDelay)
        {
            return ValueTask.FromResult(new FlyPermit(false, delay));
        }

        bucket.Tokens -= 1;
        if (_buckets.Count > PruneThreshold)
        {
            Prune(now, burst, interval);
        }

        return ValueTask.FromResult(new FlyPermit(true, delay));
    }

    private void Prune(DateTimeOffset now, int burst, TimeSpan interval)
    {
        foreach (var (key, bucket) in _buckets.ToList())
        {
            bucket.Refill(now, burst, interval);
            if (bucket.Tokens >= burst)
            {
                _buckets.Remove(key);
            }
        }
    }

    private sealed class Bucket(int tokens, DateTimeOffset updated)
    {
        public double Tokens { get; set; } = tokens;

        private DateTimeOffset Updated { get; set; } = updated;

        public void Refill(DateTimeOffset now, int burst, TimeSpan interval)
        {
            var elapsed = now - Updated;
            if (elapsed > TimeSpan.Zero)
            {
                Tokens = Math.Min(burst, Tokens + (elapsed / interval));
                Updated = now;
            }
        }
    }
}
