using System.Net;

namespace Orchestrator.Fly.Emulator.Backend;

internal sealed partial class FlyBackend
{
    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Created app {App} in org {Org}")]
        public static partial void AppCreated(ILogger logger, string app, string org);

        [LoggerMessage(Level = LogLevel.Information, Message = "Deleted app {App}, destroying {MachineCount} machine(s)")]
        public static partial void AppDeleted(ILogger logger, string app, int machineCount);

        [LoggerMessage(Level = LogLevel.Information, Message = "Created machine {MachineId} in app {App} at {Address} ({Region})")]
        public static partial void MachineCreated(ILogger logger, string app, string machineId, IPAddress address, string region);

        [LoggerMessage(Level = LogLevel.Information, Message = "Updated machine {MachineId} in app {App} to version {InstanceId}")]
        public static partial void MachineUpdated(ILogger logger, string app, string machineId, string instanceId);

        [LoggerMessage(Level = LogLevel.Information, Message = "Machine {MachineId} started at {Address}")]
        public static partial void MachineStarted(ILogger logger, string machineId, IPAddress address);

        [LoggerMessage(Level = LogLevel.Information, Message = "Machine {MachineId} stopped (requested: {Requested})")]
        public static partial void MachineStopped(ILogger logger, string machineId, bool requested);

        [LoggerMessage(Level = LogLevel.Information, Message = "Machine {MachineId} destroyed")]
        public static partial void MachineDestroyed(ILogger logger, string machineId);

        [LoggerMessage(Level = LogLevel.Information, Message = "Created volume {VolumeId} in app {App} at {Directory}")]
        public static partial void VolumeCreated(ILogger logger, string app, string volumeId, string directory);

        [LoggerMessage(Level = LogLevel.Error, Message = "Runtime {Operation} of machine {MachineId} failed")]
        public static partial void RuntimeCallFailed(ILogger logger, string operation, string machineId, Exception exception);

        [LoggerMessage(Level = LogLevel.Error, Message = "A transition of machine {MachineId} failed")]
        public static partial void FlowFailed(ILogger logger, string machineId, Exception exception);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Machine transitions did not finish before the shutdown deadline")]
        public static partial void ShutdownFlowsOverran(ILogger logger);

        [LoggerMessage(Level = LogLevel.Information, Message = "Stopping {Count} running machine(s) at shutdown")]
        public static partial void StoppingMachines(ILogger logger, int count);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Machine {MachineId}'s main process exited with code {ExitCode} (restarting: {Restarting}); last output: {Output}")]
        public static partial void MachineExited(ILogger logger, string machineId, int exitCode, bool restarting, string output);

        [LoggerMessage(Level = LogLevel.Information, Message = "Start of machine {MachineId} failed by an injected start fault: {Reason}")]
        public static partial void StartFaultInjected(ILogger logger, string machineId, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Could not delete {Directory}")]
        public static partial void DeleteFailed(ILogger logger, string directory, Exception exception);
    }
}
