namespace Orchestrator.Sandbox;

/// <summary>Ending a machine: every one of its processes, however detached, and nothing else.</summary>
public sealed partial class MachineSandboxes
{
    /// <summary>Kills every process of the machine and waits until none is left, then reaps our child.</summary>
    private async Task TerminateAsync(MachineSandbox sandbox)
    {
        sandbox.Stopping = true;
        if (sandbox.Isolated)
        {
            // bwrap exits by itself once its namespace's init is gone, reaping that init on the
            // way; killed first, it would leave the init a zombie for the host's PID 1.
            foreach (var process in ProcessTable.FindMachineProcesses([sandbox.Identity], marker: null).Where(process => process != sandbox.Identity))
            {
                ProcessTable.Kill(process);
            }

            try
            {
                await sandbox.Exited.WaitAsync(_monitorGrace, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Killed with the rest below.
            }
        }

        await KillAsync([sandbox.Identity], sandbox.Marker, CancellationToken.None).ConfigureAwait(false);
        using (var reap = new CancellationTokenSource(_stopTimeout, _time))
        {
            // The Exited event follows the kernel's exit notice by a moment; IsRunning keys on it.
            try
            {
                await sandbox.Exited.WaitAsync(reap.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The process is gone per /proc; only the event is late.
            }
        }

        await DrainOutputAsync(sandbox.Process).ConfigureAwait(false);

        if (File.Exists(sandbox.Layout.Record))
        {
            // Nothing left to reap: a later manager must not even look at these PIDs.
            File.Delete(sandbox.Layout.Record);
        }

        sandbox.Process.Dispose();
        LogStopped(sandbox.MachineId);
    }

    /// <summary>
    /// SIGKILLs the machine's processes until none is left. With bubblewrap, killing the
    /// namespace's init ends the rest in the kernel; without it, the tree walk plus the
    /// environment marker find sessions and their detached children.
    /// </summary>
    /// <returns>How many distinct processes were killed.</returns>
    private async Task<int> KillAsync(IReadOnlyCollection<ProcessIdentity> roots, string? marker, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var known = new HashSet<ProcessIdentity>(roots);
        var killed = new HashSet<ProcessIdentity>();
        while (true)
        {
            // Every process seen so far is a root of the next walk, so a child forked just
            // before its parent died is still found.
            var alive = ProcessTable.FindMachineProcesses(known, marker);
            if (alive.Count == 0)
            {
                return killed.Count;
            }

            foreach (var process in alive)
            {
                known.Add(process);
                killed.Add(process);
                ProcessTable.Kill(process);
            }

            if (_time.GetElapsedTime(started) > _stopTimeout)
            {
                throw new TimeoutException($"These processes survived SIGKILL for {_stopTimeout.TotalSeconds:0} s: {string.Join(", ", alive.Select(process => process.ProcessId))}.");
            }

            await Task.Delay(_pollInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }
}
