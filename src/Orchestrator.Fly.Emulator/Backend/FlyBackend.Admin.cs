namespace Orchestrator.Fly.Emulator.Backend;

/// <summary>What only the emulator knows: where a machine's sandbox is. Not part of Fly's API.</summary>
internal sealed partial class FlyBackend
{
    public RuntimeMachineView? GetRuntime(string machineId)
    {
        lock (_sync)
        {
            if (!_machines.TryGetValue(machineId, out var machine))
            {
                return null;
            }

            return new RuntimeMachineView(
                machine.Id,
                machine.App.Name,
                machine.State,
                machine.PrivateIp.ToString(),
                _options.SshPort,
                machine.Runtime?.RootDirectory,
                machine.Runtime?.HostPublicKey,
                machine.RuntimeActive,
                machine.VolumeId is { } volumeId && machine.App.Volumes.TryGetValue(volumeId, out var volume) ? volume.HostDirectory : null);
        }
    }
}

/// <summary>The admin view of a machine's sandbox.</summary>
internal sealed record RuntimeMachineView(
    string MachineId,
    string App,
    string State,
    string Address,
    int SshPort,
    string? RootDirectory,
    string? HostPublicKey,
    bool Running,
    string? VolumeDirectory);
