using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Orchestrator.Fly;
using Orchestrator.Grains.Tenants;
using Orchestrator.Telemetry;

namespace Orchestrator.Grains.Instances;

/// <summary>
/// Creation. The create call validates, reserves the tenant's quota, persists the intent (keys, idempotency key)
/// and returns; the grain then makes the volume, the machine and the IP on a timer of its own, interleaved with its
/// calls so that reads, waits, execs and a destroy are answered meanwhile. A reminder resumes a creation whose silo
/// died. Every step is idempotent: the machine create carries the persisted key as its client token (a resumed
/// step adopts the machine an unanswered one made), the volume has a name and the IP a tag derived from it.
/// Transient Fly failures are retried with backoff (recorded in <c>Error</c> meanwhile); a refusal ends the
/// creation <c>failed</c>, after removing what it made.
/// </summary>
internal sealed partial class InstanceGrain
{
    private const string CreateReminder = "create";

    private IGrainTimer? _createTimer;
    private Task? _createStep;

    /// <summary>The span of the call that started the creation (W3C id): lost with the activation, like the timer.</summary>
    private string? _createTraceParent;

    private const string CreateSpan = "instance.create";
    private CancellationTokenSource? _createStepCancel;
    private DateTimeOffset _nextCreateAttemptAt;
    private int _createFailures;

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

            if (S.Phase == InstancePhases.Failed)
            {
                // Tried again with the key it persisted, whatever this request's id: nothing it made is doubled.
                LogCreateRepeated(Key, S.RequestId);
                S.Phase = InstancePhases.Creating;
                S.ObservedState = InstanceStates.Creating;
                S.CreateAcceptedAt = time.GetUtcNow();
                S.CreateActor = InstanceActor.FromRequestContext();
                SetError(null);
                RecordRequested(InstanceEventKinds.Created, $"Creating again in {S.Region}, after the last creation failed.");
                await WriteAsync(cancellationToken);
                await StartCreationAsync(cancellationToken);
            }
            else if (S.Phase == InstancePhases.Creating)
            {
                // A repeated create is a nudge: a step waiting out a backoff goes now.
                _nextCreateAttemptAt = time.GetUtcNow();
                ArmCreateTimer();
            }

