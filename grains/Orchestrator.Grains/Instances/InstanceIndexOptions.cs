namespace Orchestrator.Grains.Instances;

/// <summary>How long a tenant's instance list remembers destroyed instances; bound from <c>Orchestrator:Instances</c>.</summary>
public sealed class InstanceIndexOptions
{
    /// <summary>
    /// How long a destroyed instance stays in the list (<c>?state=destroyed</c>) after its last change. Pruning runs
    /// when the tenant's index is next used after that; an instance whose destroy kept its volume stays in the
    /// index (not in the list) until the volume is claimed, so the volume can still be mounted.
    /// </summary>
    public TimeSpan DestroyedRetention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Least time between two prunes of one tenant's list.</summary>
    public TimeSpan PrunePeriod { get; set; } = TimeSpan.FromHours(1);
}
