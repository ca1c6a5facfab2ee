using System.Text.Json.Nodes;
using Orchestrator.Grains.Instances;
using Orchestrator.Workflows;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Runs;

/// <summary>Instance steps: create, start, stop, destroy, resize and extend_volume, each waiting for the state it asked for.</summary>
internal sealed partial class StepExecutor
{
    private async Task<JsonObject> CreateInstanceAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var name = with.GetString("name");
        InstanceVolumeSpec? volume = null;
        if (with.GetOptionalMap("volume") is { } volumeMap)
        {
            var volumeParameters = new StepParameters(attempt.Step.Id, volumeMap.Entries);
            volume = volumeParameters.GetOptionalString("id") is { } volumeId
                ? InstanceVolumeSpec.Existing(volumeId, volumeParameters.GetString("path"))
                : new InstanceVolumeSpec(volumeParameters.GetOptionalInteger("size_gb") ?? 0, volumeParameters.GetString("path"));
        }

        var spec = new InstanceSpec(
            name,
            with.GetString("region"),
            ReadSize(attempt, with),
            with.GetOptionalString("image"),
            with.GetOptionalStringMap("env"),
            volume,
            with.GetOptionalBoolean("public_ip") ?? false);
        if (InstanceSpecRules.Validate(spec) is [var problem, ..])
        {
            throw new InvalidOperationException($"instance {problem.Field} {problem.Problem}");
        }

