using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orchestrator.Runs.Instances;

namespace Orchestrator.Grains.Instances;

/// <summary>Persisted index of a tenant's instances: enough per instance to filter and page.</summary>
[GenerateSerializer, Alias("orchestrator.InstanceIndexState")]
public sealed class InstanceIndexState
{
    [Id(0)] public Dictionary<string, InstanceIndexEntry> Entries { get; set; } = [];

    /// <summary>
    /// True once every instance held here is in the database list: an index written before the list existed is
    /// copied into it on its first activation, so no instance drops out of the list on upgrade.
    /// </summary>
    [Id(1)] public bool InList { get; set; }
}

[GenerateSerializer, Alias("orchestrator.InstanceIndexEntry")]
public sealed class InstanceIndexEntry
{
    [Id(0)] public string Region { get; set; } = "";
    [Id(1)] public string DesiredState { get; set; } = "";
    [Id(2)] public string ObservedState { get; set; } = "";
    [Id(3)] public long Revision { get; set; }

    /// <summary>The volume the instance mounts, or kept when destroyed: how a claim on a kept volume finds its owner.</summary>
    [Id(4)] public string? VolumeId { get; set; }

    /// <summary>
    /// Without a database (the memory profile) the newest snapshot, which the list is served from; with one it is
    /// null, as the list is the <see cref="IInstanceList"/> table.
    /// </summary>
    [Id(5)] public InstanceSnapshot? Snapshot { get; set; }

    /// <summary>When the instance last changed, as its snapshot says: destroyed instances are pruned by it.</summary>
    [Id(6)] public DateTimeOffset UpdatedAt { get; set; }

    internal bool IsDestroyed => InstanceListRules.IsDestroyed(DesiredState, ObservedState);
}

