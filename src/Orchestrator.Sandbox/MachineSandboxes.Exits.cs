using System.Globalization;

namespace Orchestrator.Sandbox;

/// <summary>How a machine's main process ends when nobody stopped it, and how a start that failed says why.</summary>
public sealed partial class MachineSandboxes
{
    /// <summary>
    /// Raised once when a started machine's main process (its sshd) exits without a stop: a crash, or a kill from
    /// outside (see <see cref="MachineSandbox.SignalMainProcessAsync"/>). Not raised for stops, restarts, destroys
    /// or failed starts. The machine's other processes may still be running: call
    /// <see cref="StopAsync(string, CancellationToken)"/> to end them. Raised on a thread-pool thread.
    /// </summary>
    public event EventHandler<MachineExitedEventArgs>? MachineExited;

    /// <summary>Sends <paramref name="signal"/> to the main process of <paramref name="sandbox"/>.</summary>
    internal async Task SignalAsync(MachineSandbox sandbox, int signal, CancellationToken cancellationToken)
    {
        if (signal is < 1 or > 64)
        {
            throw new ArgumentOutOfRangeException(nameof(signal), signal, "A signal is a number from 1 to 64.");
        }

        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Machine sandboxes need Linux.");
        }

        if (sandbox.MainProcessId is not { } processId)
        {
            throw new InvalidOperationException($"Machine {sandbox.MachineId} does not run.");
        }

        var kill = HostTool.Find("kill", "/usr/bin/kill", "/bin/kill")
            ?? throw new InvalidOperationException("No kill program on this host (procps).");
        var (exitCode, output) = await HostTool.RunAsync(
            kill, [string.Create(CultureInfo.InvariantCulture, $"-{signal}"), processId.ToString(CultureInfo.InvariantCulture)], _toolTimeout, cancellationToken).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"Machine {sandbox.MachineId}: kill -{signal} {processId} failed: {output.Trim()}");
        }

        LogSignalled(sandbox.MachineId, signal, processId);
    }

    /// <summary>
    /// Waits (at most <see cref="_drainTimeout"/>) for the end of an exited process's output: the exit is known before
    /// its last lines (why it died) have been read.
    /// </summary>
    private async Task DrainOutputAsync(System.Diagnostics.Process process)
    {
        using var drain = new CancellationTokenSource(_drainTimeout, _time);
        try
        {
            await process.WaitForExitAsync(drain.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Something of the machine still holds the pipe; what arrived will do.
        }
    }

    private async Task ReportUnexpectedExitAsync(MachineSandbox sandbox, int? exitCode)
    {
        if (!sandbox.TryClaimExitReport())
        {
            return;
        }

        try
        {
            await DrainOutputAsync(sandbox.Process).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
        {
            // The machine was cleaned up meanwhile; its output so far is kept apart from the process.
        }

        var code = exitCode ?? -1;
        var lastOutput = sandbox.RecentOutput.TakeLast(10).ToList();
        LogExitedUnexpectedly(sandbox.MachineId, code, string.Join(Environment.NewLine, lastOutput));
        var exit = new SandboxExit(sandbox.MachineId, code, code > 128 ? code - 128 : null, lastOutput, _time.GetUtcNow());
        try
        {
            MachineExited?.Invoke(this, new MachineExitedEventArgs(sandbox, exit));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A failing subscriber must not take the process-exit thread down with it.
            LogExitHandlerFailed(sandbox.MachineId, ex);
        }
    }

    /// <summary>Why a start failed, ending with sshd's own last words, for an exception that callers show as is.</summary>
    private static string StartFailureMessage(string machineId, string failure, string program, int? exitCode, IReadOnlyList<string> output)
    {
        var code = exitCode is { } value ? string.Create(CultureInfo.InvariantCulture, $" with exit code {value}") : "";
        var lines = output.Where(line => !string.IsNullOrWhiteSpace(line)).TakeLast(10).ToList();
        return lines.Count == 0
            ? $"Machine {machineId}: {failure}{code} ({program}), without output."
            : $"Machine {machineId}: {failure}{code} ({program}): {string.Join(Environment.NewLine, lines)}";
    }
}
