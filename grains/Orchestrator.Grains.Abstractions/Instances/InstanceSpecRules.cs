using System.Collections.Frozen;
using System.Text.RegularExpressions;

namespace Orchestrator.Grains.Instances;

/// <summary>
/// What a valid <see cref="InstanceSpec"/> is, shared by the gateway (400 before any grain call) and the grain
/// (which trusts no caller). Fields are named as the HTTP API spells them.
/// </summary>
public static partial class InstanceSpecRules
{
    public const int MaxNameLength = 63;
    public const int MaxEnvEntries = 64;
    public const int MaxVolumeSizeGb = 500;

    /// <summary>Fly's regions (reference/fly-machines-api.md), as the emulator knows them.</summary>
    public static readonly FrozenSet<string> Regions = new[]
    {
        "ams", "arn", "bom", "cdg", "dfw", "ewr", "fra", "gru", "iad", "jnb", "lax", "lhr", "mia", "nrt", "ord", "sin", "sjc", "syd", "yul", "yyz",
    }.ToFrozenSet(StringComparer.Ordinal);

    private static readonly int[] SharedCpus = [1, 2, 4, 6, 8];
    private static readonly int[] PerformanceCpus = [1, 2, 4, 6, 8, 10, 12, 14, 16];

    /// <summary>Returns <see langword="null"/> for a valid instance name (a DNS label), else the reason.</summary>
    public static string? ValidateName(string? name) => name switch
    {
        null or "" => "is required",
        { Length: > MaxNameLength } => $"must be at most {MaxNameLength} characters",
        _ when !NamePattern().IsMatch(name) => "must be a DNS label: lowercase letters, digits and dashes, starting with a letter and not ending with a dash",
        _ => null,
    };

    /// <summary>Every problem with <paramref name="spec"/> as (field, reason); empty when it is valid.</summary>
    public static IReadOnlyList<(string Field, string Problem)> Validate(InstanceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var problems = new List<(string, string)>();
        if (ValidateName(spec.Name) is { } nameProblem)
        {
            problems.Add(("name", nameProblem));
        }

        if (string.IsNullOrEmpty(spec.Region))
        {
            problems.Add(("region", "is required"));
        }
        else if (!Regions.Contains(spec.Region))
        {
            problems.Add(("region", $"'{spec.Region}' is not a Fly region; use one of {string.Join(", ", Regions.Order(StringComparer.Ordinal))}"));
        }

        if (ValidateSize(spec.Size) is { } size)
        {
            problems.Add(size);
        }

        if (spec.Image is { } image && (string.IsNullOrWhiteSpace(image) || image.Length > 512 || image.Any(char.IsWhiteSpace)))
        {
            problems.Add(("image", "must be an image reference without spaces, at most 512 characters"));
        }

        if (spec.Env is { } env)
        {
            if (env.Count > MaxEnvEntries)
            {
                problems.Add(("env", $"must have at most {MaxEnvEntries} entries"));
            }

            foreach (var key in env.Keys.Where(k => !EnvNamePattern().IsMatch(k)))
            {
                problems.Add(($"env.{key}", "is not a valid environment variable name (letters, digits and '_', not starting with a digit)"));
            }
        }

        if (spec.Volume is { } volume)
        {
            if (volume.Id is { } volumeId)
            {
                if (volume.SizeGb != 0)
                {
                    problems.Add(("volume", "is either {size_gb, path} (a new volume) or {id, path} (a kept one), not both"));
                }
                else if (ValidateVolumeId(volumeId) is { } idProblem)
                {
                    problems.Add(("volume.id", idProblem));
                }
            }
            else if (volume.SizeGb is < 1 or > MaxVolumeSizeGb)
            {
                problems.Add(("volume.size_gb", $"must be from 1 to {MaxVolumeSizeGb}"));
            }

            if (string.IsNullOrEmpty(volume.Path) || volume.Path[0] != '/' || volume.Path == "/" || volume.Path.Contains("..", StringComparison.Ordinal) || volume.Path.Any(char.IsWhiteSpace))
            {
                problems.Add(("volume.path", "must be an absolute path other than '/', without '..' or spaces"));
            }
        }

        return problems;
    }