/// <remarks>
/// The state holds what quotas and volume claims need for every instance, and is written only when that changes
/// (an instance appears, is destroyed, moves region or volume): an instance going from starting to started
/// rewrites one row of the database list, not the tenant's index. Without a database the state also holds each
/// snapshot, and is written on every change.
/// </remarks>
internal sealed class InstanceIndexGrain(
    [PersistentState("instance-index", StorageNames.Orchestrator)] IPersistentState<InstanceIndexState> state,
    IServiceProvider services,
    IOptions<InstanceIndexOptions> options,
    TimeProvider time) : Grain, IInstanceIndexGrain, IInstanceIndexWriterGrain
{
    public const int MaxLimit = InstanceListRules.MaxLimit;

    private readonly IInstanceList? _list = services.GetService<IInstanceList>();
    private DateTimeOffset _lastPrune = DateTimeOffset.MinValue;

    private string Tenant => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (_list is null || state.State.InList)
        {
            return;
        }

        foreach (var id in state.State.Entries.Keys.ToList())
        {
            if (await GrainFactory.GetGrain<IInstanceGrain>(InstanceKey.Format(Tenant, id)).GetAsync(cancellationToken) is { } snapshot)
            {
                await _list.UpsertAsync(Tenant, snapshot, cancellationToken);
            }
        }

        state.State.InList = true;
        await state.WriteStateAsync(cancellationToken);
    }

    async Task IInstanceIndexWriterGrain.UpdateAsync(InstanceSnapshot snapshot)
    {
        var entries = state.State.Entries;
        // One-way messages may arrive out of order: the revision keeps the newest.
        if (entries.TryGetValue(snapshot.Id, out var held) && held.Revision >= snapshot.Revision)
        {
            return;
        }

        var destroyed = InstanceListRules.IsDestroyed(snapshot.DesiredState, snapshot.ObservedState);
        var changed = held is null || held.Revision < 0 || held.Region != snapshot.Region || held.VolumeId != snapshot.VolumeId || held.IsDestroyed != destroyed;
        if (held is null)
        {
            held = new InstanceIndexEntry();
            entries[snapshot.Id] = held;
        }

        held.Region = snapshot.Region;
        held.DesiredState = snapshot.DesiredState;
        held.ObservedState = snapshot.ObservedState;
        held.Revision = snapshot.Revision;
        held.VolumeId = snapshot.VolumeId;
        held.UpdatedAt = snapshot.UpdatedAt;
        if (_list is null)
        {
            held.Snapshot = snapshot;
            changed = true;
        }
        else
        {
            await _list.UpsertAsync(Tenant, snapshot);
        }

        if (changed)
        {
            await state.WriteStateAsync();
        }

        await PruneIfDueAsync(CancellationToken.None);
    }

    async Task IInstanceIndexWriterGrain.ReserveAsync(string instanceId, int maxInstances)
    {
        var entries = state.State.Entries;
        if (entries.ContainsKey(instanceId))
        {
            return;
        }

        var held = entries.Values.Count(e => !e.IsDestroyed);
        if (held >= maxInstances)
        {
            throw new Tenants.QuotaExceededException(
                Tenants.QuotaExceededException.MaxInstances,
                maxInstances,
                $"Tenant '{Tenant}' already has {held} instances (its max_instances is {maxInstances}); destroy one first.");
        }

        // Revision -1: the instance's first snapshot replaces this placeholder whatever its revision.
        entries[instanceId] = new InstanceIndexEntry { DesiredState = InstanceStates.Started, ObservedState = InstanceStates.Creating, Revision = -1 };
        await state.WriteStateAsync();
    }

    async Task IInstanceIndexWriterGrain.RemoveAsync(string instanceId)
    {
        if (state.State.Entries.Remove(instanceId))
        {
            await state.WriteStateAsync();
        }

        if (_list is not null)
        {
            await _list.RemoveAsync(Tenant, instanceId);
        }
    }

    async Task IInstanceIndexWriterGrain.ClaimVolumeAsync(string instanceId, string volumeId, CancellationToken cancellationToken)
    {
        var entries = state.State.Entries;
        // The index may trail the instances (their updates are one-way): it picks the candidates, and each one's own
        // snapshot decides. A candidate with no snapshot yet is a create that claimed the volume and has not written.
        var candidates = entries.Where(e => e.Key != instanceId && e.Value.VolumeId == volumeId).ToList();
        var snapshots = await Task.WhenAll(candidates.Select(e => GrainFactory.GetGrain<IInstanceGrain>(InstanceKey.Format(Tenant, e.Key)).GetAsync(cancellationToken)));
        var kept = false;
        for (var i = 0; i < candidates.Count; i++)
        {
            var snapshot = snapshots[i];
            if (snapshot is null || (snapshot.VolumeId == volumeId && snapshot.ObservedState != InstanceStates.Destroyed))
            {
                throw new InstanceVolumeUnavailableException(
                    VolumeUnavailableReasons.InUse, "volume.id", $"volume.id '{volumeId}' is mounted by instance '{candidates[i].Key}'; destroy it with keep_volume=true first.");
            }

            kept |= snapshot.VolumeId == volumeId;
        }

        if (!kept)
        {
            throw new InstanceVolumeUnavailableException(
                VolumeUnavailableReasons.NotFound, "volume.id", $"volume.id '{volumeId}' is not a volume kept by one of this tenant's destroyed instances.");
        }

        if (entries.TryGetValue(instanceId, out var claimant) && claimant.VolumeId != volumeId)
        {
            claimant.VolumeId = volumeId;
            await state.WriteStateAsync(cancellationToken);
        }
    }

    async Task<InstancePage> IInstanceIndexGrain.ListAsync(InstanceListQuery query, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(query);
        await PruneIfDueAsync(cancellationToken);
        if (_list is not null)
        {
            return await _list.ListAsync(Tenant, query, cancellationToken);
        }

        var limit = Math.Clamp(query.Limit, 1, MaxLimit);
        var matching = state.State.Entries
            .Where(e => query.Cursor is null || string.CompareOrdinal(e.Key, query.Cursor) > 0)
            .Where(e => e.Value.Snapshot is { } snapshot && InstanceListRules.Matches(snapshot, query))
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Take(limit + 1)
            .Select(e => e.Value.Snapshot!)
            .ToList();
        var page = matching.Take(limit).ToList();
        return new InstancePage(page, matching.Count > limit ? page[^1].Id : null);
    }

    /// <summary>
    /// Forgets destroyed instances past their retention, at most once per <see cref="InstanceIndexOptions.PrunePeriod"/>.
    /// One that kept its volume leaves the list but stays in the index, where a claim on the volume finds it.
    /// </summary>
    private async Task PruneIfDueAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (now - _lastPrune < options.Value.PrunePeriod)
        {
            return;
        }

        _lastPrune = now;
        var before = now - options.Value.DestroyedRetention;
        var changed = false;
        foreach (var (id, entry) in state.State.Entries.Where(e => e.Value.IsDestroyed && e.Value.Revision >= 0 && e.Value.UpdatedAt < before).ToList())
        {
            if (entry.VolumeId is null)
            {
                state.State.Entries.Remove(id);
                changed = true;
            }
            else if (entry.Snapshot is not null)
            {
                entry.Snapshot = null;
                changed = true;
            }
        }

        if (changed)
        {
            await state.WriteStateAsync(cancellationToken);
        }

        if (_list is not null)
        {
            await _list.PruneDestroyedAsync(Tenant, before, cancellationToken);
        }
    }
}