            return ToSnapshot();
        }

        if (availability.Problem is { } unavailable)
        {
            // Refused before anything exists: a machine made now could only ever fail.
            throw new MachinesUnavailableException(unavailable);
        }

        // The quota is checked once, before anything exists: a creation resumed after a crash is already counted.
        var quotas = await GrainFactory.GetGrain<ITenantGrain>(_tenant).GetQuotasAsync();
        await GrainFactory.GetGrain<IInstanceIndexWriterGrain>(_tenant).ReserveAsync(_instanceId, quotas.MaxInstances ?? int.MaxValue);
        var keptVolume = await ClaimKeptVolumeAsync(spec, cancellationToken);
        await InitializeAsync(spec, requestId, keptVolume, cancellationToken);
        await StartCreationAsync(cancellationToken);
        return ToSnapshot();
    }

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
            CreateAcceptedAt = now,
            CreateActor = InstanceActor.FromRequestContext(),
        };
        CryptographicOperations.ZeroMemory(pair.PrivateKey);
        CryptographicOperations.ZeroMemory(host.PrivateKey);
        state.State = fresh;
        AdoptVolume(keptVolume);
        RecordRequested(InstanceEventKinds.Created, $"Creating the machine in {S.Region}.");
        await WriteAsync(cancellationToken);
    }

    /// <summary>Binds the host key's ciphertext to this instance and to its purpose: it never decrypts as the client key.</summary>
    private string HostKeyContext => Key + "#host-key";

    /// <summary>Hash of tenant, instance and request id: the same request can only ever name the same machine.</summary>
    private string IdempotencyKeyFor(string requestId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{_tenant}/{_instanceId}/{requestId}")))[..32];

    async Task IRemindable.ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != CreateReminder)
        {
            return;
        }

        if (S.Phase == InstancePhases.Creating)
        {
            // The activation already carries on (OnActivateAsync); this only makes sure one exists after a crash.
            ArmCreateTimer();
        }
        else
        {
            await UnregisterCreateReminderAsync();
        }
    }

    /// <summary>The reminder first, so that a crash right after the create call still finds the creation resumed.</summary>
    private async Task StartCreationAsync(CancellationToken cancellationToken)
    {
        // The creation goes on after this call has answered: its Fly calls join the trace of the request that asked.
        _createTraceParent = Activity.Current?.Id;
        _createFailures = 0;
        _nextCreateAttemptAt = time.GetUtcNow();
        await this.RegisterOrUpdateReminder(CreateReminder, Options.CreateReminderPeriod, Options.CreateReminderPeriod, cancellationToken);
        ArmCreateTimer();
    }

    private void ArmCreateTimer() =>
        // Interleaved: a step waits on Fly (rate limits, retries) for longer than a grain call may wait behind it.
        _createTimer ??= this.RegisterGrainTimer(
            CreateTickAsync,
            new GrainTimerCreationOptions { DueTime = TimeSpan.Zero, Period = Options.SettlePollInterval, Interleave = true, KeepAlive = true });

    private void StopCreateTimer()
    {
        _createTimer?.Dispose();
        _createTimer = null;
    }

    private async Task UnregisterCreateReminderAsync()
    {
        try
        {
            if (await this.GetReminder(CreateReminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }
        }
        catch (ReminderException ex)
        {
            // A leftover reminder only wakes the grain to find nothing to do, and then tries again.
            LogRefreshFailed(Key, ex.Message);
        }
    }

    /// <summary>
    /// For a destroy: lets the step in flight finish (bounded) so that what it made is recorded, then cancels it.
    /// A machine create cancelled mid-way is found by its client token when the resources are removed.
    /// </summary>
    private async Task StopCreationStepAsync()
    {
        if (_createStep is not { } step)
        {
            return;
        }

        if (await Task.WhenAny(step, Task.Delay(Options.DestroyWaitsForCreateStep, time)) != step)
        {
            _createStepCancel?.Cancel();
            await Task.WhenAny(step);
        }
    }

    private async Task CreateTickAsync(CancellationToken cancellationToken)
    {
        if (S.Phase != InstancePhases.Creating)
        {
            StopCreateTimer();
            return;
        }

        if (_createStep is not null || time.GetUtcNow() < _nextCreateAttemptAt)
        {
            return;
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Lines and spans of the creation name the request that asked for it, as they would inside its call.
        using var scope = S.CreateActor?.RequestId is { } requestId
            ? logger.BeginScope(new Dictionary<string, object?> { [InstanceActor.RequestIdKey] = requestId })
            : null;
        using var activity = _createTraceParent is { } parent
            ? OrchestratorTelemetry.Source.StartActivity(CreateSpan, ActivityKind.Internal, parent)
            : null;
        activity?.SetTag("orchestrator.instance", Key);
        _createStepCancel = cancel;
        _createStep = ProvisionAsync(cancel.Token);
        try
        {
            await _createStep;
        }
        finally
        {
            _createStep = null;
            _createStepCancel = null;
        }
    }

    /// <summary>Makes whatever the instance does not have yet; after each await, a destroy may have taken over.</summary>
    private async Task ProvisionAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (S.VolumeSizeGb is { } sizeGb && S.VolumeId is null)
            {
                S.VolumeId = (await FindOrCreateVolumeAsync(sizeGb, cancellationToken)).Id;
                await WriteAsync(cancellationToken);
            }

            if (S.MachineId is null && S.Phase == InstancePhases.Creating)
            {
                if (!S.MachineCreateRequested)
                {
                    S.MachineCreateRequested = true;
                    await WriteAsync(cancellationToken);
                }

                var machine = await fly.CreateMachineAsync(App, BuildCreateRequest(), S.IdempotencyKey, cancellationToken);
                S.MachineId = machine.Id;
                Record(InstanceEventKinds.MachineCreated, $"Machine {machine.Id} created in {S.Region}.", S.CreateActor);
                await ObserveAsync(machine, cancellationToken);
                await WriteAsync(cancellationToken);
            }

            if (S.PublicIp && S.Ips.Count == 0 && S.Phase == InstancePhases.Creating)
            {
                S.Ips.Add(await FindOrAllocateIpAsync(cancellationToken));
                await WriteAsync(cancellationToken);
            }

            if (S.Phase != InstancePhases.Creating)
            {
                return;
            }

            S.Phase = InstancePhases.Ready;
            SetError(null);
            await WriteAsync(cancellationToken);
            LogCreated(Key, S.MachineId, S.Region);
            StopCreateTimer();
            ArmSettleTimer();
            await UnregisterCreateReminderAsync();
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // A destroy took over, or the silo is stopping (the reminder resumes the creation elsewhere).
        }
        catch (FlyApiException ex) when (ex.OutcomeUnknown || ex.Category is FlyErrorCategory.RateLimited or FlyErrorCategory.Server or FlyErrorCategory.Timeout)
        {
            // Fly may have done it, is busy, or could not be reached (an open circuit too): none of that is a refusal.
            await RetryLaterAsync(ex, cancellationToken);
        }
        catch (FlyApiException ex)
        {
            await FailCreationAsync(ex);
        }
    }

    /// <summary>Fly may have done it, or will later: keep the intent, say why it waits, and try again after a backoff.</summary>
    private async Task RetryLaterAsync(FlyApiException ex, CancellationToken cancellationToken)
    {
        if (S.Phase != InstancePhases.Creating)
        {
            return;
        }

        if (time.GetUtcNow() - (S.CreateAcceptedAt ?? S.CreatedAt) > Options.CreateTimeout)
        {
            await FailCreationAsync(ex);
            return;
        }

        _createFailures++;
        var delay = TimeSpan.FromTicks(Math.Min(Options.CreateRetryDelay.Ticks << Math.Min(_createFailures - 1, 6), TimeSpan.FromMinutes(1).Ticks));
        _nextCreateAttemptAt = time.GetUtcNow() + (ex.RetryAfter is { } after && after > delay ? after : delay);
        LogCreateRetry(Key, ex.Category, ex.FlyMessage ?? ex.Message, _nextCreateAttemptAt);
        SetError(FlyError(ex));
        await WriteAsync(cancellationToken);
    }

    /// <summary>A creation Fly refused: remove whatever it made, and say why it failed. Repeating the create tries again.</summary>
    private async Task FailCreationAsync(FlyApiException ex)
    {
        if (S.Phase != InstancePhases.Creating)
        {
            return;
        }

        LogCreateFailed(Key, ex.Category, ex.FlyMessage ?? ex.Message);
        // The view reads "failed" from the phase: the reason and the event come with it, before the cleanup's
        // awaits, where a read interleaves.
        S.Phase = InstancePhases.Failed;
        StopCreateTimer();
        var error = FlyError(ex);
        S.ObservedState = InstanceStates.Failed;
        SetError(error);
        Record(InstanceEventKinds.Failed, $"The machine could not be created: {error.Message}", S.CreateActor, error: error);
        using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(20), time);
        try
        {
            await RemoveResourcesAsync(keepVolume: S.VolumeAdopted, cleanup.Token);
            S.MachineId = null;
            S.MachineCreateRequested = false;
            S.MachineVersion = null;
            S.PrivateIp = null;
            if (!S.VolumeAdopted)
            {
                S.VolumeId = null;
            }
        }
        catch (Exception cleanupError) when (cleanupError is FlyApiException or OperationCanceledException)
        {
            // Leave the ids in place: a repeated create or a destroy finds the leftovers by them.
            LogCleanupFailed(Key, cleanupError.Message);
        }

        // The cleanup may have recorded the machine's destroying; what the instance is, is failed.
        S.ObservedState = InstanceStates.Failed;
        await WriteAsync(CancellationToken.None);
        await UnregisterCreateReminderAsync();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance {Instance} created: machine {MachineId} in {Region}")]
    private partial void LogCreated(string instance, string? machineId, string region);

    [LoggerMessage(Level = LogLevel.Information, Message = "Instance {Instance}: creating again after a failed creation (request {RequestId})")]
    private partial void LogCreateRepeated(string instance, string? requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {Instance}: creation step met {Category}: {Reason}; trying again at {NextAttempt}")]
    private partial void LogCreateRetry(string instance, FlyErrorCategory category, string reason, DateTimeOffset nextAttempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Instance {Instance}: create refused by Fly ({Category}): {Reason}; removing what it made")]
    private partial void LogCreateFailed(string instance, FlyErrorCategory category, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Instance {Instance}: cleaning up after a failed create failed: {Reason}")]
    private partial void LogCleanupFailed(string instance, string reason);
}
