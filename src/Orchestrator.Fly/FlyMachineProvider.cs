using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orchestrator.Fly.Http;

namespace Orchestrator.Fly;

/// <summary>Metadata keys the orchestrator writes on machines.</summary>
public static class FlyMetadataKeys
{
    /// <summary>The idempotency key of the create that made the machine; found again with <c>metadata.{key}</c>.</summary>
    public const string ClientToken = "orchestrator_client_token";
}

/// <summary>The Fly implementation of <see cref="IMachineProvider"/>, over the Refit client.</summary>
internal sealed partial class FlyMachineProvider(
    IFlyMachinesApi api,
    IOptions<FlyOptions> options,
    TimeProvider timeProvider,
    ILogger<FlyMachineProvider> logger) : IMachineProvider
{
    private readonly FlyOptions _options = options.Value;

    // Apps

    public async Task<FlyApp> CreateAppAsync(string appName, string? orgSlug = null, string? network = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(appName);
        var org = orgSlug ?? _options.OrgSlug;
        var request = new CreateAppRequest { AppName = appName, Name = appName, OrgSlug = org, Network = network };
        var earlierOutcomeUnknown = false;

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var created = await api.CreateAppAsync(request, cancellationToken).ConfigureAwait(false);
                return new FlyApp { Id = created.Id, Name = appName, Organization = new FlyOrganization { Slug = org }, Network = network };
            }
            catch (FlyApiException ex) when (earlierOutcomeUnknown && IsNameTaken(ex))
            {
                // App names are global: "taken" after our own unanswered attempt is most likely that attempt's
                // app, and it is ours for sure only if it sits in our organisation (another org's app reads as 403).
                var existing = await TryGetAppInOrgAsync(appName, org, cancellationToken).ConfigureAwait(false);
                if (existing is null)
                {
                    throw;
                }

                LogAdoptedApp(logger, appName, org);
                return existing;
            }
            catch (FlyApiException ex) when (ex.OutcomeUnknown && attempt < _options.MaxCreateAttempts)
            {
                earlierOutcomeUnknown = true;
                LogCreateRetry(logger, "app", appName, attempt, ex.Category, ex.StatusCode);
                await BackoffAsync(attempt, ex.RetryAfter, cancellationToken).ConfigureAwait(false);
            }
            catch (FlyApiException ex) when (ex.Category == FlyErrorCategory.RateLimited && attempt < _options.MaxCreateAttempts)
            {
                // A 429 means the create was refused, so repeating it is safe.
                LogCreateRetry(logger, "app", appName, attempt, ex.Category, ex.StatusCode);
                await BackoffAsync(attempt, ex.RetryAfter, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public Task<FlyApp> GetAppAsync(string appName, CancellationToken cancellationToken = default) =>
        api.GetAppAsync(appName, cancellationToken);

    public async Task<IReadOnlyList<FlyApp>> ListAppsAsync(string? orgSlug = null, CancellationToken cancellationToken = default)
    {
        var list = await api.ListAppsAsync(orgSlug ?? _options.OrgSlug, cancellationToken).ConfigureAwait(false);
        return list.Apps ?? [];
    }

    public Task DeleteAppAsync(string appName, bool force = false, CancellationToken cancellationToken = default) =>
        api.DeleteAppAsync(appName, force ? FlyQuery.Flag(true) : null, cancellationToken);

    // Machines

    public async Task<FlyMachine> CreateMachineAsync(string appName, CreateMachineRequest request, string? idempotencyKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(appName);
        ArgumentNullException.ThrowIfNull(request);

        var clientToken = idempotencyKey ?? Guid.NewGuid().ToString("N");
        var metadata = new Dictionary<string, string>(request.Config.Metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            [FlyMetadataKeys.ClientToken] = clientToken,
        };
        var body = request with { Config = request.Config with { Metadata = metadata } };

        if (idempotencyKey is not null)
        {
            // A caller-held key may belong to a create whose answer an earlier call never saw.
            var earlier = await FindByClientTokenAsync(appName, clientToken, cancellationToken).ConfigureAwait(false);
            if (earlier is not null)
            {
                LogAdoptedMachine(logger, earlier.Id, appName, "an earlier call");
                return earlier;
            }
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await api.CreateMachineAsync(appName, body, cancellationToken).ConfigureAwait(false);
            }
            catch (FlyApiException ex) when (ex.OutcomeUnknown)
            {
                LogCreateRetry(logger, "machine", appName, attempt, ex.Category, ex.StatusCode);
                // Give a slow create time to land before looking for it; a machine that appears only after we
                // looked would be doubled by the next attempt, and it carries the same token to be found by.
                await BackoffAsync(attempt, ex.RetryAfter, cancellationToken).ConfigureAwait(false);
                var adopted = await FindByClientTokenAsync(appName, clientToken, cancellationToken).ConfigureAwait(false);
                if (adopted is not null)
                {
                    LogAdoptedMachine(logger, adopted.Id, appName, "an unanswered create");
                    return adopted;
                }

                if (attempt >= _options.MaxCreateAttempts)
                {
                    throw;
                }
            }
            catch (FlyApiException ex) when (ex.Category == FlyErrorCategory.RateLimited && attempt < _options.MaxCreateAttempts)
            {
                LogCreateRetry(logger, "machine", appName, attempt, ex.Category, ex.StatusCode);
                await BackoffAsync(attempt, ex.RetryAfter, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    public Task<FlyMachine> GetMachineAsync(string appName, string machineId, CancellationToken cancellationToken = default) =>
        api.GetMachineAsync(appName, machineId, cancellationToken);

    public async Task<IReadOnlyList<FlyMachine>> ListMachinesAsync(string appName, MachineListFilter? filter = null, CancellationToken cancellationToken = default)
    {
        var metadata = filter?.Metadata is { Count: > 0 } pairs ? new Dictionary<string, string>(pairs, StringComparer.Ordinal) : null;
        return await api.ListMachinesAsync(appName, FlyQuery.Flag(filter?.IncludeDeleted), filter?.Region, filter?.State, FlyQuery.Flag(filter?.Summary), metadata, cancellationToken)
            .ConfigureAwait(false);
    }

    public Task<FlyMachine> UpdateMachineAsync(string appName, string machineId, UpdateMachineRequest request, CancellationToken cancellationToken = default) =>
        api.UpdateMachineAsync(appName, machineId, request, leaseNonce: null, cancellationToken);

    public Task<FlyStartMachineResponse> StartMachineAsync(string appName, string machineId, CancellationToken cancellationToken = default) =>
        api.StartMachineAsync(appName, machineId, leaseNonce: null, cancellationToken);

    public Task StopMachineAsync(string appName, string machineId, StopMachineRequest? request = null, CancellationToken cancellationToken = default) =>
        api.StopMachineAsync(appName, machineId, request ?? new StopMachineRequest(), leaseNonce: null, cancellationToken);

    public Task RestartMachineAsync(string appName, string machineId, TimeSpan? timeout = null, string? signal = null, CancellationToken cancellationToken = default) =>
        api.RestartMachineAsync(appName, machineId, timeout is { } t ? FlyDurations.ToGo(t) : null, signal, forceStop: null, leaseNonce: null, cancellationToken);

    public Task SignalMachineAsync(string appName, string machineId, string signal, CancellationToken cancellationToken = default) =>
        api.SignalMachineAsync(appName, machineId, new SignalMachineRequest { Signal = signal }, leaseNonce: null, cancellationToken);

    public async Task<FlyWaitResponse> WaitForStateAsync(
        string appName,
        string machineId,
        string state,
        TimeSpan timeout,
        string? instanceId = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(state);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        if (state == FlyMachineStates.Stopped && string.IsNullOrEmpty(instanceId))
        {
            // Fly answers 400 "instance_id required when waiting for stopped machine"; say so before the round trip.
            throw new ArgumentException(
                "Fly requires the machine's instance_id to wait for the 'stopped' state; pass the instance_id of the version being stopped.",
                nameof(instanceId));
        }

        var cap = _options.MaxWaitPerRequest;
        var deadline = timeProvider.GetUtcNow() + timeout;
        while (true)
        {
            var remaining = deadline - timeProvider.GetUtcNow();
            var hold = remaining < cap ? remaining : cap;
            // Fly takes whole seconds in 1..60.
            var seconds = (int)Math.Clamp(Math.Ceiling(hold.TotalSeconds), 1, Math.Max(1, Math.Floor(cap.TotalSeconds)));
            try
            {
                return await api.WaitAsync(appName, machineId, state, seconds, instanceId, cancellationToken).ConfigureAwait(false);
            }
            catch (FlyApiException ex) when (ex.StatusCode == 408 && timeProvider.GetUtcNow() < deadline)
            {
                LogWaitContinues(logger, machineId, state, seconds);
            }
        }
    }

    public Task DeleteMachineAsync(string appName, string machineId, bool force = false, CancellationToken cancellationToken = default) =>
        api.DeleteMachineAsync(appName, machineId, force ? FlyQuery.Flag(true) : null, leaseNonce: null, cancellationToken);

    public async Task<IReadOnlyList<FlyMachineEvent>> ListMachineEventsAsync(string appName, string machineId, int? limit = null, CancellationToken cancellationToken = default) =>
        await api.ListMachineEventsAsync(appName, machineId, limit, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyDictionary<string, string>> GetMachineMetadataAsync(string appName, string machineId, CancellationToken cancellationToken = default) =>
        await api.GetMachineMetadataAsync(appName, machineId, cancellationToken).ConfigureAwait(false);

    public Task SetMachineMetadataAsync(string appName, string machineId, string key, string value, CancellationToken cancellationToken = default) =>
        api.SetMachineMetadataAsync(appName, machineId, key, new FlyMetadataValue { Value = value }, cancellationToken);

    // Leases

    public async Task<IMachineLease> AcquireLeaseAsync(string appName, string machineId, TimeSpan ttl, string? description = null, CancellationToken cancellationToken = default)
    {
        var request = new CreateLeaseRequest { Ttl = FlyMachineLease.TtlSeconds(ttl), Description = description ?? "" };
        var response = await api.AcquireLeaseAsync(appName, machineId, request, leaseNonce: null, cancellationToken).ConfigureAwait(false);
        var lease = response.Data is { Nonce: { Length: > 0 } } data
            ? data
            : throw new FlyApiException(
                $"Fly API POST lease on machine {machineId} answered without a nonce.",
                FlyErrorCategory.Server,
                retryable: false,
                statusCode: null,
                flyMessage: response.Message,
                flyStatus: response.Code,
                requestId: null,
                retryAfter: null);
        LogLeaseAcquired(logger, machineId, appName, lease.ExpiresAtTime);
        return new FlyMachineLease(api, appName, machineId, lease, _options.LeaseReleaseTimeout, logger);
    }

    // Volumes

    public Task<FlyVolume> CreateVolumeAsync(string appName, CreateVolumeRequest request, CancellationToken cancellationToken = default) =>
        api.CreateVolumeAsync(appName, request, cancellationToken);

    public Task<FlyVolume> GetVolumeAsync(string appName, string volumeId, CancellationToken cancellationToken = default) =>
        api.GetVolumeAsync(appName, volumeId, cancellationToken);

    public async Task<IReadOnlyList<FlyVolume>> ListVolumesAsync(string appName, CancellationToken cancellationToken = default) =>
        await api.ListVolumesAsync(appName, cancellationToken).ConfigureAwait(false);

    public Task<FlyExtendVolumeResponse> ExtendVolumeAsync(string appName, string volumeId, int sizeGb, CancellationToken cancellationToken = default) =>
        api.ExtendVolumeAsync(appName, volumeId, new ExtendVolumeRequest { SizeGb = sizeGb }, cancellationToken);

    public Task<FlyVolume> DeleteVolumeAsync(string appName, string volumeId, CancellationToken cancellationToken = default) =>
        api.DeleteVolumeAsync(appName, volumeId, cancellationToken);

    public async Task<IReadOnlyList<FlyVolumeSnapshot>> ListVolumeSnapshotsAsync(string appName, string volumeId, CancellationToken cancellationToken = default) =>
        await api.ListVolumeSnapshotsAsync(appName, volumeId, cancellationToken).ConfigureAwait(false);

    // IP addresses

    public Task<FlyIpAssignment> AllocateIpAddressAsync(string appName, string type, string? region = null, string? serviceName = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        return api.CreateIpAssignmentAsync(appName, new CreateIpAssignmentRequest { Type = type, Region = region, ServiceName = serviceName }, cancellationToken);
    }

    public async Task<IReadOnlyList<FlyIpAssignment>> ListIpAddressesAsync(string appName, CancellationToken cancellationToken = default)
    {
        var list = await api.ListIpAssignmentsAsync(appName, cancellationToken).ConfigureAwait(false);
        return list.Ips ?? [];
    }

    public Task ReleaseIpAddressAsync(string appName, string ip, CancellationToken cancellationToken = default) =>
        api.DeleteIpAssignmentAsync(appName, ip, cancellationToken);

    // Helpers

    private async Task<FlyMachine?> FindByClientTokenAsync(string appName, string clientToken, CancellationToken cancellationToken)
    {
        var filter = new Dictionary<string, string>(StringComparer.Ordinal) { [FlyMetadataKeys.ClientToken] = clientToken };
        var machines = await api.ListMachinesAsync(appName, includeDeleted: null, region: null, state: null, summary: null, filter, cancellationToken)
            .ConfigureAwait(false);
        // Checked here too: a server that ignores the filter must not make us adopt a stranger's machine.
        var ours = machines
            .Where(m => m.Config?.Metadata?.GetValueOrDefault(FlyMetadataKeys.ClientToken) == clientToken
                && m.State is not (FlyMachineStates.Destroying or FlyMachineStates.Destroyed))
            .OrderBy(m => m.CreatedAt ?? DateTimeOffset.MaxValue)
            .ToList();
        if (ours.Count > 1)
        {
            LogDuplicateMachines(logger, appName, ours.Count, string.Join(",", ours.Select(m => m.Id)));
        }

        return ours.FirstOrDefault();
    }

    private async Task<FlyApp?> TryGetAppInOrgAsync(string appName, string orgSlug, CancellationToken cancellationToken)
    {
        try
        {
            var app = await api.GetAppAsync(appName, cancellationToken).ConfigureAwait(false);
            return app.Organization?.Slug is null || app.Organization.Slug == orgSlug ? app : null;
        }
        catch (FlyApiException ex) when (ex.Category is FlyErrorCategory.NotFound or FlyErrorCategory.Authentication)
        {
            return null;
        }
    }

    private static bool IsNameTaken(FlyApiException ex) =>
        ex.StatusCode is 409 or 422
        && (ex.StatusCode == 409
            || string.Equals(ex.FlyStatus, "name_taken", StringComparison.Ordinal)
            || ex.FlyMessage?.Contains("taken", StringComparison.OrdinalIgnoreCase) == true);

    private Task BackoffAsync(int attempt, TimeSpan? retryAfter, CancellationToken cancellationToken)
    {
        var exponential = _options.RetryBaseDelay * Math.Pow(2, attempt - 1) * (0.8 + (0.4 * Random.Shared.NextDouble()));
        var delay = retryAfter ?? (exponential < _options.RetryMaxDelay ? exponential : _options.RetryMaxDelay);
        return Task.Delay(delay, timeProvider, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Creating Fly {Kind} in {AppName}: attempt {Attempt} failed ({Category}, status {StatusCode})")]
    private static partial void LogCreateRetry(ILogger logger, string kind, string appName, int attempt, FlyErrorCategory category, int? statusCode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Adopted Fly machine {MachineId} in {AppName}, created by {Origin}")]
    private static partial void LogAdoptedMachine(ILogger logger, string machineId, string appName, string origin);

    [LoggerMessage(Level = LogLevel.Information, Message = "Adopted Fly app {AppName} in {OrgSlug}, created by an unanswered attempt")]
    private static partial void LogAdoptedApp(ILogger logger, string appName, string orgSlug);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} Fly machines in {AppName} carry one client token ({MachineIds}); adopting the oldest")]
    private static partial void LogDuplicateMachines(ILogger logger, string appName, int count, string machineIds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Fly machine {MachineId} not {State} after a {Seconds} s wait; waiting again")]
    private static partial void LogWaitContinues(ILogger logger, string machineId, string state, int seconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Leased Fly machine {MachineId} in {AppName} until {ExpiresAt}")]
    private static partial void LogLeaseAcquired(ILogger logger, string machineId, string appName, DateTimeOffset? expiresAt);
}