    /// <summary>Returns <see langword="null"/> for a well-formed Fly volume id (<c>vol_</c> and letters or digits), else the reason.</summary>
    public static string? ValidateVolumeId(string? id) =>
        id is not null && VolumeIdPattern().IsMatch(id) ? null : "must be a volume id such as 'vol_9vw681egy1jj5xm4'";

    /// <summary>
    /// Returns <see langword="null"/> when <paramref name="sizeGb"/> can replace a volume of <paramref name="currentSizeGb"/>
    /// (it must grow it, up to <see cref="MaxVolumeSizeGb"/>), else the reason; the field is <c>size_gb</c>.
    /// </summary>
    public static string? ValidateVolumeGrowth(int sizeGb, int currentSizeGb) => sizeGb switch
    {
        _ when sizeGb <= currentSizeGb => $"must be greater than the volume's current {currentSizeGb} GB: volumes never shrink",
        > MaxVolumeSizeGb => $"must be at most {MaxVolumeSizeGb}",
        _ => null,
    };

    /// <summary>Resolves a size to (cpu kind, cpus, memory) as Fly would, or null when it is invalid.</summary>
    public static (string CpuKind, int Cpus, int MemoryMb)? Resolve(InstanceSize size) =>
        ValidateSize(size) is null ? ResolveUnchecked(size) : null;

    /// <summary>The problem with <paramref name="size"/> as (field, reason), or <see langword="null"/> when it is valid.</summary>
    public static (string Field, string Problem)? ValidateSize(InstanceSize? size)
    {
        if (size is null || (size.Preset is null && size.Cpus is null && size.MemoryMb is null && size.CpuKind is null))
        {
            return ("size", "is required: a preset such as 'shared-cpu-1x', or {cpus, memory_mb, cpu_kind}");
        }

        if (size.Preset is { } preset)
        {
            if (size.Cpus is not null || size.MemoryMb is not null || size.CpuKind is not null)
            {
                return ("size", "is either a preset name or {cpus, memory_mb, cpu_kind}, not both");
            }

            return ParsePreset(preset) is null
                ? ("size", $"'{preset}' is not a Fly size; use shared-cpu-{{1,2,4,6,8}}x or performance-{{1,2,4,6,8,10,12,14,16}}x")
                : null;
        }

        var kind = size.CpuKind ?? "shared";
        if (kind is not ("shared" or "performance"))
        {
            return ("size.cpu_kind", "must be 'shared' or 'performance'");
        }

        var allowed = kind == "shared" ? SharedCpus : PerformanceCpus;
        if (size.Cpus is not { } cpus || !allowed.Contains(cpus))
        {
            return ("size.cpus", $"must be one of {string.Join(", ", allowed)} for {kind} CPUs");
        }

        var (min, max) = kind == "shared" ? (256 * cpus, 2048 * cpus) : (2048 * cpus, 8192 * cpus);
        if (size.MemoryMb is not { } memory || memory % 256 != 0 || memory < min || memory > max)
        {
            return ("size.memory_mb", $"must be a multiple of 256 from {min} to {max} for {cpus} {kind} CPU(s)");
        }

        return null;
    }

    private static (string, int, int) ResolveUnchecked(InstanceSize size) =>
        size.Preset is { } preset ? ParsePreset(preset)!.Value : (size.CpuKind ?? "shared", size.Cpus!.Value, size.MemoryMb!.Value);

    private static (string, int, int)? ParsePreset(string preset)
    {
        var match = PresetPattern().Match(preset);
        if (!match.Success || !int.TryParse(match.Groups[2].ValueSpan, System.Globalization.CultureInfo.InvariantCulture, out var cpus))
        {
            return null;
        }

        return match.Groups[1].Value == "shared-cpu"
            ? SharedCpus.Contains(cpus) ? ("shared", cpus, 256 * cpus) : null
            : PerformanceCpus.Contains(cpus) ? ("performance", cpus, 2048 * cpus) : null;
    }

    [GeneratedRegex("^[a-z](?:[a-z0-9-]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant)]
    private static partial Regex EnvNamePattern();

    [GeneratedRegex("^(shared-cpu|performance)-([0-9]{1,2})x$", RegexOptions.CultureInvariant)]
    private static partial Regex PresetPattern();

    [GeneratedRegex("^vol_[a-z0-9]{1,60}$", RegexOptions.CultureInvariant)]
    private static partial Regex VolumeIdPattern();
}
