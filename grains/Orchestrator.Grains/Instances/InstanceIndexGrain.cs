namespace Orchestrator.Grains.Instances;

/// <summary>Persisted index of a tenant's instances: enough per instance to filter and page.</summary>
[GenerateSerializer, Alias("orchestrator.InstanceIndexState")]
public sealed class InstanceIndexState
{
    [Id(0)] public Dictionary<string, InstanceIndexEntry> Entries { get; set; } = [];
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
}

internal sealed class InstanceIndexGrain(
    [PersistentState("instance-index", StorageNames.Orchestrator)] IPersistentState<InstanceIndexState> state) : Grain, IInstanceIndexGrain, IInstanceIndexWriterGrain
{
    public const int MaxLimit = 100;

    private string Tenant => this.GetPrimaryKeyString();

    async Task IInstanceIndexWriterGrain.UpdateAsync(InstanceSnapshot snapshot)
    {
        var entries = state.State.Entries;
        // One-way messages may arrive out of order: the revision keeps the newest.
        if (entries.TryGetValue(snapshot.Id, out var held) && held.Revision >= snapshot.Revision)
        {
            return;
        }

        entries[snapshot.Id] = new InstanceIndexEntry
        {
            Region = snapshot.Region,
            DesiredState = snapshot.DesiredState,
            ObservedState = snapshot.ObservedState,
            Revision = snapshot.Revision,
            VolumeId = snapshot.VolumeId,
        };
        await state.WriteStateAsync();
    }

    async Task IInstanceIndexWriterGrain.ReserveAsync(string instanceId, int maxInstances)
    {
        var entries = state.State.Entries;
        if (entries.ContainsKey(instanceId))
        {
            return;
        }

        var held = entries.Values.Count(e => e.DesiredState != InstanceStates.Destroyed && e.ObservedState != InstanceStates.Destroyed);
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
        var limit = Math.Clamp(query.Limit, 1, MaxLimit);
        var matching = state.State.Entries
            .Where(e => query.Cursor is null || string.CompareOrdinal(e.Key, query.Cursor) > 0)
            .Where(e => query.Region is null || e.Value.Region == query.Region)
            .Where(e => query.State is null || e.Value.ObservedState == query.State || (query.State == InstanceStates.Destroyed && e.Value.DesiredState == InstanceStates.Destroyed))
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Take(limit + 1)
            .Select(e => e.Key)
            .ToList();
        var page = matching.Take(limit).ToList();
        // Instance reads interleave with their transitions, so this never waits behind a Fly call.
        var snapshots = await Task.WhenAll(page.Select(id => GrainFactory.GetGrain<IInstanceGrain>(InstanceKey.Format(Tenant, id)).GetAsync(cancellationToken)));
        var items = snapshots.OfType<InstanceSnapshot>()
            .Where(s => query.State is null || s.ObservedState == query.State)
            .ToList();
        return new InstancePage(items, matching.Count > limit ? page[^1] : null);
    }
}
