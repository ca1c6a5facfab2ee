namespace Orchestrator.Grains.Instances;

/// <summary>
/// Whether this silo's Machines API can run machines at all. The embedded emulator needs programs from the host
/// (OpenSSH server); without them every machine would fail, so creates are refused up front instead.
/// </summary>
public interface IMachineAvailability
{
    /// <summary>Null when machines can run; otherwise what is missing and how to fix it, in one sentence.</summary>
    string? Problem { get; }
}

/// <summary>Real Fly (or an emulator elsewhere): nothing on this host to check.</summary>
internal sealed class AlwaysAvailable : IMachineAvailability
{
    public string? Problem => null;
}
