using System.Text.Json.Serialization;

namespace Orchestrator.Fly;

/// <summary>
/// A machine's configuration (<c>fly.MachineConfig</c>). Fly replaces the whole config on update, so callers
/// send the full object every time. Unset members are left out of requests.
/// </summary>
/// <remarks>https://fly.io/docs/machines/api/machines-resource/#machine-config-object-properties</remarks>
public sealed record FlyMachineConfig
{
    /// <summary>The image to run, for example <c>registry-1.docker.io/library/ubuntu:latest</c>; the one required member.</summary>
    public string? Image { get; init; }

    public FlyGuest? Guest { get; init; }

    /// <summary>A preset name such as <c>shared-cpu-1x</c>; deprecated by Fly in favour of <see cref="Guest"/>.</summary>
    public string? Size { get; init; }

    public IReadOnlyDictionary<string, string>? Env { get; init; }

    public FlyMachineInit? Init { get; init; }

    public IReadOnlyList<FlyMachineService>? Services { get; init; }

    public IReadOnlyDictionary<string, FlyMachineCheck>? Checks { get; init; }

    public IReadOnlyList<FlyMachineMount>? Mounts { get; init; }

    /// <summary>Free-form labels; <see cref="FlyMetadataKeys.ClientToken"/> is ours, <c>fly_*</c> keys are flyctl's.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    public FlyMachineRestart? Restart { get; init; }

    public bool? AutoDestroy { get; init; }

    public IReadOnlyList<FlyMachineFile>? Files { get; init; }

    public FlyStopConfig? StopConfig { get; init; }

    /// <summary><c>hourly</c>, <c>daily</c>, <c>weekly</c> or <c>monthly</c>.</summary>
    public string? Schedule { get; init; }

    public IReadOnlyList<FlyMachineProcess>? Processes { get; init; }

    public FlyDnsConfig? Dns { get; init; }

    public FlyMachineMetrics? Metrics { get; init; }

    public IReadOnlyList<FlyMachineStatic>? Statics { get; init; }

    public IReadOnlyList<string>? Standbys { get; init; }

    public FlyRootfs? Rootfs { get; init; }
}

/// <summary>CPU and memory (<c>fly.MachineGuest</c>); also the <c>compute</c> placement hint of a volume create.</summary>
public sealed record FlyGuest
{
    /// <summary><c>shared</c> or <c>performance</c>.</summary>
    public string? CpuKind { get; init; }

    public int? Cpus { get; init; }

    /// <summary>A multiple of 256.</summary>
    public int? MemoryMb { get; init; }

    public string? GpuKind { get; init; }

    public int? Gpus { get; init; }

    public string? HostDedicationId { get; init; }

    public IReadOnlyList<string>? KernelArgs { get; init; }

    public int? MaxMemoryMb { get; init; }
}

public sealed record FlyMachineInit
{
    /// <summary>Overrides the image's ENTRYPOINT and CMD together.</summary>
    public IReadOnlyList<string>? Exec { get; init; }

    public IReadOnlyList<string>? Entrypoint { get; init; }

    public IReadOnlyList<string>? Cmd { get; init; }

    public bool? Tty { get; init; }

    public int? SwapSizeMb { get; init; }

    public IReadOnlyList<string>? KernelArgs { get; init; }
}

public sealed record FlyMachineService
{
    /// <summary><c>tcp</c> or <c>udp</c>.</summary>
    public string? Protocol { get; init; }

    public int? InternalPort { get; init; }

    public IReadOnlyList<FlyMachinePort>? Ports { get; init; }

    /// <summary><c>off</c>, <c>stop</c> or <c>suspend</c>; Fly answers with booleans for the first two, read here as strings.</summary>
    [JsonConverter(typeof(FlyAutostopJsonConverter))]
    public string? Autostop { get; init; }

    public bool? Autostart { get; init; }

    public int? MinMachinesRunning { get; init; }

    public FlyServiceConcurrency? Concurrency { get; init; }

    public IReadOnlyList<FlyMachineCheck>? Checks { get; init; }

