namespace Orchestrator.Grains.Instances;

/// <summary>
/// A tenant's instances, keyed by the tenant id: the list behind <c>GET /api/instances</c>. Instance grains
/// push their snapshot after every change (through a silo-internal interface: no outside caller can write here),
/// so listing never fans out to every instance.
/// </summary>
[Alias("orchestrator.IInstanceIndexGrain")]
public interface IInstanceIndexGrain : IGrainWithStringKey
{
    /// <summary>Instances ordered by id, after <see cref="InstanceListQuery.Cursor"/> (an id), filtered.</summary>
    [Alias("List")]
    Task<InstancePage> ListAsync(InstanceListQuery query, CancellationToken cancellationToken = default);
}

[GenerateSerializer, Immutable, Alias("orchestrator.InstanceListQuery")]
public sealed record InstanceListQuery(
    [property: Id(0)] int Limit,
    [property: Id(1)] string? Cursor = null,
    [property: Id(2)] string? State = null,
    [property: Id(3)] string? Region = null);

[GenerateSerializer, Immutable, Alias("orchestrator.InstancePage")]
public sealed record InstancePage(
    [property: Id(0)] IReadOnlyList<InstanceSnapshot> Items,
    [property: Id(1)] string? NextCursor);
