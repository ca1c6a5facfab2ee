using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Fly;
using Orchestrator.Grains.Tenants;

namespace Orchestrator.Grains.Instances;

/// <summary>
/// Owns one Fly machine. Calls are not reentrant, so concurrent transitions run one after another; each first
/// waits (bounded) for the previous one to settle. Reads interleave and are served from the cached machine.
/// Intent is persisted before every Fly call, so a retry after a crash resumes instead of repeating.
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
    ILogger<InstanceGrain> logger) : Grain, IInstanceGrain
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

        return Task.CompletedTask;
    }

    async Task<InstanceSnapshot> IInstanceGrain.CreateAsync(InstanceSpec spec, string requestId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var problems = InstanceSpecRules.Validate(spec);
        if (problems.Count > 0)
        {
            throw new InstanceValidationException(problems[0].Field, $"{problems[0].Field} {problems[0].Problem}");
        }

        if (spec.Name != _instanceId)
        {
            throw new InstanceValidationException("name", $"name '{spec.Name}' does not match the instance id '{_instanceId}'");
        }

        if (string.IsNullOrWhiteSpace(requestId) || requestId.Length > 200)
        {
            throw new InstanceValidationException("request_id", "request_id must be 1 to 200 characters");
        }

        if (state.RecordExists && S.Phase != InstancePhases.None)
        {
            ThrowIfDestroyed();
            if (!ToSpec().SameAs(spec))
            {
                throw new InstanceConflictException($"Instance '{_instanceId}' already exists with another spec.");
            }

            if (S.Phase == InstancePhases.Ready)
            {
                return ToSnapshot();
            }

            // An earlier create stopped part-way: resume it with the key it persisted, whatever this request's id.
            LogCreateResumed(Key, S.RequestId);
        }
        else
        {
            if (availability.Problem is { } unavailable)
            {
                // Refused before anything exists: a machine made now could only ever fail.
                throw new MachinesUnavailableException(unavailable);
            }

            // The quota is checked once, before anything exists: a create resumed after a crash is already counted.
            var quotas = await GrainFactory.GetGrain<ITenantGrain>(_tenant).GetQuotasAsync();
            await GrainFactory.GetGrain<IInstanceIndexWriterGrain>(_tenant).ReserveAsync(_instanceId, quotas.MaxInstances ?? int.MaxValue);
            var keptVolume = await ClaimKeptVolumeAsync(spec, cancellationToken);
            await InitializeAsync(spec, requestId, keptVolume, cancellationToken);
        }

        await ProvisionAsync(cancellationToken);
        return ToSnapshot();
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

        S.Phase = InstancePhases.Destroying;
        S.DesiredState = InstanceStates.Destroyed;
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

    private async Task InitializeAsync(InstanceSpec spec, string requestId, FlyVolume? keptVolume, CancellationToken cancellationToken)
    {
        var pair = await keys.CreateAsync($"orchestrator:{Key}", cancellationToken);
        // The machine's host key is made here and injected, so that even the first connection is verified.
        var host = await keys.CreateAsync($"root@{_instanceId}", cancellationToken);
        var now = time.GetUtcNow();
        var fresh = new InstanceState
        {
            Phase = InstancePhases.Creating,
            Name = spec.Name,
            Region = spec.Region,
            SizePreset = spec.Size.Preset,
            Cpus = spec.Size.Cpus,
            MemoryMb = spec.Size.MemoryMb,
            CpuKind = spec.Size.CpuKind,
            Image = spec.Image,
            Env = spec.Env?.ToDictionary(StringComparer.Ordinal) ?? [],
            VolumeSizeGb = spec.Volume?.SizeGb,
            VolumePath = spec.Volume?.Path,
            PublicIp = spec.PublicIp,
            RequestId = requestId,
            IdempotencyKey = IdempotencyKeyFor(requestId),
            DesiredState = InstanceStates.Started,
            ObservedState = InstanceStates.Creating,
            CreatedAt = now,
            SshPublicKey = pair.PublicKey,
            SshPrivateKeyProtected = secrets.Protect(pair.PrivateKey, Key),
            HostKey = host.PublicKey,
            HostPrivateKeyProtected = secrets.Protect(host.PrivateKey, HostKeyContext),
            Revision = S.Revision,
            LastEventSequence = S.LastEventSequence,
        };
        CryptographicOperations.ZeroMemory(pair.PrivateKey);
        CryptographicOperations.ZeroMemory(host.PrivateKey);
        state.State = fresh;
        AdoptVolume(keptVolume);
        await WriteAsync(cancellationToken);
    }

    /// <summary>Binds the host key's ciphertext to this instance and to its purpose: it never decrypts as the client key.</summary>
    private string HostKeyContext => Key + "#host-key";

    /// <summary>Hash of tenant, instance and request id: the same request can only ever name the same machine.</summary>
    private string IdempotencyKeyFor(string requestId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{_tenant}/{_instanceId}/{requestId}")))[..32];

    private async Task ProvisionAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (S.VolumeSizeGb is { } sizeGb && S.VolumeId is null)
            {
                S.VolumeId = (await FindOrCreateVolumeAsync(sizeGb, cancellationToken)).Id;
                await WriteAsync(cancellationToken);
            }

            if (S.MachineId is null)
            {
                var machine = await fly.CreateMachineAsync(App, BuildCreateRequest(), S.IdempotencyKey, cancellationToken);
                S.MachineId = machine.Id;
                RecordRequested(InstanceEventKinds.Created, $"Machine {machine.Id} created in {S.Region}.");
                await ObserveAsync(machine, cancellationToken);
                await WriteAsync(cancellationToken);
            }

            if (S.PublicIp && S.Ips.Count == 0)
            {
                S.Ips.Add(await FindOrAllocateIpAsync(cancellationToken));
            }

            S.Phase = InstancePhases.Ready;
            SetError(null);
            await WriteAsync(cancellationToken);
            LogCreated(Key, S.MachineId, S.Region);
            ArmSettleTimer();
        }
        catch (FlyApiException ex) when (ex.OutcomeUnknown)
        {
            // Fly may have done it: keep the intent so that a retry adopts what exists instead of making more.
            SetError(FlyError(ex));
            await WriteAsync(cancellationToken);
            throw ToProviderException(ex);
        }
        catch (FlyApiException ex)
        {
            LogCreateFailed(Key, ex.Category, ex.FlyMessage ?? ex.Message);
            await CleanUpFailedCreateAsync();
            throw ToProviderException(ex);
        }
    }

    private async Task<FlyVolume> FindOrCreateVolumeAsync(int sizeGb, CancellationToken cancellationToken)
    {
        // Volume creates carry no client token: a deterministic name lets a retried create adopt the first one.
        var name = "i_" + S.IdempotencyKey![..24];
        var existing = (await fly.ListVolumesAsync(App, cancellationToken))
            .FirstOrDefault(v => v.Name == name && v.State is not ("destroyed" or "destroying" or "pending_destroy"));
        if (existing is not null)
        {
            return existing;
        }

        var (cpuKind, cpus, memoryMb) = InstanceSpecRules.Resolve(ToSpec().Size)!.Value;
        return await fly.CreateVolumeAsync(App, new CreateVolumeRequest
        {
            Name = name,
            Region = S.Region,
            SizeGb = sizeGb,
            Compute = new FlyGuest { CpuKind = cpuKind, Cpus = cpus, MemoryMb = memoryMb },
            ComputeImage = S.Image ?? Options.DefaultImage,
        }, cancellationToken);
    }

    /// <summary>
    /// IP allocations carry no client token, and the answer to one can be lost after Fly made it. The intent (public_ip
    /// and the idempotency key) is persisted before any Fly call, and every allocation is tagged with a service name
    /// derived from the key: a retried create adopts the address an earlier attempt made and releases any more.
    /// </summary>
    private async Task<string> FindOrAllocateIpAsync(CancellationToken cancellationToken)
    {
        if (await ListTaggedIpsAsync(cancellationToken) is [var adopted, .. var strays])
        {
            foreach (var stray in strays)
            {
                await IgnoreNotFoundAsync(() => fly.ReleaseIpAddressAsync(App, stray, cancellationToken));
            }

            return adopted;
        }

        var ip = await fly.AllocateIpAddressAsync(App, FlyIpAddressTypes.V6, S.Region, IpServiceName, cancellationToken);
        return ip.Ip ?? "";
    }

    /// <summary>The addresses allocated for this create, oldest first, whether their allocation was answered or not.</summary>
    private async Task<List<string>> ListTaggedIpsAsync(CancellationToken cancellationToken) =>
        [.. (await fly.ListIpAddressesAsync(App, cancellationToken))
            .Where(ip => ip.ServiceName == IpServiceName && ip.Ip is { Length: > 0 })
            .OrderBy(ip => ip.CreatedAt)
            .ThenBy(ip => ip.Ip, StringComparer.Ordinal)
            .Select(ip => ip.Ip!)];

    private string IpServiceName => "i-" + S.IdempotencyKey![..24];

    private CreateMachineRequest BuildCreateRequest()
    {
        var (cpuKind, cpus, memoryMb) = InstanceSpecRules.Resolve(ToSpec().Size)!.Value;
        return new CreateMachineRequest
        {
            Name = $"{_instanceId[..Math.Min(_instanceId.Length, 40)]}-{S.IdempotencyKey![..12]}",
            Region = S.Region,
            Config = new FlyMachineConfig
            {
                Image = S.Image ?? Options.DefaultImage,
                Guest = new FlyGuest { CpuKind = cpuKind, Cpus = cpus, MemoryMb = memoryMb },
                Env = S.Env.Count == 0 ? null : S.Env,
                Files = BuildFiles(),
                Mounts = S.VolumeId is { } volume ? [new FlyMachineMount { Volume = volume, Path = S.VolumePath }] : null,
                Metadata = new Dictionary<string, string> { [TenantMetadataKey] = _tenant, [InstanceMetadataKey] = _instanceId },
                Restart = new FlyMachineRestart { Policy = "on-failure" },
            },
        };
    }

    /// <summary>The instance's public key for root, and (instances made since host keys are injected) the machine's host key.</summary>
    private List<FlyMachineFile> BuildFiles()
    {
        var files = new List<FlyMachineFile> { new() { GuestPath = AuthorizedKeysPath, RawValue = Convert.ToBase64String(Encoding.UTF8.GetBytes(S.SshPublicKey + "\n")) } };
        if (S.HostPrivateKeyProtected is { } protectedHostKey)
        {
            var hostKey = secrets.Unprotect(protectedHostKey, HostKeyContext);
            try
            {
                files.Add(new FlyMachineFile { GuestPath = HostKeyPath, RawValue = Convert.ToBase64String(hostKey), Mode = PrivateFileMode });
            }
            finally
            {
                CryptographicOperations.ZeroMemory(hostKey);
            }
        }

        return files;
    }

    /// <summary>A create Fly definitely refused: remove whatever this instance made, and forget it.</summary>
    private async Task CleanUpFailedCreateAsync()
    {
        using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await RemoveResourcesAsync(keepVolume: S.VolumeAdopted, cleanup.Token);
        }
        catch (Exception ex) when (ex is FlyApiException or OperationCanceledException)
        {
            // Leave the intent in place: a retried create or a destroy finds the leftovers by their ids.
            LogCleanupFailed(Key, ex.Message);
            SetError(ex is FlyApiException flyError ? FlyError(flyError) : new InstanceError(InstanceErrorCodes.FlyError, ex.Message, time.GetUtcNow()));
            await WriteAsync(CancellationToken.None);
            return;
        }

        var revision = S.Revision;
        await state.ClearStateAsync(CancellationToken.None);
        state.State = new InstanceState { Revision = revision + 1 };
        GrainFactory.GetGrain<IInstanceIndexWriterGrain>(_tenant).RemoveAsync(_instanceId).Ignore();
    }

    private async Task RemoveResourcesAsync(bool keepVolume, CancellationToken cancellationToken)
    {
        foreach (var ip in S.Ips.Where(ip => ip.Length > 0).ToList())
        {
            await IgnoreNotFoundAsync(() => fly.ReleaseIpAddressAsync(App, ip, cancellationToken));
            S.Ips.Remove(ip);
        }

        if (S.PublicIp && S.IdempotencyKey is { Length: >= 24 })
        {
            // An allocation whose answer was lost is in no record: found by its tag, released with the rest.
            foreach (var stray in await ListTaggedIpsAsync(cancellationToken))
            {
                await IgnoreNotFoundAsync(() => fly.ReleaseIpAddressAsync(App, stray, cancellationToken));
            }
        }

        if (S.MachineId is { } machineId)
        {
            await IgnoreNotFoundAsync(() => fly.DeleteMachineAsync(App, machineId, force: true, cancellationToken));
            S.ObservedState = FlyMachineStates.Destroying;
            // The volume stays attached until the machine is gone.
            await IgnoreNotFoundAsync(() => fly.WaitForStateAsync(App, machineId, FlyMachineStates.Destroyed, TimeSpan.FromSeconds(10), cancellationToken: cancellationToken));
        }

        if (!keepVolume && S.VolumeId is { } volumeId)
        {
            var deadline = time.GetUtcNow() + TimeSpan.FromSeconds(10);
            while (true)
            {
                try
                {
                    await IgnoreNotFoundAsync(() => fly.DeleteVolumeAsync(App, volumeId, cancellationToken));
                    break;
                }
                catch (FlyApiException ex) when (ex.Category == FlyErrorCategory.Conflict && time.GetUtcNow() < deadline)
                {
                    await Task.Delay(Options.SettlePollInterval, time, cancellationToken);
                }
            }
        }
    }

    private static async Task IgnoreNotFoundAsync(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (FlyApiException ex) when (ex.Category == FlyErrorCategory.NotFound)
        {
            // Already gone: the goal of every removal.
        }
    }

    private async Task SetDesiredAsync(string desired, CancellationToken cancellationToken)
    {
        if (S.DesiredState != desired)
        {
            S.DesiredState = desired;
            await WriteAsync(cancellationToken);
        }
    }

    /// <summary>Waits, bounded, until the machine is not between states: Fly refuses most calls meanwhile.</summary>
    private async Task SettleAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(persist: false, cancellationToken);
        var deadline = time.GetUtcNow() + Options.SettleBeforeActing;
        while (IsTransient(S.ObservedState) && time.GetUtcNow() < deadline)
        {
            await Task.Delay(Options.SettlePollInterval, time, cancellationToken);
            await RefreshAsync(persist: false, cancellationToken);
        }
    }

    private bool IsTransient(string observed) =>
        TransientStates.Contains(observed) || (observed == FlyMachineStates.Created && S.DesiredState == InstanceStates.Started);

    private async Task<InstanceSnapshot> AfterTransitionAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(persist: true, cancellationToken);
        ArmSettleTimer();
        return ToSnapshot();
    }

    private async Task CallFlyAsync(Func<CancellationToken, Task> call, CancellationToken cancellationToken)
    {
        try
        {
            await call(cancellationToken);
        }
        catch (FlyApiException ex) when (ex.Category == FlyErrorCategory.Conflict && !ex.IsLeaseConflict)
        {
            // The machine moved between our read and the call: let it settle and try once more.
            await SettleAsync(cancellationToken);
            try
            {
                await call(cancellationToken);
            }
            catch (FlyApiException again)
            {
                throw ToProviderException(again);
            }
        }
        catch (FlyApiException ex)
        {
            throw ToProviderException(ex);
        }
    }

    private async Task RefreshAsync(bool persist, CancellationToken cancellationToken)
    {
        if (S.MachineId is not { } machineId)
        {
            return;
        }

        var before = (S.ObservedState, S.PrivateIp, S.MachineVersion);
        try
        {
            await ObserveAsync(await fly.GetMachineAsync(App, machineId, cancellationToken), cancellationToken);
        }
        catch (FlyApiException ex) when (ex.Category == FlyErrorCategory.NotFound)
        {
            if (S.ObservedState != InstanceStates.Destroyed && S.Phase == InstancePhases.Ready)
            {
                Record(InstanceEventKinds.Destroyed, "The machine was destroyed outside Orchestrator.", actor: null);
            }

            S.ObservedState = InstanceStates.Destroyed;
            _observedAt = time.GetUtcNow();
        }
        catch (FlyApiException ex)
        {
            throw ToProviderException(ex);
        }

        if (persist && (_eventsDirty || before != (S.ObservedState, S.PrivateIp, S.MachineVersion)))
        {
            await WriteAsync(cancellationToken);
        }
    }

    private async Task ObserveAsync(FlyMachine machine, CancellationToken cancellationToken)
    {
        var previous = S.ObservedState;
        S.ObservedState = machine.State ?? S.ObservedState;
        S.PrivateIp = machine.PrivateIp ?? S.PrivateIp;
        S.MachineVersion = machine.InstanceId ?? S.MachineVersion;
        _observedAt = time.GetUtcNow();
        if (S.ObservedState != previous)
        {
            await OnObservedChangeAsync(previous, machine, cancellationToken);
        }
    }

    /// <summary>Follows the machine in the background until it reaches the desired state (or the timeout).</summary>
    private void ArmSettleTimer()
    {
        _settleUntil = time.GetUtcNow() + Options.SettleTimeout;
        _settleTimer ??= this.RegisterGrainTimer(
            SettleTickAsync,
            new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = Options.SettlePollInterval, Interleave = false, KeepAlive = true });
    }

    private void StopSettleTimer()
    {
        _settleTimer?.Dispose();
        _settleTimer = null;
    }

    private async Task SettleTickAsync(CancellationToken cancellationToken)
    {
        if (S.Phase != InstancePhases.Ready || S.MachineId is null)
        {
            StopSettleTimer();
            return;
        }

        try
        {
            await RefreshAsync(persist: true, cancellationToken);
        }
        catch (InstanceProviderException ex)
        {
            LogRefreshFailed(Key, ex.Message);
        }

        if (!IsTransient(S.ObservedState) || time.GetUtcNow() > _settleUntil)
        {
            StopSettleTimer();
        }
    }

    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        S.UpdatedAt = time.GetUtcNow();
        S.Revision++;
        await state.WriteStateAsync(cancellationToken);
        _eventsDirty = false;
        // One-way: the index is a listing aid; the grain is the truth and must not wait on it.
        GrainFactory.GetGrain<IInstanceIndexWriterGrain>(_tenant).UpdateAsync(ToSnapshot()).Ignore();
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
        if (S.Phase != InstancePhases.Ready || S.MachineId is null)
        {
            throw new InstanceConflictException($"Instance '{_instanceId}' is still being created; repeat the create to finish it.");
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

    private InstanceSnapshot ToSnapshot() => new(
        _instanceId,
        S.Name,
        S.Region,
        new InstanceSize(S.SizePreset, S.Cpus, S.MemoryMb, S.CpuKind),
        S.DesiredState,
        S.Phase == InstancePhases.Creating ? InstanceStates.Creating : S.ObservedState,
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance {Instance} created: machine {MachineId} in {Region}")]
    private partial void LogCreated(string instance, string? machineId, string region);

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance {Instance}: resuming the create of request {RequestId}")]
    private partial void LogCreateResumed(string instance, string? requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {Instance}: create refused by Fly ({Category}): {Reason}; removing what it made")]
    private partial void LogCreateFailed(string instance, FlyErrorCategory category, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Instance {Instance}: cleaning up after a failed create failed: {Reason}")]
    private partial void LogCleanupFailed(string instance, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance {Instance} destroyed (volume kept: {KeepVolume})")]
    private partial void LogDestroyed(string instance, bool keepVolume);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {Instance}: the machine is {State}: {Reason}")]
    private partial void LogMachineFailed(string instance, string state, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {Instance}: background refresh failed: {Reason}")]
    private partial void LogRefreshFailed(string instance, string reason);
}
