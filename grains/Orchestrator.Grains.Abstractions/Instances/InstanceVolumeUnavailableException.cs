namespace Orchestrator.Grains.Instances;

/// <summary>
/// A create named an existing volume (<c>volume.id</c>) that the tenant may not mount: <see cref="Reason"/> is one of
/// <see cref="VolumeUnavailableReasons"/>. A volume the tenant does not own is reported as not found, never as someone else's.
/// </summary>
[GenerateSerializer, Alias("orchestrator.InstanceVolumeUnavailableException")]
public sealed class InstanceVolumeUnavailableException : Exception
{
    public InstanceVolumeUnavailableException()
    {
    }

    public InstanceVolumeUnavailableException(string message)
        : base(message)
    {
    }

    public InstanceVolumeUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public InstanceVolumeUnavailableException(string reason, string field, string message)
        : base(message)
    {
        Reason = reason;
        Field = field;
    }

    [Id(0)]
    public string Reason { get; init; } = VolumeUnavailableReasons.NotFound;

    /// <summary>The request field that named the volume, as the API spells it.</summary>
    [Id(1)]
    public string Field { get; init; } = "volume.id";
}

public static class VolumeUnavailableReasons
{
    /// <summary>No volume of the tenant's destroyed instances has this id (it may exist, but not for this tenant).</summary>
    public const string NotFound = "not_found";

    /// <summary>Another of the tenant's instances that is not destroyed mounts it.</summary>
    public const string InUse = "in_use";
}
