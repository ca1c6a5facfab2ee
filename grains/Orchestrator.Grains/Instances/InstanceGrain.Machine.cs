using System.Security.Cryptography;
using System.Text;
using Orchestrator.Fly;

namespace Orchestrator.Grains.Instances;

/// <summary>
/// The Fly resources an instance owns (volume, machine, IP): found again by the names and tags derived from the
/// creation's idempotency key, so that a repeated or resumed step adopts what an earlier one made, and removed
/// together, including a machine whose create was sent but never answered.
/// </summary>
internal sealed partial class InstanceGrain
{
    private async Task<FlyVolume> FindOrCreateVolumeAsync(int sizeGb, CancellationToken cancellationToken)
    {
        // Volume creates carry no client token: a deterministic name lets a retried create adopt the first one.
        var name = "i_" + S.IdempotencyKey![..24];
        var existing = (await fly.ListVolumesAsync(App, cancellationToken))
            .FirstOrDefault(v => v.Name == name && v.State is not ("destroyed" or "destroying" or "pending_destroy"));
        if (existing is not null)
        {
            return existing;
        }

        var (cpuKind, cpus, memoryMb) = InstanceSpecRules.Resolve(ToSpec().Size)!.Value;
        return await fly.CreateVolumeAsync(App, new CreateVolumeRequest
        {
            Name = name,
            Region = S.Region,
            SizeGb = sizeGb,
            Compute = new FlyGuest { CpuKind = cpuKind, Cpus = cpus, MemoryMb = memoryMb },
            ComputeImage = S.Image ?? Options.DefaultImage,
        }, cancellationToken);
    }

    /// <summary>
    /// IP allocations carry no client token, and the answer to one can be lost after Fly made it. The intent (public_ip
    /// and the idempotency key) is persisted before any Fly call, and every allocation is tagged with a service name
    /// derived from the key: a retried create adopts the address an earlier attempt made and releases any more.
    /// </summary>
    private async Task<string> FindOrAllocateIpAsync(CancellationToken cancellationToken)
    {
        if (await ListTaggedIpsAsync(cancellationToken) is [var adopted, .. var strays])
        {
            foreach (var stray in strays)
            {
                await IgnoreNotFoundAsync(() => fly.ReleaseIpAddressAsync(App, stray, cancellationToken));
            }

            return adopted;
        }

        var ip = await fly.AllocateIpAddressAsync(App, FlyIpAddressTypes.V6, S.Region, IpServiceName, cancellationToken);
        return ip.Ip ?? "";
    }

    /// <summary>The addresses allocated for this create, oldest first, whether their allocation was answered or not.</summary>
    private async Task<List<string>> ListTaggedIpsAsync(CancellationToken cancellationToken) =>
        [.. (await fly.ListIpAddressesAsync(App, cancellationToken))
            .Where(ip => ip.ServiceName == IpServiceName && ip.Ip is { Length: > 0 })
            .OrderBy(ip => ip.CreatedAt)
            .ThenBy(ip => ip.Ip, StringComparer.Ordinal)
            .Select(ip => ip.Ip!)];

    private string IpServiceName => "i-" + S.IdempotencyKey![..24];

    private CreateMachineRequest BuildCreateRequest()
    {
        var (cpuKind, cpus, memoryMb) = InstanceSpecRules.Resolve(ToSpec().Size)!.Value;
        return new CreateMachineRequest
        {
            Name = $"{_instanceId[..Math.Min(_instanceId.Length, 40)]}-{S.IdempotencyKey![..12]}",
            Region = S.Region,
            Config = new FlyMachineConfig
            {
                Image = S.Image ?? Options.DefaultImage,
                Guest = new FlyGuest { CpuKind = cpuKind, Cpus = cpus, MemoryMb = memoryMb },
                Env = S.Env.Count == 0 ? null : S.Env,
                Files = BuildFiles(),
                Mounts = S.VolumeId is { } volume ? [new FlyMachineMount { Volume = volume, Path = S.VolumePath }] : null,
                Metadata = new Dictionary<string, string> { [TenantMetadataKey] = _tenant, [InstanceMetadataKey] = _instanceId },
                Restart = new FlyMachineRestart { Policy = "on-failure" },
            },
        };
    }

