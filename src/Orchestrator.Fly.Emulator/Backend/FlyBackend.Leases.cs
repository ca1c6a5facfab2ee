using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Api;

namespace Orchestrator.Fly.Emulator.Backend;

/// <summary>Leases (an exclusive lock on a machine's writes) and machine metadata.</summary>
internal sealed partial class FlyBackend
{
    private static readonly TimeSpan DefaultLeaseTtl = TimeSpan.FromSeconds(30);

    public Outcome<LeaseResponse> AcquireLease(string appName, string machineId, int? ttl, string? description, string owner, string? nonce)
    {
        if (ttl is <= 0)
        {
            return FlyErrors.InvalidArgument("ttl must be a positive number of seconds");
        }

        lock (_sync)
        {
            if (FindMachine(appName, machineId, out var machine) is { } failure)
            {
                return failure;
            }

            var duration = ttl is { } seconds ? TimeSpan.FromSeconds(seconds) : DefaultLeaseTtl;
            if (ActiveLease(machine) is { } held)
            {
                if (held.Nonce != nonce)
                {
                    return FlyErrors.LeaseConflict(machine.Id, held.Owner, held.ExpiresAt);
                }

                // The holder refreshes its lease by acquiring again with its nonce.
                machine.Lease = held with { ExpiresAt = _time.GetUtcNow() + duration, Description = description ?? held.Description };
            }
            else
            {
                machine.Lease = NewLease(machine, owner, description ?? "", (int)duration.TotalSeconds);
            }

            return LeaseView(machine.Lease);
        }
    }

    public Outcome<LeaseResponse> GetLease(string appName, string machineId)
    {
        lock (_sync)
        {
            if (FindMachine(appName, machineId, out var machine) is { } failure)
            {
                return failure;
            }

            return ActiveLease(machine) is { } lease ? LeaseView(lease) : FlyErrors.LeaseNotFound;
        }
    }

    public FlyFailure? ReleaseLease(string appName, string machineId, string? nonce)
    {
        lock (_sync)
        {
            if (FindMachine(appName, machineId, out var machine) is { } failure)
            {
                return failure;
            }

            if (ActiveLease(machine) is not { } lease)
            {
                return FlyErrors.LeaseNotFound;
            }

            if (string.IsNullOrEmpty(nonce))
            {
                return FlyErrors.BadRequest("fly-machine-lease-nonce header is required to release a lease");
            }

            if (lease.Nonce != nonce)
            {
                return FlyErrors.LeaseConflict(machine.Id, lease.Owner, lease.ExpiresAt);
            }

            machine.Lease = null;
            return null;
        }
    }

    public Outcome<IReadOnlyDictionary<string, string>> GetMetadata(string appName, string machineId)
    {
        lock (_sync)
        {
            return FindMachine(appName, machineId, out var machine) is { } failure ? failure : MetadataOf(machine);
        }
    }

    public Outcome<MetadataValueResponse> GetMetadataValue(string appName, string machineId, string key)
    {
        lock (_sync)
        {
            if (FindMachine(appName, machineId, out var machine) is { } failure)
            {
                return failure;
            }

            return MetadataOf(machine).TryGetValue(key, out var value)
                ? new MetadataValueResponse(value)
                : FlyFailure.Error(404, $"metadata key \"{key}\" not found");
        }
    }

    /// <summary>Metadata writes are not guarded by leases (observed by integrators) and keep the instance id.</summary>
    public FlyFailure? SetMetadata(string appName, string machineId, string key, string? value)
    {
        if (value is null)
        {
            return FlyErrors.InvalidArgument("value is required");
        }

        lock (_sync)
        {
            if (FindMachine(appName, machineId, out var machine) is { } failure)
            {
                return failure;
            }

            MetadataNode(machine)[key] = value;
            machine.UpdatedAt = _time.GetUtcNow();
            return null;
        }
    }

    public FlyFailure? DeleteMetadata(string appName, string machineId, string key)
    {
        lock (_sync)
        {
            if (FindMachine(appName, machineId, out var machine) is { } failure)
            {
                return failure;
            }

            MetadataNode(machine).Remove(key);
            machine.UpdatedAt = _time.GetUtcNow();
            return null;
        }
    }

    /// <summary>PUT replaces the whole map, PATCH merges; in both, a null or empty value removes its key.</summary>
    public FlyFailure? ReplaceMetadata(string appName, string machineId, MetadataReplaceRequest request, bool merge)
    {
        lock (_sync)
        {
            if (FindMachine(appName, machineId, out var machine) is { } failure)
            {
                return failure;
            }

            if (!string.IsNullOrEmpty(request.MachineVersion) && request.MachineVersion != machine.InstanceId)
            {
                return FlyErrors.FailedPrecondition($"machine_version {request.MachineVersion} is stale; the machine is at {machine.InstanceId}");
            }

            var node = MetadataNode(machine);
            if (!merge)
            {
                node.Clear();
            }

            foreach (var (key, value) in request.Metadata ?? [])
            {
                if (string.IsNullOrEmpty(value))
                {
                    node.Remove(key);
                }
                else
                {
                    node[key] = value;
                }
            }

            machine.UpdatedAt = _time.GetUtcNow();
            return null;
        }
    }

    /// <summary>Under the lock: null when the write may go ahead, else the 409 Fly gives a write without the holder's nonce.</summary>
    /// <summary>The machine, if it exists and the caller may change it (holds its lease, or there is none).</summary>
    private FlyFailure? FindWritableMachine(string appName, string machineId, string? nonce, out MachineRecord machine) =>
        FindMachine(appName, machineId, out machine) ?? CheckLease(machine, nonce);

    private FlyFailure? CheckLease(MachineRecord machine, string? nonce) =>
        ActiveLease(machine) is { } lease && lease.Nonce != nonce
            ? FlyErrors.LeaseHeldForWrite(machine.Id, lease.Owner, lease.ExpiresAt)
            : null;

    /// <summary>Under the lock: the lease, if one is held and has not expired.</summary>
    private LeaseRecord? ActiveLease(MachineRecord machine)
    {
        if (machine.Lease is { } lease && lease.ExpiresAt <= _time.GetUtcNow())
        {
            machine.Lease = null;
        }

        return machine.Lease;
    }

    private LeaseRecord NewLease(MachineRecord machine, string owner, string description, int ttlSeconds) =>
        new(FlyIds.LeaseNonce(), owner, description, _time.GetUtcNow().AddSeconds(ttlSeconds), machine.InstanceId);

    private static LeaseResponse LeaseView(LeaseRecord lease) =>
        new("success", new LeaseData(lease.Nonce, lease.ExpiresAt.ToUnixTimeSeconds(), lease.Owner, lease.Description, lease.Version));

    private static JsonObject MetadataNode(MachineRecord machine)
    {
        if (machine.Config["metadata"] is not JsonObject metadata)
        {
            metadata = [];
            machine.Config["metadata"] = metadata;
        }

        return metadata;
    }
}
