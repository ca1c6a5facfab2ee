using Orchestrator.Fly;

namespace Orchestrator.Grains.Instances;

/// <summary>
/// Following the machine: the cache of its state (refreshed after every transition, while one settles and when a
/// read finds it old), the bounded wait before acting on a machine between states, and waits for a state that
/// wake on the instance's own changes instead of polling it.
/// </summary>
internal sealed partial class InstanceGrain
{
    /// <summary>The longest wait one call may hold: inside Orleans' 30 s response timeout.</summary>
    internal static readonly TimeSpan MaxStateWait = TimeSpan.FromSeconds(25);

    // Completed (and replaced) whenever what the instance reports may have changed; waits wake on it.
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    async Task<InstanceSnapshot> IInstanceGrain.WaitForStateAsync(string state, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(state);
        ThrowIfMissing();
        var deadline = time.GetUtcNow() + (timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout > MaxStateWait ? MaxStateWait : timeout);
        while (true)
        {
            var snapshot = ToSnapshot();
            var remaining = deadline - time.GetUtcNow();
            if (snapshot.ObservedState == state || snapshot.ObservedState is InstanceStates.Failed or InstanceStates.Destroyed || remaining <= TimeSpan.Zero)
            {
                return snapshot;
            }

            if (S.Phase == InstancePhases.Ready && S.MachineId is not null && _settleTimer is null && time.GetUtcNow() - _observedAt > Options.CacheTtl)
            {
                // Nothing follows the machine now: look, as a read would.
                ArmSettleTimer();
            }

            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            await Task.WhenAny(_changed.Task, Task.Delay(remaining, time, stop.Token));
            await stop.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private void NotifyChanged() => Interlocked.Exchange(ref _changed, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

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
            NotifyChanged();
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
            NotifyChanged();
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
}
