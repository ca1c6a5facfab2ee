namespace Orchestrator.Sandbox;

/// <summary>The reaper: at the first start, ends the processes of machines whose emulator died without stopping them.</summary>
public sealed partial class MachineSandboxes
{
    /// <summary>
    /// Ends what a crashed emulator left running: only processes recorded in a machine's
    /// sandbox.identity whose owner is gone, and only while each PID still names the recorded
    /// process (same start time). bwrap's --die-with-parent covers most crashes already.
    /// </summary>
    private async Task ReapLeftoversAsync(ProcessIdentity self, CancellationToken cancellationToken)
    {
        foreach (var directory in Directory.EnumerateDirectories(Path.Combine(_dataDirectory, MachineLayout.MachinesDirectoryName)))
        {
            var recordPath = Path.Combine(directory, MachineLayout.RecordFileName);
            if (SandboxRecord.TryRead(recordPath) is not { } record || record.Owner == self || record.Owner.IsRunning())
            {
                continue;
            }

            var count = await KillAsync(record.Process is { } process ? [process] : [], record.Marker, cancellationToken).ConfigureAwait(false);
            if (count > 0)
            {
                LogReaped(count, Path.GetFileName(directory), record.Owner.ProcessId);
            }

            File.Delete(recordPath);
        }
    }
}
