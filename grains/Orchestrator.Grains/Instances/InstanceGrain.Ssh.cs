using Orchestrator.Fly;

namespace Orchestrator.Grains.Instances;

/// <summary>
/// Silo-internal: what a session grain needs to reach the machine. The private key leaves this grain only as
/// ciphertext; the session grain decrypts it in its own silo, so the plaintext never crosses the cluster network.
/// </summary>
[Alias("orchestrator.IInstanceSshAccessGrain")]
internal interface IInstanceSshAccessGrain : IGrainWithStringKey
{
    /// <exception cref="InstanceNotFoundException">The instance was never created.</exception>
    /// <exception cref="InstanceDestroyedException">The instance was destroyed.</exception>
    /// <exception cref="InstanceConflictException">The instance is not started.</exception>
    [Alias("GetSshAccess"), Orleans.Concurrency.AlwaysInterleave]
    Task<InstanceSshAccess> GetSshAccessAsync(CancellationToken cancellationToken = default);
}

/// <param name="Host">The machine's private address.</param>
/// <param name="PinnedHostKey">The host key pinned on first connect, or null before it.</param>
/// <param name="ProtectedPrivateKey">The instance's private key as <see cref="InstanceSecretProtector"/> ciphertext, bound to the instance grain key.</param>
/// <param name="MachineId">The machine's id: a replaced machine gets a fresh connection.</param>
[GenerateSerializer, Immutable, Alias("orchestrator.InstanceSshAccess")]
internal sealed record InstanceSshAccess(
    [property: Id(0)] string Host,
    [property: Id(1)] string? PinnedHostKey,
    [property: Id(2)] byte[] ProtectedPrivateKey,
    [property: Id(3)] string MachineId)
{
    // The ciphertext is harmless, but a log line has no use for it.
    public override string ToString() => $"InstanceSshAccess {{ Host = {Host}, MachineId = {MachineId}, PinnedHostKey = {PinnedHostKey ?? "(none)"} }}";
}

internal sealed partial class InstanceGrain : IInstanceSshAccessGrain
{
    Task<InstanceSshAccess> IInstanceSshAccessGrain.GetSshAccessAsync(CancellationToken cancellationToken)
    {
        ThrowIfNotOperable();
        if (S.Phase != InstancePhases.Ready || S.ObservedState != FlyMachineStates.Started || S.PrivateIp is null || S.MachineId is null)
        {
            var observed = S.Phase == InstancePhases.Creating ? InstanceStates.Creating : S.ObservedState;
            throw new InstanceConflictException($"Instance '{_instanceId}' is {observed}: start it before running commands or shells.");
        }

        var key = S.SshPrivateKeyProtected ?? throw new InvalidOperationException($"Instance '{_instanceId}' has no SSH key.");
        return Task.FromResult(new InstanceSshAccess(S.PrivateIp, S.HostKey, key, S.MachineId));
    }
}
