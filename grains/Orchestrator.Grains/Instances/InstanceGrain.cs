using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Fly;
using Orchestrator.Grains.Tenants;

namespace Orchestrator.Grains.Instances;

/// <summary>
/// Owns one Fly machine. Calls are not reentrant, so concurrent transitions run one after another; each first
/// waits (bounded) for the previous one to settle. Reads and waits interleave and are served from the cached
/// machine. Creation is accepted by one short call and carried on by the grain itself (InstanceGrain.Create.cs),
/// beside its calls. Intent is persisted before every Fly call, so a retry after a crash resumes instead of repeating.
/// </summary>
internal sealed partial class InstanceGrain(
    [PersistentState("instance", StorageNames.Orchestrator)] IPersistentState<InstanceState> state,
    IMachineProvider fly,
    IOptions<FlyOptions> flyOptions,
    IOptions<InstanceOptions> instanceOptions,
    IInstanceKeyFactory keys,
    InstanceSecretProtector secrets,
    IMachineAvailability availability,
    TimeProvider time,
    ILogger<InstanceGrain> logger) : Grain, IInstanceGrain, IRemindable
{
    private const string AuthorizedKeysPath = "/root/.ssh/authorized_keys";

    /// <summary>Where the machine image's sshd reads its host key (orchestrator-init's HOST_KEY_DIR).</summary>
    private const string HostKeyPath = "/etc/ssh/ssh_host_ed25519_key";

    private const int PrivateFileMode = 0b110_000_000; // 0600
    private const string TenantMetadataKey = "orchestrator_tenant";
    private const string InstanceMetadataKey = "orchestrator_instance";

    private static readonly HashSet<string> TransientStates =
    [
        FlyMachineStates.Starting, FlyMachineStates.Stopping, FlyMachineStates.Restarting, FlyMachineStates.Replacing,
        FlyMachineStates.Updating, FlyMachineStates.Suspending, FlyMachineStates.Destroying,
    ];

    private string _tenant = "";
    private string _instanceId = "";
    private DateTimeOffset _observedAt;
    private DateTimeOffset _settleUntil;
    private IGrainTimer? _settleTimer;
    private Task _lastWrite = Task.CompletedTask;

    private InstanceState S => state.State;

    private string App => flyOptions.Value.AppName;

    private InstanceOptions Options => instanceOptions.Value;

    private string Key => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenant, _instanceId) = InstanceKey.Parse(Key);
        if (TenantId.Validate(_tenant) is { } tenantProblem)
        {
            throw new ArgumentException($"Tenant id '{_tenant}' {tenantProblem}.");
        }

        if (InstanceSpecRules.ValidateName(_instanceId) is { } nameProblem)
        {
            throw new InstanceValidationException("name", $"name {nameProblem}");
        }

        // The cache is as old as the activation: the first read after a restart refreshes in the background.
        _observedAt = DateTimeOffset.MinValue;
        if (S.Phase == InstancePhases.Ready && S.DesiredState != S.ObservedState)
        {
            ArmSettleTimer();
        }

        if (S.Phase == InstancePhases.Creating)
        {
            // A creation the previous activation did not finish: carry on with what it persisted.
            ArmCreateTimer();
        }

        return Task.CompletedTask;
    }

    Task<InstanceSnapshot?> IInstanceGrain.GetAsync(CancellationToken cancellationToken)
    {
        if (!Exists)
        {
            return Task.FromResult<InstanceSnapshot?>(null);
        }

        if (S.Phase == InstancePhases.Ready && S.MachineId is not null && time.GetUtcNow() - _observedAt > Options.CacheTtl)
        {
            // Serve the cache now; the timer refreshes it as a turn of its own.
            ArmSettleTimer();
        }

        return Task.FromResult<InstanceSnapshot?>(ToSnapshot());
    }

    async Task<InstanceSnapshot> IInstanceGrain.RefreshAsync(CancellationToken cancellationToken)
    {
        ThrowIfMissing();
        if (S.Phase == InstancePhases.Ready)
        {
            await RefreshAsync(persist: true, cancellationToken);
        }

        return ToSnapshot();
    }

    async Task<InstanceSnapshot> IInstanceGrain.StartAsync(CancellationToken cancellationToken)
    {
        ThrowIfNotOperable();
        await SetDesiredAsync(InstanceStates.Started, cancellationToken);
        await SettleAsync(cancellationToken);
        if (S.ObservedState is not (FlyMachineStates.Started or FlyMachineStates.Starting))
        {
            await CallFlyAsync(ct => fly.StartMachineAsync(App, S.MachineId!, ct), cancellationToken);
            RecordRequested(InstanceEventKinds.Starting, "Starting the machine.");
        }

        return await AfterTransitionAsync(cancellationToken);
    }

    async Task<InstanceSnapshot> IInstanceGrain.StopAsync(CancellationToken cancellationToken)
    {
        ThrowIfNotOperable();
        await SetDesiredAsync(InstanceStates.Stopped, cancellationToken);
        await SettleAsync(cancellationToken);
        if (S.ObservedState is not (FlyMachineStates.Stopped or FlyMachineStates.Stopping))
        {
            await CallFlyAsync(ct => fly.StopMachineAsync(App, S.MachineId!, cancellationToken: ct), cancellationToken);
            RecordRequested(InstanceEventKinds.Stopping, "Stopping the machine.");
        }

        return await AfterTransitionAsync(cancellationToken);
    }

    async Task<InstanceSnapshot> IInstanceGrain.RestartAsync(CancellationToken cancellationToken)
    {
        ThrowIfNotOperable();
        await SetDesiredAsync(InstanceStates.Started, cancellationToken);
        await SettleAsync(cancellationToken);
        if (S.ObservedState == FlyMachineStates.Started)
        {
            await CallFlyAsync(ct => fly.RestartMachineAsync(App, S.MachineId!, cancellationToken: ct), cancellationToken);
            RecordRequested(InstanceEventKinds.Restarted, "Restarting the machine.");
        }
        else
        {
            // Fly restarts only started machines; restarting a stopped one means starting it.
            await CallFlyAsync(ct => fly.StartMachineAsync(App, S.MachineId!, ct), cancellationToken);
            RecordRequested(InstanceEventKinds.Restarted, $"Restarting the machine: it was {S.ObservedState}, so it is started.");
        }

        return await AfterTransitionAsync(cancellationToken);
    }

    async Task<InstanceSnapshot> IInstanceGrain.DestroyAsync(bool keepVolume, CancellationToken cancellationToken)
    {
        ThrowIfMissing();
        if (S.Phase == InstancePhases.Destroyed)
        {
            return ToSnapshot();
        }

        var wasCreating = S.Phase == InstancePhases.Creating;
        // Set before any await: no creation step starts from here on.
        S.Phase = InstancePhases.Destroying;
        S.DesiredState = InstanceStates.Destroyed;
        // Disposing the timer cancels its step: let the step finish first (bounded), so that what it made is known.
        await StopCreationStepAsync();
        StopCreateTimer();
        await WriteAsync(cancellationToken);
        StopSettleTimer();
        try
        {
            await RemoveResourcesAsync(keepVolume, cancellationToken);
        }
        catch (FlyApiException ex)
        {
            SetError(FlyError(ex));
            await WriteAsync(cancellationToken);
            throw ToProviderException(ex);
        }

        S.Phase = InstancePhases.Destroyed;
        S.ObservedState = InstanceStates.Destroyed;
        S.PrivateIp = null;
        S.Ips.Clear();
        SetError(null);
        if (!keepVolume)
        {
            S.VolumeId = null;
        }

        RecordRequested(InstanceEventKinds.Destroyed, keepVolume && S.VolumeId is not null
            ? $"The machine was destroyed; volume {S.VolumeId} was kept."
            : "The machine was destroyed.");
        await WriteAsync(cancellationToken);
        LogDestroyed(Key, keepVolume);
        if (wasCreating)
        {
            await UnregisterCreateReminderAsync();
        }

        return ToSnapshot();
    }

    async Task<bool> IInstanceGrain.PinHostKeyAsync(string hostKey, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(hostKey);
        ThrowIfNotOperable();
        if (S.HostKey is null)
        {
            S.HostKey = hostKey;
            await WriteAsync(cancellationToken);
            return true;
        }

        return string.Equals(S.HostKey, hostKey, StringComparison.Ordinal);
    }

    private bool Exists => state.RecordExists && S.Phase != InstancePhases.None;

    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        S.UpdatedAt = time.GetUtcNow();
        S.Revision++;
        // The creation step interleaves with calls: writes go one after another, each with the etag of the last.
        var write = WriteAfterAsync(_lastWrite, cancellationToken);
        _lastWrite = write;
        await write;
        _eventsDirty = false;
        // One-way: the index is a listing aid; the grain is the truth and must not wait on it.
        GrainFactory.GetGrain<IInstanceIndexWriterGrain>(_tenant).UpdateAsync(ToSnapshot()).Ignore();
        NotifyChanged();
    }

    private async Task WriteAfterAsync(Task previous, CancellationToken cancellationToken)
    {
        // The earlier write's failure is its writer's to handle; this one writes the whole state anyway.
        await Task.WhenAny(previous);
        await state.WriteStateAsync(cancellationToken);
    }

    private void ThrowIfMissing()
    {
        if (!Exists)
        {
            throw new InstanceNotFoundException($"Instance '{_instanceId}' does not exist.");
        }
    }

    private void ThrowIfDestroyed()
    {
        if (S.Phase is InstancePhases.Destroyed or InstancePhases.Destroying)
        {
            throw new InstanceDestroyedException($"Instance '{_instanceId}' was destroyed.");
        }
    }

    private void ThrowIfNotOperable()
    {
        ThrowIfMissing();
        ThrowIfDestroyed();
        if (S.Phase == InstancePhases.Failed)
        {
            throw new InstanceConflictException($"Instance '{_instanceId}' could not be created ({S.LastError}); repeat the create to try again, or destroy it.");
        }

        if (S.Phase != InstancePhases.Ready || S.MachineId is null)
        {
            throw new InstanceConflictException($"Instance '{_instanceId}' is still being created; wait for it to start.");
        }
    }

    private InstanceProviderException ToProviderException(FlyApiException ex)
    {
        var kind = ex.Category switch
        {
            FlyErrorCategory.Capacity => InstanceProviderErrorKinds.Capacity,
            FlyErrorCategory.Validation => InstanceProviderErrorKinds.Validation,
            FlyErrorCategory.RateLimited => InstanceProviderErrorKinds.RateLimited,
            FlyErrorCategory.Conflict => InstanceProviderErrorKinds.Conflict,
            _ => InstanceProviderErrorKinds.Unavailable,
        };
        return new InstanceProviderException(kind, $"Fly refused the call for instance '{_instanceId}': {ex.FlyMessage ?? ex.Message}", ex.FlyMessage, ex.StatusCode);
    }

    private InstanceSpec ToSpec() => new(
        S.Name,
        S.Region,
        RequestedSize(),
        S.Image,
        S.Env.Count == 0 ? null : S.Env,
        RequestedVolume(),
        S.PublicIp);

    /// <summary>The state the API reports: the machine's, or where the creation is while there is none to report.</summary>
    private string ObservedNow() => S.Phase switch
    {
        InstancePhases.Creating => InstanceStates.Creating,
        InstancePhases.Failed => InstanceStates.Failed,
        _ => S.ObservedState,
    };

    private InstanceSnapshot ToSnapshot() => new(
        _instanceId,
        S.Name,
        S.Region,
        new InstanceSize(S.SizePreset, S.Cpus, S.MemoryMb, S.CpuKind),
        S.DesiredState,
        ObservedNow(),
        S.MachineId,
        S.PrivateIp,
        S.VolumeId,
        [.. S.Ips],
        S.CreatedAt,
        S.UpdatedAt,
        S.SshPublicKey,
        S.HostKey,
        S.Image,
        S.VolumePath,
        S.LastError,
        S.Revision,
        S.Error,
        S.HostKey is { } hostKey ? Ssh.SshKeys.Fingerprint(hostKey) : null,
        VolumeSizeNow());

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance {Instance} destroyed (volume kept: {KeepVolume})")]
    private partial void LogDestroyed(string instance, bool keepVolume);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {Instance}: the machine is {State}: {Reason}")]
    private partial void LogMachineFailed(string instance, string state, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {Instance}: background refresh failed: {Reason}")]
    private partial void LogRefreshFailed(string instance, string reason);
}