        var grain = Instance(attempt, name);
        await PatientlyAsync(attempt, ct => grain.CreateAsync(spec, attempt.IdempotencyKey, ct), cancellationToken);
        var snapshot = await WaitForStateAsync(attempt, grain, InstanceStates.Started, cancellationToken);
        return InstanceOutputs(snapshot);
    }

    private async Task<JsonObject> TransitionAsync(
        StepAttempt attempt,
        StepParameters with,
        string target,
        Func<IInstanceGrain, CancellationToken, Task<InstanceSnapshot>> transition,
        CancellationToken cancellationToken)
    {
        var grain = Instance(attempt, with.GetString("instance"));
        await PatientlyAsync(attempt, ct => transition(grain, ct), cancellationToken);
        var snapshot = await WaitForStateAsync(attempt, grain, target, cancellationToken);
        return new JsonObject { ["id"] = snapshot.Id, ["state"] = snapshot.ObservedState };
    }

    private async Task<JsonObject> DestroyAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var id = with.GetString("instance");
        var grain = Instance(attempt, id);
        if (await grain.GetAsync(cancellationToken) is null)
        {
            // Cleanup after a create that never happened has nothing to do.
            return new JsonObject { ["id"] = id, ["state"] = "absent" };
        }

        var keepVolume = with.GetOptionalBoolean("keep_volume") ?? false;
        var snapshot = await PatientlyAsync(attempt, ct => grain.DestroyAsync(keepVolume, ct), cancellationToken);
        return new JsonObject { ["id"] = snapshot.Id, ["state"] = snapshot.ObservedState, ["volume_id"] = snapshot.VolumeId };
    }

    private async Task<JsonObject> ResizeAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var grain = Instance(attempt, with.GetString("instance"));
        var size = ReadSize(attempt, with);
        if (InstanceSpecRules.ValidateSize(size) is { } problem)
        {
            throw new InvalidOperationException($"{problem.Field} {problem.Problem}");
        }

        var resized = await PatientlyAsync(attempt, ct => grain.ResizeAsync(size, ct), cancellationToken);
        // Fly restarts the machine with its new size: the step ends when it is back in the state it was asked to be in.
        var snapshot = await WaitForStateAsync(attempt, grain, resized.DesiredState, cancellationToken);
        var (cpuKind, cpus, memoryMb) = InstanceSpecRules.Resolve(snapshot.Size) ?? (snapshot.Size.CpuKind ?? "", snapshot.Size.Cpus ?? 0, snapshot.Size.MemoryMb ?? 0);
        return new JsonObject { ["id"] = snapshot.Id, ["state"] = snapshot.ObservedState, ["cpu_kind"] = cpuKind, ["cpus"] = cpus, ["memory_mb"] = memoryMb };
    }

    private async Task<JsonObject> ExtendVolumeAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var grain = Instance(attempt, with.GetString("instance"));
        var sizeGb = with.GetOptionalInteger("size_gb") ?? throw new InvalidOperationException("size_gb is required");
        var snapshot = await grain.GetAsync(cancellationToken) ?? throw new InvalidOperationException($"instance '{with.GetString("instance")}' does not exist");
        // Steps run at least once: a volume that already has the size asked for (this step's earlier attempt grew it) is done.
        if (snapshot.VolumeSizeGb != sizeGb || snapshot.VolumeId is null)
        {
            snapshot = await PatientlyAsync(attempt, ct => grain.ExtendVolumeAsync(sizeGb, ct), cancellationToken);
        }

        return new JsonObject { ["id"] = snapshot.Id, ["volume_id"] = snapshot.VolumeId, ["size_gb"] = snapshot.VolumeSizeGb };
    }

    /// <summary>A size parameter: a preset name, or a mapping { cpus, memory_mb, cpu_kind }.</summary>
    private static InstanceSize ReadSize(StepAttempt attempt, StepParameters with)
    {
        if (with.Values.TryGetValue("size", out var value) && value is MapValue map)
        {
            var size = new StepParameters(attempt.Step.Id, map.Entries);
            return new InstanceSize(null, size.GetOptionalInteger("cpus") ?? 0, size.GetOptionalInteger("memory_mb") ?? 0, size.GetOptionalString("cpu_kind"));
        }

        return new InstanceSize(with.GetString("size"));
    }

    /// <summary>
    /// Calls the instance grain, waiting out Fly's rate limit and brief outages (many runs starting at once must
    /// queue, not fail) until the step's deadline; every repeat is safe, the create repeating its idempotency key.
    /// </summary>
    private async Task<T> PatientlyAsync<T>(StepAttempt attempt, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + (attempt.Step.Timeout ?? Options.InstanceReadyTimeout);
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                return await call(cancellationToken);
            }
            catch (InstanceProviderException ex) when (ex.Kind is InstanceProviderErrorKinds.RateLimited or InstanceProviderErrorKinds.Unavailable
                && time.GetUtcNow() + delay < deadline)
            {
                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    private async Task<InstanceSnapshot> WaitForStateAsync(StepAttempt attempt, IInstanceGrain grain, string target, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + (attempt.Step.Timeout ?? Options.InstanceReadyTimeout);
        while (true)
        {
            var snapshot = await grain.GetAsync(cancellationToken) ?? throw new InvalidOperationException("the instance vanished");
            if (snapshot.ObservedState == target)
            {
                return snapshot;
            }

            if (snapshot.ObservedState == InstanceStates.Destroyed)
            {
                throw new InvalidOperationException($"instance {snapshot.Id} was destroyed");
            }

            if (target == InstanceStates.Started && snapshot.ObservedState == InstanceStates.Failed)
            {
                // Fly gave up on the machine: waiting longer cannot help, and the reason is known.
                throw new InvalidOperationException($"instance {snapshot.Id} failed to start: {snapshot.Error?.Message ?? "no reason was recorded"}");
            }

            if (time.GetUtcNow() > deadline)
            {
                throw new TimeoutException($"instance {snapshot.Id} did not become {target} in time (it is {snapshot.ObservedState}{(snapshot.Error is { } e ? ": " + e.Message : "")})");
            }

            await Task.Delay(Options.InstancePollInterval, time, cancellationToken);
        }
    }

    private static JsonObject InstanceOutputs(InstanceSnapshot snapshot)
    {
        var publicIp = snapshot.Ips.FirstOrDefault(ip => ip != snapshot.PrivateIp);
        return new()
        {
            ["id"] = snapshot.Id,
            ["name"] = snapshot.Name,
            ["region"] = snapshot.Region,
            ["private_ip"] = snapshot.PrivateIp,
            ["private_address"] = UrlHost(snapshot.PrivateIp),
            ["public_ip"] = publicIp,
            ["public_address"] = UrlHost(publicIp),
            ["machine_id"] = snapshot.MachineId,
            ["volume_id"] = snapshot.VolumeId,
        };

        static string? UrlHost(string? ip) =>
            System.Net.IPAddress.TryParse(ip, out var address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip;
    }

    private static IInstanceGrain Instance(StepAttempt attempt, string id)
    {
        if (InstanceSpecRules.ValidateName(id) is { } problem)
        {
            throw new InvalidOperationException($"instance '{id}' {problem}");
        }

        // The instance records who asked for each change: this run and step (the step's own async flow only).
        RequestContext.Set(InstanceActor.RunIdKey, attempt.Run.RunId);
        RequestContext.Set(InstanceActor.StepIdKey, attempt.Step.Id);
        return attempt.Run.Grains.GetGrain<IInstanceGrain>(InstanceKey.Format(attempt.Run.Tenant, id));
    }
}
