using Microsoft.Extensions.Logging;
using Orchestrator.Fly;

namespace Orchestrator.Grains.Instances;

/// <summary>
/// The machine's resources after create: resizing it (a config update under a lease, which Fly applies by
/// restarting it), growing its volume, and mounting a volume that one of the tenant's destroyed instances kept.
/// </summary>
internal sealed partial class InstanceGrain
{
    /// <summary>Covers one read and one update; the lease is released as soon as they are done.</summary>
    private static readonly TimeSpan ResizeLeaseTtl = TimeSpan.FromSeconds(30);

    async Task<InstanceSnapshot> IInstanceGrain.ResizeAsync(InstanceSize size, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(size);
        if (InstanceSpecRules.ValidateSize(size) is { } problem)
        {
            throw new InstanceValidationException(problem.Field, $"{problem.Field} {problem.Problem}");
        }

        ThrowIfNotOperable();
        var (cpuKind, cpus, memoryMb) = InstanceSpecRules.Resolve(size)!.Value;
        if (!S.ResizePending && InstanceSpecRules.Resolve(CurrentSize()) == (cpuKind, cpus, memoryMb))
        {
            return ToSnapshot();
        }

        var previous = CurrentSize();
        if (!S.Resized)
        {
            (S.CreatedSizePreset, S.CreatedCpus, S.CreatedMemoryMb, S.CreatedCpuKind) = (S.SizePreset, S.Cpus, S.MemoryMb, S.CpuKind);
            S.Resized = true;
        }

        // Intent first: if the silo dies after Fly took the update, the instance already says the new size, and a
        // repeated resize (still pending) updates the machine again rather than calling it a no-op.
        SetCurrentSize(size);
        S.ResizePending = true;
        await WriteAsync(cancellationToken);
        await SettleAsync(cancellationToken);
        try
        {
            await using var lease = await fly.AcquireLeaseAsync(App, S.MachineId!, ResizeLeaseTtl, $"orchestrator: resize {_instanceId}", cancellationToken);
            // Fly replaces the whole config on update: send back what the machine has, with only the guest changed.
            var machine = await fly.GetMachineAsync(App, S.MachineId!, cancellationToken);
            var config = machine.Config
                ?? throw new InstanceProviderException(InstanceProviderErrorKinds.Unavailable, $"Fly cannot show the config of instance '{_instanceId}' now (its host is {machine.HostStatus ?? "unknown"}); retry the resize.", null, null);
            var updated = await lease.UpdateAsync(
                new UpdateMachineRequest
                {
                    Config = config with { Guest = (config.Guest ?? new FlyGuest()) with { CpuKind = cpuKind, Cpus = cpus, MemoryMb = memoryMb }, Size = null },
                    CurrentVersion = machine.InstanceId,
                    // Fly starts the updated machine; one the caller stopped stays stopped.
                    SkipLaunch = S.DesiredState == InstanceStates.Stopped ? true : null,
                },
                cancellationToken);
            await ObserveAsync(updated, cancellationToken);
        }
        catch (FlyApiException ex) when (!ex.OutcomeUnknown)
        {
            // Fly refused: the machine kept its size, and so does the instance.
            SetCurrentSize(previous);
            S.ResizePending = false;
            SetError(FlyError(ex));
            await WriteAsync(cancellationToken);
            throw ToProviderException(ex);
        }
        catch (FlyApiException ex)
        {
            SetError(FlyError(ex));
            await WriteAsync(cancellationToken);
            throw ToProviderException(ex);
        }

        S.ResizePending = false;
        SetError(null);
        RecordRequested(InstanceEventKinds.Resized, FormattableString.Invariant($"Resized to {cpus} {cpuKind} CPU(s) and {memoryMb} MB; Fly restarts the machine with its new size."));
        await WriteAsync(cancellationToken);
        LogResized(Key, cpuKind, cpus, memoryMb);
        return await AfterTransitionAsync(cancellationToken);
    }

    async Task<InstanceSnapshot> IInstanceGrain.ExtendVolumeAsync(int sizeGb, CancellationToken cancellationToken)
    {
        ThrowIfNotOperable();
        if (S.VolumeId is not { } volumeId)
        {
            throw new InstanceConflictException($"Instance '{_instanceId}' has no volume to extend: only an instance created with a volume has one.");
        }

        var current = S.VolumeCurrentSizeGb ?? S.VolumeSizeGb ?? 0;
        if (InstanceSpecRules.ValidateVolumeGrowth(sizeGb, current) is { } problem)
        {
            throw new InstanceValidationException("size_gb", $"size_gb {problem}");
        }

        var needsRestart = false;
        try
        {
            var volume = await fly.GetVolumeAsync(App, volumeId, cancellationToken);
            if (volume.SizeGb is { } actual && actual >= sizeGb)
            {
                // An earlier extend whose answer was lost already grew it: record what Fly has.
                S.VolumeCurrentSizeGb = actual;
            }
            else
            {
                var extended = await fly.ExtendVolumeAsync(App, volumeId, sizeGb, cancellationToken);
                S.VolumeCurrentSizeGb = extended.Volume?.SizeGb ?? sizeGb;
                needsRestart = extended.NeedsRestart == true;
            }
        }
        catch (FlyApiException ex)
        {
            throw ToProviderException(ex);
        }

        RecordRequested(InstanceEventKinds.VolumeExtended, FormattableString.Invariant($"Volume {volumeId} grown from {current} GB to {S.VolumeCurrentSizeGb} GB."));
        await WriteAsync(cancellationToken);
        LogVolumeExtended(Key, volumeId, current, S.VolumeCurrentSizeGb.Value);
        if (needsRestart && S.ObservedState == FlyMachineStates.Started)
        {
            // The filesystem grows when the machine restarts onto the bigger volume.
            await SettleAsync(cancellationToken);
            await CallFlyAsync(ct => fly.RestartMachineAsync(App, S.MachineId!, cancellationToken: ct), cancellationToken);
            return await AfterTransitionAsync(cancellationToken);
        }

        return ToSnapshot();
    }

