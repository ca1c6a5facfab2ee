using System.Collections.Frozen;

namespace Orchestrator.Fly.Emulator.Api;

/// <summary>A resolved machine size: what <c>config.guest</c> is echoed back as.</summary>
internal sealed record Guest(string CpuKind, int Cpus, int MemoryMb);

/// <summary>
/// Fly's guest rules: the <c>shared-cpu-Nx</c> / <c>performance-Nx</c> presets, the CPU counts each kind
/// allows, memory in 256 MiB steps, 256–2048 MiB per shared CPU and 2048–8192 MiB per performance
/// CPU (reference §4; messages as flaps words them in the threads it cites).
/// </summary>
internal static class GuestSizes
{
    public const string Shared = "shared";
    public const string Performance = "performance";

    private static readonly int[] SharedCpus = [1, 2, 4, 6, 8];
    private static readonly int[] PerformanceCpus = [1, 2, 4, 6, 8, 10, 12, 14, 16];

    public static readonly FrozenDictionary<string, Guest> Presets = BuildPresets();

    public static readonly Guest Default = Presets["shared-cpu-1x"];

    /// <summary>
    /// Resolves <paramref name="guest"/> (wins where set) over the <paramref name="size"/> preset over the
    /// default <c>shared-cpu-1x</c>, then checks the combination. <paramref name="field"/> names the
    /// field in messages (<c>config.guest</c>, or <c>compute</c> for a volume's placement hint).
    /// </summary>
    public static Outcome<Guest> Resolve(GuestRequest? guest, string? size, string field)
    {
        var preset = Default;
        if (!string.IsNullOrEmpty(size) && !Presets.TryGetValue(size, out preset))
        {
            return FlyErrors.Unprocessable($"invalid config.size: unknown machine size \"{size}\"; valid sizes are {string.Join(", ", Presets.Keys.Order(StringComparer.Ordinal))}");
        }

        if (guest is null)
        {
            return preset;
        }

        if (!string.IsNullOrEmpty(guest.GpuKind) || guest.Gpus is > 0)
        {
            return FlyErrors.Unprocessable($"invalid {field}.gpu_kind: GPU machines are not available in this emulator");
        }

        var kind = string.IsNullOrEmpty(guest.CpuKind) ? (guest.Cpus is null && guest.MemoryMb is null ? preset.CpuKind : Shared) : guest.CpuKind;
        if (kind is not (Shared or Performance))
        {
            return FlyErrors.Unprocessable($"invalid {field}.cpu_kind \"{guest.CpuKind}\": must be \"shared\" or \"performance\"");
        }

        var cpus = guest.Cpus ?? (kind == preset.CpuKind ? preset.Cpus : 1);
        var allowed = kind == Shared ? SharedCpus : PerformanceCpus;
        if (!allowed.Contains(cpus))
        {
            return FlyErrors.Unprocessable($"invalid {field}.cpus {cpus}: valid numbers of {kind} CPUs are {string.Join(", ", allowed)}");
        }

        var perCpuMin = kind == Shared ? 256 : 2048;
        var perCpuMax = kind == Shared ? 2048 : 8192;
        var memory = guest.MemoryMb ?? (kind == preset.CpuKind && cpus == preset.Cpus ? preset.MemoryMb : perCpuMin * cpus);
        if (memory <= 0 || memory % 256 != 0)
        {
            return FlyErrors.Unprocessable($"invalid memory size {memory}; must be in 256 MiB increments");
        }

        if (memory < perCpuMin * cpus)
        {
            return FlyErrors.Unprocessable($"invalid {field}.memory_mb, minimum required {perCpuMin * cpus} MiB");
        }

        if (memory > perCpuMax * cpus)
        {
            return FlyErrors.Unprocessable($"invalid {field}.memory_mb, maximum allowed {perCpuMax * cpus} MiB for {cpus} {kind} CPU(s)");
        }

        return new Guest(kind, cpus, memory);
    }

    private static FrozenDictionary<string, Guest> BuildPresets()
    {
        var presets = new Dictionary<string, Guest>(StringComparer.Ordinal);
        foreach (var cpus in SharedCpus)
        {
            presets[$"shared-cpu-{cpus}x"] = new Guest(Shared, cpus, cpus * 256);
        }

        foreach (var cpus in PerformanceCpus)
        {
            presets[$"performance-{cpus}x"] = new Guest(Performance, cpus, cpus * 2048);
        }

        return presets.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
