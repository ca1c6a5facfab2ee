using System.Net;
using System.Text.RegularExpressions;

namespace Orchestrator.Sandbox;

/// <summary>
/// Checks a <see cref="SandboxSpec"/> before anything is written or started: machine ids that can name a directory,
/// loopback addresses only, file and volume paths inside the machine, and no volume over what the sandbox reserves.
/// </summary>
internal static partial class SandboxSpecValidator
{
    /// <summary>The spec's volumes with their paths resolved.</summary>
    /// <exception cref="ArgumentException">The spec is invalid; the message names the machine and what is wrong.</exception>
    public static List<ResolvedMount> Validate(SandboxSpec spec)
    {
        ValidateMachineId(spec.MachineId, nameof(spec));
        ArgumentNullException.ThrowIfNull(spec.Address, nameof(spec));
        if (!IPAddress.IsLoopback(spec.Address))
        {
            // sshd lets root in: it must never listen where other hosts can reach it.
            throw new ArgumentException($"Machine {spec.MachineId}: the address must be a loopback address such as 127.0.1.2, not {spec.Address}.", nameof(spec));
        }

        SshdConfig.ValidateEnvironment(spec.Environment ?? throw new ArgumentNullException(nameof(spec), "Environment is null."), nameof(spec));
        foreach (var file in spec.Files ?? throw new ArgumentNullException(nameof(spec), "Files is null."))
        {
            ArgumentNullException.ThrowIfNull(file, nameof(spec));
            var guestPath = GuestPaths.Normalize(file.GuestPath, nameof(spec));
            if (guestPath == "/")
            {
                throw new ArgumentException($"Machine {spec.MachineId}: file path '{file.GuestPath}' is the root directory.", nameof(spec));
            }

            if (file.Mode is < 0 or > 0xFFF)
            {
                throw new ArgumentException($"Machine {spec.MachineId}: mode of {file.GuestPath} must be permission bits (0 to 07777).", nameof(spec));
            }
        }

        var mounts = new List<ResolvedMount>();
        foreach (var mount in spec.Mounts ?? throw new ArgumentNullException(nameof(spec), "Mounts is null."))
        {
            ArgumentNullException.ThrowIfNull(mount, nameof(spec));
            var guestPath = GuestPaths.Normalize(mount.GuestPath, nameof(spec));
            if (guestPath == "/" || Bubblewrap.ReservedGuestPaths.Any(reserved => GuestPaths.IsAtOrBelow(guestPath, reserved)))
            {
                throw new ArgumentException($"Machine {spec.MachineId}: a volume cannot be mounted at {guestPath}.", nameof(spec));
            }

            if (string.IsNullOrEmpty(mount.HostDirectory) || !Path.IsPathFullyQualified(mount.HostDirectory))
            {
                throw new ArgumentException($"Machine {spec.MachineId}: the host directory of the volume at {guestPath} must be an absolute path.", nameof(spec));
            }

            if (mounts.Any(other => other.GuestPath == guestPath))
            {
                throw new ArgumentException($"Machine {spec.MachineId}: two volumes are mounted at {guestPath}.", nameof(spec));
            }

            mounts.Add(new ResolvedMount(Path.GetFullPath(mount.HostDirectory), guestPath));
        }

        return mounts;
    }

    public static void ValidateMachineId(string machineId, string parameterName)
    {
        ArgumentException.ThrowIfNullOrEmpty(machineId, parameterName);
        if (!MachineIdPattern().IsMatch(machineId))
        {
            // The id names a directory: no separators, no dot-dot.
            throw new ArgumentException($"Machine id '{machineId}' must be 1-128 letters, digits, '_', '-' or '.', starting with a letter or digit.", parameterName);
        }
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex MachineIdPattern();
}