    /// <summary>
    /// For a create that names a kept volume (<c>volume.id</c>): claims it in the tenant's index (which checks that a
    /// destroyed instance of the tenant kept it and no live one holds it) and reads it from Fly. Null for other creates.
    /// </summary>
    private async Task<FlyVolume?> ClaimKeptVolumeAsync(InstanceSpec spec, CancellationToken cancellationToken)
    {
        if (spec.Volume?.Id is not { } volumeId)
        {
            return null;
        }

        var index = GrainFactory.GetGrain<IInstanceIndexWriterGrain>(_tenant);
        try
        {
            await index.ClaimVolumeAsync(_instanceId, volumeId, cancellationToken);
            FlyVolume volume;
            try
            {
                volume = await fly.GetVolumeAsync(App, volumeId, cancellationToken);
            }
            catch (FlyApiException ex) when (ex.Category == FlyErrorCategory.NotFound)
            {
                throw new InstanceVolumeUnavailableException(VolumeUnavailableReasons.NotFound, "volume.id", $"volume.id '{volumeId}' no longer exists.");
            }
            catch (FlyApiException ex)
            {
                throw ToProviderException(ex);
            }

            if (volume.State is "destroyed" or "destroying" or "pending_destroy")
            {
                throw new InstanceVolumeUnavailableException(VolumeUnavailableReasons.NotFound, "volume.id", $"volume.id '{volumeId}' no longer exists.");
            }

            if (volume.AttachedMachineId is { Length: > 0 } attached)
            {
                throw new InstanceVolumeUnavailableException(VolumeUnavailableReasons.InUse, "volume.id", $"volume.id '{volumeId}' is still attached to machine {attached}.");
            }

            if (volume.Region is { Length: > 0 } region && region != spec.Region)
            {
                // Fly mounts a volume only in its own region.
                throw new InstanceValidationException("region", $"region must be '{region}', the region of volume {volumeId}");
            }

            return volume;
        }
        catch (Exception ex) when (ex is InstanceVolumeUnavailableException or InstanceValidationException or InstanceProviderException)
        {
            // Nothing was made: give back the reservation, and with it the claim.
            index.RemoveAsync(_instanceId).Ignore();
            throw;
        }
    }

    /// <summary>Records, in the create's first write, that the instance mounts <paramref name="kept"/> instead of making a volume.</summary>
    private void AdoptVolume(FlyVolume? kept)
    {
        if (kept is null)
        {
            return;
        }

        S.VolumeSizeGb = null;
        S.VolumeId = kept.Id;
        S.VolumeAdopted = true;
        S.VolumeCurrentSizeGb = kept.SizeGb;
    }

    private InstanceSize CurrentSize() => new(S.SizePreset, S.Cpus, S.MemoryMb, S.CpuKind);

    private void SetCurrentSize(InstanceSize size) => (S.SizePreset, S.Cpus, S.MemoryMb, S.CpuKind) = (size.Preset, size.Cpus, size.MemoryMb, size.CpuKind);

    /// <summary>The size the create asked for, whatever resizes came after.</summary>
    private InstanceSize RequestedSize() =>
        S.Resized ? new(S.CreatedSizePreset, S.CreatedCpus, S.CreatedMemoryMb, S.CreatedCpuKind) : CurrentSize();

    /// <summary>The volume the create asked for, whatever extends came after.</summary>
    private InstanceVolumeSpec? RequestedVolume() =>
        S.VolumeAdopted ? InstanceVolumeSpec.Existing(S.VolumeId ?? "", S.VolumePath ?? "")
        : S.VolumeSizeGb is { } size ? new InstanceVolumeSpec(size, S.VolumePath ?? "")
        : null;

    /// <summary>The volume's size now; null when the instance has none (any more).</summary>
    private int? VolumeSizeNow() =>
        S.VolumeId is null && S.Phase != InstancePhases.Creating ? null : S.VolumeCurrentSizeGb ?? S.VolumeSizeGb;

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance {Instance} resized to {CpuKind} {Cpus} CPU(s), {MemoryMb} MB; Fly restarts its machine")]
    private partial void LogResized(string instance, string cpuKind, int cpus, int memoryMb);

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance {Instance}: volume {VolumeId} grown from {FromGb} GB to {ToGb} GB")]
    private partial void LogVolumeExtended(string instance, string volumeId, int fromGb, int toGb);
}