    public string? ForceInstanceKey { get; init; }
}

public sealed record FlyMachinePort
{
    public int? Port { get; init; }

    public int? StartPort { get; init; }

    public int? EndPort { get; init; }

    /// <summary>For example <c>tls</c> and <c>http</c>; none for raw TCP such as SSH.</summary>
    public IReadOnlyList<string>? Handlers { get; init; }

    public bool? ForceHttps { get; init; }
}

public sealed record FlyServiceConcurrency
{
    /// <summary><c>connections</c> or <c>requests</c>.</summary>
    public string? Type { get; init; }

    public int? SoftLimit { get; init; }

    public int? HardLimit { get; init; }
}

/// <summary>A health check definition; durations are Go duration strings such as <c>15s</c>.</summary>
public sealed record FlyMachineCheck
{
    /// <summary><c>tcp</c> or <c>http</c>.</summary>
    public string? Type { get; init; }

    public int? Port { get; init; }

    [JsonConverter(typeof(GoDurationJsonConverter))]
    public string? Interval { get; init; }

    [JsonConverter(typeof(GoDurationJsonConverter))]
    public string? Timeout { get; init; }

    [JsonConverter(typeof(GoDurationJsonConverter))]
    public string? GracePeriod { get; init; }

    public string? Method { get; init; }

    public string? Path { get; init; }

    public string? Protocol { get; init; }

    public string? TlsServerName { get; init; }

    public bool? TlsSkipVerify { get; init; }

    /// <summary><c>informational</c> or <c>readiness</c>.</summary>
    public string? Kind { get; init; }
}

public sealed record FlyMachineMount
{
    /// <summary>The volume id (<c>vol_...</c>); it must be in the machine's region.</summary>
    public string? Volume { get; init; }

    public string? Path { get; init; }

    public string? Name { get; init; }

    public bool? Encrypted { get; init; }

    public int? SizeGb { get; init; }

    public int? ExtendThresholdPercent { get; init; }

    public int? AddSizeGb { get; init; }

    public int? SizeGbLimit { get; init; }
}

public sealed record FlyMachineRestart
{
    /// <summary><c>no</c>, <c>always</c>, <c>on-failure</c> or <c>spot-price</c>; older answers carry an empty string.</summary>
    public string? Policy { get; init; }

    public int? MaxRetries { get; init; }
}

/// <summary>A file written into the guest: exactly one of <see cref="RawValue"/> (base64) or <see cref="SecretName"/>.</summary>
public sealed record FlyMachineFile
{
    public string? GuestPath { get; init; }

    public string? RawValue { get; init; }

    public string? SecretName { get; init; }

    public int? Mode { get; init; }
}

public sealed record FlyStopConfig
{
    public string? Signal { get; init; }

    [JsonConverter(typeof(GoDurationJsonConverter))]
    public string? Timeout { get; init; }
}

public sealed record FlyMachineProcess
{
    public IReadOnlyList<string>? Exec { get; init; }

    public IReadOnlyList<string>? Entrypoint { get; init; }

    public IReadOnlyList<string>? Cmd { get; init; }

    public IReadOnlyDictionary<string, string>? Env { get; init; }

    public string? User { get; init; }
}

public sealed record FlyDnsConfig
{
    public bool? SkipRegistration { get; init; }

    public IReadOnlyList<string>? Nameservers { get; init; }

    public IReadOnlyList<string>? Searches { get; init; }

    public string? Hostname { get; init; }

    public string? HostnameFqdn { get; init; }
}

public sealed record FlyMachineMetrics
{
    public int? Port { get; init; }

    public string? Path { get; init; }

    public bool? Https { get; init; }
}

public sealed record FlyMachineStatic
{
    public string? GuestPath { get; init; }

    public string? UrlPrefix { get; init; }

    public string? TigrisBucket { get; init; }

    public string? IndexDocument { get; init; }
}

public sealed record FlyRootfs
{
    /// <summary><c>never</c>, <c>restart</c> or <c>always</c>.</summary>
    public string? Persist { get; init; }

    public int? SizeGb { get; init; }
}
