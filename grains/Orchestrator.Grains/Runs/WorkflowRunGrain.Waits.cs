namespace Orchestrator.Grains.Runs;

/// <summary>Waiting: sleeps, retry backoffs and signal timeouts on timers or reminders, signals, child runs.</summary>
internal sealed partial class WorkflowRunGrain
{
    Task IChildRunGrain.ChildEndedAsync(string childRunId, CancellationToken cancellationToken)
    {
        if (_childWaiters.Remove(childRunId, out var waiter))
        {
            waiter.TrySetResult();
        }

        return Task.CompletedTask;
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (!Started || RunStatuses.IsTerminal(S.Status))
        {
            await UnregisterAsync(reminderName);
            return;
        }

        if (reminderName == WakeReminder)
        {
            WakeDueWaits();
            await ScheduleWakeAsync();
        }

        EnsureDriving();
    }

    /// <summary>Waits on a timer when short, on a reminder when long: a reminder also wakes a run whose silo died meanwhile.</summary>
    private async Task WaitUntilAsync(DateTimeOffset at, CancellationToken cancellationToken)
    {
        var remaining = at - time.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            return;
        }

        if (remaining <= Options.TimerWaitLimit)
        {
            await Task.Delay(remaining, time, cancellationToken);
            return;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _longWaits.Add((at, done));
        await ScheduleWakeAsync();
        await done.Task.WaitAsync(cancellationToken);
    }

    private async Task<string> WaitForSignalAsync(string name, DateTimeOffset? deadline, CancellationToken cancellationToken)
    {
        if (S.Signals.Remove(name, out var stored))
        {
            return stored;
        }

        var waiter = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        _signalWaiters[name] = waiter;
        try
        {
            if (deadline is { } at)
            {
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                var timeout = WaitUntilAsync(at, stop.Token);
                if (await Task.WhenAny(waiter.Task, timeout) != waiter.Task)
                {
                    await timeout;
                    throw new TimeoutException($"no signal '{name}' arrived by {at:u}");
                }

                await stop.CancelAsync();
                await timeout.ContinueWith(static _ => { }, TaskScheduler.Current);
            }

            return await waiter.Task.WaitAsync(cancellationToken);
        }
        finally
        {
            _signalWaiters.Remove(name);
        }
    }

    private async Task WaitForChildAsync(string childRunId, IWorkflowRunGrain child, CancellationToken cancellationToken)
    {
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _childWaiters[childRunId] = ended;
        try
        {
            // The child may have ended while this run was not listening (e.g. during a failover).
            while (await child.GetAsync(cancellationToken) is { } view && !RunStatuses.IsTerminal(view.Status))
            {
                await Task.WhenAny(ended.Task, Task.Delay(Options.ResumePeriod, time, cancellationToken));
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            _childWaiters.Remove(childRunId);
        }
    }

    private async Task SetWaitingAsync(StepState st, DateTimeOffset? wakeAt)
    {
        st.Status = StepStatuses.Waiting;
        st.WakeAt = wakeAt;
        await CheckpointAsync();
    }

    private void WakeDueWaits()
    {
        var now = time.GetUtcNow();
        foreach (var wait in _longWaits.Where(w => w.At <= now).ToList())
        {
            _longWaits.Remove(wait);
            wait.Done.TrySetResult();
        }
    }

    private async Task ScheduleWakeAsync()
    {
        _longWaits.RemoveAll(w => w.Done.Task.IsCompleted);
        if (_longWaits.Count == 0)
        {
            await UnregisterAsync(WakeReminder);
            return;
        }

        var due = _longWaits.Min(w => w.At) - time.GetUtcNow();
        _reminders[WakeReminder] = await this.RegisterOrUpdateReminder(WakeReminder, due < TimeSpan.Zero ? TimeSpan.Zero : due, Options.ResumePeriod);
    }

    private async Task UnregisterAsync(string name)
    {
        // Reminders registered by this activation are known; only an activation that resumed a run has to look.
        var reminder = _reminders.Remove(name, out var known) ? known : _resumed ? await this.GetReminder(name) : null;
        if (reminder is not null)
        {
            await this.UnregisterReminder(reminder);
        }
    }
}
