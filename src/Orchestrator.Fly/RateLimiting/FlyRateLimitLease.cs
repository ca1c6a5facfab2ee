using System.Threading.RateLimiting;

namespace Orchestrator.Fly;

/// <summary>An <see cref="IFlyRateLimiter"/>'s answer: admitted, or refused with when to come back.</summary>
public sealed class FlyRateLimitLease : RateLimitLease
{
    private readonly TimeSpan? _retryAfter;

    private FlyRateLimitLease(bool acquired, TimeSpan? retryAfter)
    {
        IsAcquired = acquired;
        _retryAfter = retryAfter;
    }

    public static FlyRateLimitLease Admitted { get; } = new(true, null);

    public override bool IsAcquired { get; }

    public override IEnumerable<string> MetadataNames => _retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

    public static FlyRateLimitLease Refused(TimeSpan retryAfter) => new(false, retryAfter);

    public override bool TryGetMetadata(string metadataName, out object? metadata)
    {
        if (_retryAfter is { } delay && metadataName == MetadataName.RetryAfter.Name)
        {
            metadata = delay;
            return true;
        }

        metadata = null;
        return false;
    }
}
