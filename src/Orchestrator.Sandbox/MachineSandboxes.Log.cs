using System.Net;
using Microsoft.Extensions.Logging;

namespace Orchestrator.Sandbox;

public sealed partial class MachineSandboxes
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "Machine sandboxes are NOT isolated: {Reason}. Each machine's sshd and commands run directly on this host as this user; files land in the machine's root directory, but absolute paths are the host's. To isolate machines, install bubblewrap with `apt-get install bubblewrap`")]
    private partial void LogNotIsolated(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not running as root: machines let in only user {UserName}, not root")]
    private partial void LogNotRoot(string userName);

    [LoggerMessage(Level = LogLevel.Information, Message = "Machine {MachineId} started: sshd at {Address}:{Port}, process {ProcessId}, isolated {Isolated}")]
    private partial void LogStarted(string machineId, IPAddress address, int port, int processId, bool isolated);

    [LoggerMessage(Level = LogLevel.Information, Message = "Machine {MachineId} stopped")]
    private partial void LogStopped(string machineId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Machine {MachineId} destroyed: deleted {Directory}")]
    private partial void LogDestroyed(string machineId, string directory);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Machine {MachineId}: sshd exited by itself with code {ExitCode}; last output: {Output}")]
    private partial void LogExitedUnexpectedly(string machineId, int exitCode, string output);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Killed {Count} leftover process(es) of machine {MachineId}, whose emulator (process {OwnerProcessId}) is gone")]
    private partial void LogReaped(int count, string machineId, int ownerProcessId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Machine {MachineId} sshd: {Line}")]
    private partial void LogSshdOutput(string machineId, string line);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Machine {MachineId}: file {GuestPath} is written to the machine's root but hidden inside the sandbox, where {Directory} is the host's, read-only")]
    private partial void LogFileHidden(string machineId, string guestPath, string directory);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Machine {MachineId}: volume {HostDirectory} is not linked at {GuestPath}, where something else already is")]
    private partial void LogVolumeNotLinked(string machineId, string hostDirectory, string guestPath);

    [LoggerMessage(Level = LogLevel.Information, Message = "Machine {MachineId}: sent signal {Signal} to its main process {ProcessId}")]
    private partial void LogSignalled(string machineId, int signal, int processId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Machine {MachineId}: a MachineExited handler failed")]
    private partial void LogExitHandlerFailed(string machineId, Exception exception);
}
