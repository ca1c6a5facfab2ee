using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Orchestrator.Fly.Emulator.Http;

/// <summary>
/// Fly's published Machines API limits (reference §10): per action, scoped to the machine (or app)
/// the call names, 1 req/s with bursts of 3; Get Machine 5 req/s with bursts of 10; app deletions
/// 100 a minute. Token buckets on the injected clock, every rate and burst times
/// <see cref="FlyEmulatorOptions.RateLimitScale"/>.
/// </summary>
internal sealed class RateLimiter(TimeProvider time, IOptions<FlyEmulatorOptions> options)
{
    private readonly ConcurrentDictionary<(string Action, string Scope), Bucket> _buckets = new();
    private readonly double _scale = options.Value.RateLimitScale;

    /// <summary>Takes a token for one call; when none is left, says how long until the next one.</summary>
    public bool TryAcquire(string action, string scope, out TimeSpan retryAfter)
    {
        var (perSecond, burst) = Limits(action);
        var bucket = _buckets.GetOrAdd((action, scope), _ => new Bucket(burst, time.GetTimestamp()));
        lock (bucket)
        {
            var now = time.GetTimestamp();
            bucket.Tokens = Math.Min(burst, bucket.Tokens + (time.GetElapsedTime(bucket.Updated, now).TotalSeconds * perSecond));
            bucket.Updated = now;
            if (bucket.Tokens >= 1)
            {
                bucket.Tokens -= 1;
                retryAfter = TimeSpan.Zero;
                return true;
            }

            retryAfter = TimeSpan.FromSeconds((1 - bucket.Tokens) / perSecond);
            return false;
        }
    }

    internal (double PerSecond, double Burst) Limits(string action)
    {
        var (perSecond, burst) = action switch
        {
            "Machines_show" => (5.0, 10.0),
            "Apps_delete" => (100.0 / 60, 100.0),
            _ => (1.0, 3.0),
        };
        return (perSecond * _scale, Math.Max(1, Math.Floor(burst * _scale)));
    }

    private sealed class Bucket(double tokens, long updated)
    {
        public double Tokens { get; set; } = tokens;

        public long Updated { get; set; } = updated;
    }
}
