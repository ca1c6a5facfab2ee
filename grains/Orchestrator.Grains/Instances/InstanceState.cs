namespace Orchestrator.Grains.Instances;

/// <summary>
/// Persisted instance record: plain settable members (the ADO.NET provider stores JSON). The private key is
/// held only as AES-GCM ciphertext.
/// </summary>
[GenerateSerializer, Alias("orchestrator.InstanceState")]
public sealed class InstanceState
{
    [Id(0)] public string Phase { get; set; } = InstancePhases.None;
    [Id(1)] public string Name { get; set; } = "";
    [Id(2)] public string Region { get; set; } = "";
    [Id(3)] public string? SizePreset { get; set; }
    [Id(4)] public int? Cpus { get; set; }
    [Id(5)] public int? MemoryMb { get; set; }
    [Id(6)] public string? CpuKind { get; set; }
    [Id(7)] public string? Image { get; set; }
    [Id(8)] public Dictionary<string, string> Env { get; set; } = [];
    [Id(9)] public int? VolumeSizeGb { get; set; }
    [Id(10)] public string? VolumePath { get; set; }
    [Id(11)] public bool PublicIp { get; set; }
    [Id(12)] public string? RequestId { get; set; }
    [Id(13)] public string? IdempotencyKey { get; set; }
    [Id(14)] public string DesiredState { get; set; } = InstanceStates.Started;
    [Id(15)] public string ObservedState { get; set; } = InstanceStates.Creating;
    [Id(16)] public string? MachineId { get; set; }
    [Id(17)] public string? MachineVersion { get; set; }
    [Id(18)] public string? PrivateIp { get; set; }
    [Id(19)] public string? VolumeId { get; set; }
    [Id(20)] public List<string> Ips { get; set; } = [];
    [Id(21)] public DateTimeOffset CreatedAt { get; set; }
    [Id(22)] public DateTimeOffset UpdatedAt { get; set; }
    [Id(23)] public string SshPublicKey { get; set; } = "";
    [Id(24)] public byte[]? SshPrivateKeyProtected { get; set; }
    [Id(25)] public string? HostKey { get; set; }
    [Id(26)] public string? LastError { get; set; }
    [Id(27)] public long Revision { get; set; }

    /// <summary>Why the instance is not where it was asked to be; <see cref="LastError"/> is its message.</summary>
    [Id(28)] public InstanceError? Error { get; set; }

    /// <summary>The machine's SSH host key (OpenSSH PEM) as AES-GCM ciphertext; its public half is <see cref="HostKey"/>, pinned at creation.</summary>
    [Id(29)] public byte[]? HostPrivateKeyProtected { get; set; }

    /// <summary>The newest lifecycle events, oldest first (at most <see cref="InstanceGrain.EventsKept"/>).</summary>
    [Id(30)] public List<InstanceEvent> Events { get; set; } = [];

    [Id(31)] public long LastEventSequence { get; set; }

    // Resources (InstanceGrain.Resources.cs). SizePreset..CpuKind above are the machine's size now; the size the
    // create asked for is kept apart once it changes, so that repeating that create still finds the same spec.
    [Id(40)] public bool Resized { get; set; }
    [Id(41)] public string? CreatedSizePreset { get; set; }
    [Id(42)] public int? CreatedCpus { get; set; }
    [Id(43)] public int? CreatedMemoryMb { get; set; }
    [Id(44)] public string? CreatedCpuKind { get; set; }

    /// <summary>A resize was persisted but Fly has not confirmed it: repeating it calls Fly again.</summary>
    [Id(45)] public bool ResizePending { get; set; }

    /// <summary>The volume existed before the instance (a kept one, mounted by id): a failed create must not delete it.</summary>
    [Id(46)] public bool VolumeAdopted { get; set; }

    /// <summary>The volume's size as last known (after an extend, or read when adopted); null while it is <see cref="VolumeSizeGb"/>.</summary>
    [Id(47)] public int? VolumeCurrentSizeGb { get; set; }

    // Creation (InstanceGrain.Create.cs), driven by the grain after the create call returned.

    /// <summary>A machine create was sent with <see cref="IdempotencyKey"/> as its client token: one may exist even while <see cref="MachineId"/> is null.</summary>
    [Id(48)] public bool MachineCreateRequested { get; set; }

    /// <summary>When the creation (or its latest repetition) was accepted: transient Fly failures are retried until it is old.</summary>
    [Id(49)] public DateTimeOffset? CreateAcceptedAt { get; set; }

    /// <summary>Who asked for the creation: the events the grain records later while creating are theirs too.</summary>
    [Id(50)] public InstanceActor? CreateActor { get; set; }
}

/// <summary>Where the instance's own bookkeeping is, apart from the machine's state.</summary>
public static class InstancePhases
{
    public const string None = "";

    /// <summary>Intent persisted; the grain is making the volume, machine and IP (any may not exist yet).</summary>
    public const string Creating = "creating";

    /// <summary>Fly refused the creation (or it never got through in time): what it made was removed; repeating the create tries again.</summary>
    public const string Failed = "failed";

    public const string Ready = "ready";

    /// <summary>A destroy began; repeating it finishes the job.</summary>
    public const string Destroying = "destroying";

    public const string Destroyed = "destroyed";
}
