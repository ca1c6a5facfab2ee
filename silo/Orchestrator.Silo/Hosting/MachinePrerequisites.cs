using System.Diagnostics;
using Orchestrator.Fly.Emulator;
using Orchestrator.Grains.Instances;
using Orchestrator.Sandbox;

namespace Orchestrator.Silo.Hosting;

/// <summary>
/// The embedded emulator's machines run the host's OpenSSH server (isolated with bubblewrap, with the host's tmux for
/// terminal sessions). On a fresh machine none is there, and every machine would fail; so before the emulator starts, a root process with apt-get
/// installs them (saying so, and <c>Orchestrator:Machines:InstallPrerequisites=false</c> turns it off). What is
/// still missing is named once in the log with the command that installs it, and creates are refused with it
/// (<see cref="IMachineAvailability"/>) rather than making instances that can only fail.
/// </summary>
internal sealed partial class MachinePrerequisites(FlyEmulatorOptions options, IConfiguration configuration, ILogger<MachinePrerequisites> logger) : IMachineAvailability
{
    public const string InstallSettingKey = "Orchestrator:Machines:InstallPrerequisites";

    // apt-get update and an install of two small packages take seconds to a minute; ten minutes means it hangs.
    private static readonly TimeSpan _installTimeout = TimeSpan.FromMinutes(10);
    private static readonly string[] _aptPaths = ["/usr/bin/apt-get", "/bin/apt-get"];

    /// <summary>Checked on every create: installing the packages while the silo runs makes machines available without a restart.</summary>
    public string? Problem => Required() is { Count: > 0 } missing ? HostPrerequisites.Describe(missing) : null;

    /// <summary>Installs what is missing when allowed and possible; then logs what is still missing.</summary>
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        var missing = HostPrerequisites.Find(FlyEmulatorSandboxOptions.For(options, "/"));
        if (missing.Count == 0)
        {
            return;
        }

        if (CanInstall(missing) is { } apt)
        {
            await InstallAsync(apt, missing, cancellationToken);
            missing = HostPrerequisites.Find(FlyEmulatorSandboxOptions.For(options, "/"));
        }

        if (missing.Where(item => item.Required).ToList() is { Count: > 0 } required)
        {
            var problem = HostPrerequisites.Describe(required);
            LogMissing(logger, problem);
        }
        else if (missing.Count > 0)
        {
            var tools = string.Join(", ", missing.Select(item => item.Tool));
            var command = HostPrerequisites.InstallCommand(missing);
            LogOptionalMissing(logger, tools, command);
        }
    }

    private List<MissingPrerequisite> Required() =>
        [.. HostPrerequisites.Find(FlyEmulatorSandboxOptions.For(options, "/")).Where(item => item.Required)];

    /// <summary>apt-get's path when installing is allowed and possible here, else null (after saying why not, when it matters).</summary>
    private string? CanInstall(IReadOnlyList<MissingPrerequisite> missing)
    {
        if (!configuration.GetValue(InstallSettingKey, defaultValue: true))
        {
            LogInstallDisabled(logger, InstallSettingKey);
            return null;
        }

        if (options.SshdPath is not null)
        {
            // An explicit server was named: installing another one would not be the one asked for.
            return null;
        }

        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess)
        {
            return null;
        }

        var apt = _aptPaths.FirstOrDefault(File.Exists);
        if (apt is null)
        {
            var packages = string.Join(' ', missing.Select(item => item.Package));
            LogNoApt(logger, packages);
        }

        return apt;
    }

    private async Task InstallAsync(string apt, IReadOnlyList<MissingPrerequisite> missing, CancellationToken cancellationToken)
    {
        var packages = missing.Select(item => item.Package).Distinct(StringComparer.Ordinal).ToList();
        var names = string.Join(' ', packages);
        LogInstalling(logger, names, InstallSettingKey.Replace(":", "__", StringComparison.Ordinal));
        var started = Stopwatch.GetTimestamp();
        var (updated, updateOutput) = await RunAsync(apt, ["update", "-qq"], cancellationToken);
        if (updated != 0)
        {
            // A stale package index may still hold the packages: go on, the install says whether it does.
            var tail = Tail(updateOutput);
            LogAptFailed(logger, "apt-get update", updated, tail);
        }

        var (installed, installOutput) = await RunAsync(apt, ["install", "-y", "-qq", "--no-install-recommends", .. packages], cancellationToken);
        if (installed != 0)
        {
            var tail = Tail(installOutput);
            LogAptFailed(logger, "apt-get install " + names, installed, tail);
            return;
        }

        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        LogInstalled(logger, names, seconds);
    }

    private static Task<(int ExitCode, string Output)> RunAsync(string apt, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        HostPrerequisites.RunAptAsync(apt, arguments, _installTimeout, cancellationToken);

    private static string Tail(string output) =>
        string.Join(" | ", output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(5));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Installing {Packages} with apt-get for the embedded Fly emulator's machines (set {Setting}=false to turn this off)")]
    private static partial void LogInstalling(ILogger logger, string packages, string setting);

    [LoggerMessage(Level = LogLevel.Information, Message = "Installed {Packages} in {Seconds:0.0} s")]
    private static partial void LogInstalled(ILogger logger, string packages, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Command} failed with exit code {ExitCode}: {Output}")]
    private static partial void LogAptFailed(ILogger logger, string command, int exitCode, string output);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Setting} is false: the machines' prerequisites are not installed")]
    private static partial void LogInstallDisabled(ILogger logger, string setting);

    [LoggerMessage(Level = LogLevel.Information, Message = "No apt-get on this host: install {Packages} with its package manager")]
    private static partial void LogNoApt(ILogger logger, string packages);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Problem} Until then, creating an instance answers 503 machines-unavailable.")]
    private static partial void LogMissing(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Machines lack {Tools} (without bwrap they run without isolation, without tmux they cannot run terminal sessions); install with `{Command}` (as root)")]
    private static partial void LogOptionalMissing(ILogger logger, string tools, string command);
}