    /// <summary>The instance's public key for root, and (instances made since host keys are injected) the machine's host key.</summary>
    private List<FlyMachineFile> BuildFiles()
    {
        var files = new List<FlyMachineFile> { new() { GuestPath = AuthorizedKeysPath, RawValue = Convert.ToBase64String(Encoding.UTF8.GetBytes(S.SshPublicKey + "\n")) } };
        if (S.HostPrivateKeyProtected is { } protectedHostKey)
        {
            var hostKey = secrets.Unprotect(protectedHostKey, HostKeyContext);
            try
            {
                files.Add(new FlyMachineFile { GuestPath = HostKeyPath, RawValue = Convert.ToBase64String(hostKey), Mode = PrivateFileMode });
            }
            finally
            {
                CryptographicOperations.ZeroMemory(hostKey);
            }
        }

        return files;
    }

    private async Task RemoveResourcesAsync(bool keepVolume, CancellationToken cancellationToken)
    {
        foreach (var ip in S.Ips.Where(ip => ip.Length > 0).ToList())
        {
            await IgnoreNotFoundAsync(() => fly.ReleaseIpAddressAsync(App, ip, cancellationToken));
            S.Ips.Remove(ip);
        }

        if (S.PublicIp && S.IdempotencyKey is { Length: >= 24 })
        {
            // An allocation whose answer was lost is in no record: found by its tag, released with the rest.
            foreach (var stray in await ListTaggedIpsAsync(cancellationToken))
            {
                await IgnoreNotFoundAsync(() => fly.ReleaseIpAddressAsync(App, stray, cancellationToken));
            }
        }

        if (S.MachineId is null && S.MachineCreateRequested && await FindCreatedMachineAsync(cancellationToken) is { } unanswered)
        {
            // A create whose answer never came (cancelled by a destroy, or lost): it is this instance's all the same.
            S.MachineId = unanswered.Id;
        }

        if (S.MachineId is { } machineId)
        {
            await IgnoreNotFoundAsync(() => fly.DeleteMachineAsync(App, machineId, force: true, cancellationToken));
            S.ObservedState = FlyMachineStates.Destroying;
            // The volume stays attached until the machine is gone.
            await IgnoreNotFoundAsync(() => fly.WaitForStateAsync(App, machineId, FlyMachineStates.Destroyed, TimeSpan.FromSeconds(10), cancellationToken: cancellationToken));
        }

        if (!keepVolume && S.VolumeId is { } volumeId)
        {
            var deadline = time.GetUtcNow() + TimeSpan.FromSeconds(10);
            while (true)
            {
                try
                {
                    await IgnoreNotFoundAsync(() => fly.DeleteVolumeAsync(App, volumeId, cancellationToken));
                    break;
                }
                catch (FlyApiException ex) when (ex.Category == FlyErrorCategory.Conflict && time.GetUtcNow() < deadline)
                {
                    await Task.Delay(Options.SettlePollInterval, time, cancellationToken);
                }
            }
        }
    }

    /// <summary>The machine a create with this instance's client token made, if Fly has one.</summary>
    private async Task<FlyMachine?> FindCreatedMachineAsync(CancellationToken cancellationToken)
    {
        var filter = new MachineListFilter { Metadata = new Dictionary<string, string>(StringComparer.Ordinal) { [FlyMetadataKeys.ClientToken] = S.IdempotencyKey! } };
        return (await fly.ListMachinesAsync(App, filter, cancellationToken))
            .FirstOrDefault(m => m.Config?.Metadata?.GetValueOrDefault(FlyMetadataKeys.ClientToken) == S.IdempotencyKey
                && m.State is not (FlyMachineStates.Destroying or FlyMachineStates.Destroyed));
    }

    private static async Task IgnoreNotFoundAsync(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (FlyApiException ex) when (ex.Category == FlyErrorCategory.NotFound)
        {
            // Already gone: the goal of every removal.
        }
    }
}
