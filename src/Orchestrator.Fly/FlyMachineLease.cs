using Microsoft.Extensions.Logging;
using Orchestrator.Fly.Http;

namespace Orchestrator.Fly;

/// <summary>A held lease: mutating calls carry its nonce; disposing releases it.</summary>
internal sealed partial class FlyMachineLease : IMachineLease
{
    private readonly IFlyMachinesApi _api;
    private readonly TimeSpan _releaseTimeout;
    private readonly ILogger _logger;
    private int _released;

    public FlyMachineLease(IFlyMachinesApi api, string appName, string machineId, FlyLease lease, TimeSpan releaseTimeout, ILogger logger)
    {
        _api = api;
        _releaseTimeout = releaseTimeout;
        _logger = logger;
        AppName = appName;
        MachineId = machineId;
        Nonce = lease.Nonce!;
        ExpiresAt = lease.ExpiresAtTime;
        Owner = lease.Owner;
    }

    public string AppName { get; }

    public string MachineId { get; }

    public string Nonce { get; }

    public DateTimeOffset? ExpiresAt { get; private set; }

    public string? Owner { get; }

    internal static int TtlSeconds(TimeSpan ttl)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ttl, TimeSpan.FromSeconds(1));
        return (int)Math.Ceiling(ttl.TotalSeconds);
    }

    public async Task RefreshAsync(TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        var response = await _api.AcquireLeaseAsync(AppName, MachineId, new CreateLeaseRequest { Ttl = TtlSeconds(ttl) }, LiveNonce(), cancellationToken)
            .ConfigureAwait(false);
        ExpiresAt = response.Data?.ExpiresAtTime ?? ExpiresAt;
    }

    public Task<FlyMachine> UpdateAsync(UpdateMachineRequest request, CancellationToken cancellationToken = default) =>
        _api.UpdateMachineAsync(AppName, MachineId, request, LiveNonce(), cancellationToken);

    public Task<FlyStartMachineResponse> StartAsync(CancellationToken cancellationToken = default) =>
        _api.StartMachineAsync(AppName, MachineId, LiveNonce(), cancellationToken);

    public Task StopAsync(StopMachineRequest? request = null, CancellationToken cancellationToken = default) =>
        _api.StopMachineAsync(AppName, MachineId, request ?? new StopMachineRequest(), LiveNonce(), cancellationToken);

    public Task RestartAsync(TimeSpan? timeout = null, string? signal = null, CancellationToken cancellationToken = default) =>
        _api.RestartMachineAsync(AppName, MachineId, timeout is { } t ? FlyDurations.ToGo(t) : null, signal, forceStop: null, LiveNonce(), cancellationToken);

    public Task SignalAsync(string signal, CancellationToken cancellationToken = default) =>
        _api.SignalMachineAsync(AppName, MachineId, new SignalMachineRequest { Signal = signal }, LiveNonce(), cancellationToken);

    public Task DeleteMachineAsync(bool force = false, CancellationToken cancellationToken = default) =>
        _api.DeleteMachineAsync(AppName, MachineId, force ? FlyQuery.Flag(true) : null, LiveNonce(), cancellationToken);

    public async Task ReleaseAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _released, 1) == 1)
        {
            return;
        }

        try
        {
            await _api.ReleaseLeaseAsync(AppName, MachineId, Nonce, cancellationToken).ConfigureAwait(false);
            LogReleased(_logger, MachineId, AppName);
        }
        catch (FlyApiException ex) when (ex.Category == FlyErrorCategory.NotFound)
        {
            // Expired before we let go: nothing is held any more, which is what releasing wanted.
            LogAlreadyGone(_logger, MachineId, AppName);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _released) == 1)
        {
            return;
        }

        // Its own deadline: the caller's token may be the very thing that ended the scope.
        using var timeout = new CancellationTokenSource(_releaseTimeout);
        try
        {
            await ReleaseAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is FlyApiException or OperationCanceledException)
        {
            // Disposal must not hide the exception that ended the scope; the lease runs out by its TTL anyway.
            LogReleaseFailed(_logger, ex, MachineId, AppName, ExpiresAt);
        }
    }

    private string LiveNonce() =>
        Volatile.Read(ref _released) == 0
            ? Nonce
            : throw new ObjectDisposedException(nameof(IMachineLease), $"The lease on machine {MachineId} has been released.");

    [LoggerMessage(Level = LogLevel.Debug, Message = "Released the lease on Fly machine {MachineId} in {AppName}")]
    private static partial void LogReleased(ILogger logger, string machineId, string appName);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The lease on Fly machine {MachineId} in {AppName} had already expired")]
    private static partial void LogAlreadyGone(ILogger logger, string machineId, string appName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not release the lease on Fly machine {MachineId} in {AppName}; it lapses at {ExpiresAt}")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, string machineId, string appName, DateTimeOffset? expiresAt);
}
