namespace Orchestrator.Sandbox;

/// <summary>A host program the machine sandboxes need or use, and the Debian/Ubuntu package that brings it.</summary>
/// <param name="Tool">The program, e.g. <c>sshd</c>.</param>
/// <param name="Package">The package that installs it, e.g. <c>openssh-server</c>.</param>
/// <param name="Required">
/// False for what machines work without: bubblewrap isolates them, tmux runs their named terminal sessions.
/// </param>
/// <param name="Configured">The path a setting named, when the tool was looked for there rather than on PATH.</param>
public sealed record MissingPrerequisite(string Tool, string Package, bool Required, string? Configured = null);

/// <summary>
/// What <see cref="MachineSandboxes"/> needs from the host, checked without starting anything, so that a host
/// can say at start what is missing and how to install it instead of failing every machine later.
/// </summary>
public static class HostPrerequisites
{
    /// <summary>The programs of <paramref name="options"/>'s host that are missing: required ones first.</summary>
    public static IReadOnlyList<MissingPrerequisite> Find(MachineSandboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!OperatingSystem.IsLinux())
        {
            return [new MissingPrerequisite("linux", "a Linux host", Required: true)];
        }

        var missing = new List<MissingPrerequisite>();
        if (options.SshdPath is { } sshdPath)
        {
            if (HostTool.Find("sshd", sshdPath) != Path.GetFullPath(sshdPath))
            {
                missing.Add(new MissingPrerequisite("sshd", "openssh-server", Required: true, sshdPath));
            }
        }
        else if (HostTool.Find("sshd", MachineSandboxes.DefaultSshdPath) is null)
        {
            missing.Add(new MissingPrerequisite("sshd", "openssh-server", Required: true));
        }

        if (HostTool.Find("ssh-keygen", MachineSandboxes.DefaultKeygenPath) is null)
        {
            missing.Add(new MissingPrerequisite("ssh-keygen", "openssh-client", Required: true));
        }

        if (options.UseBubblewrap != false && HostTool.Find("bwrap", MachineSandboxes.DefaultBubblewrapPath) is null)
        {
            missing.Add(new MissingPrerequisite("bwrap", "bubblewrap", Required: options.UseBubblewrap == true));
        }

        // Machines share the host's /usr: the host's tmux is theirs.
        if (HostTool.Find("tmux", "/usr/bin/tmux") is null)
        {
            missing.Add(new MissingPrerequisite("tmux", "tmux", Required: false));
        }

        return missing;
    }

    /// <summary>
    /// Runs <c>apt-get</c> at <paramref name="aptGet"/> with <paramref name="arguments"/>, answering no questions
    /// (a package that asks would hang), within <paramref name="timeout"/>: the exit code (-1 for a timeout) and
    /// its output.
    /// </summary>
    public static async Task<(int ExitCode, string Output)> RunAptAsync(string aptGet, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = HostTool.StartInfo(aptGet, arguments);
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        try
        {
            var (exitCode, standardOutput, standardError) = await HostTool.RunAsync(start, timeout, cancellationToken).ConfigureAwait(false);
            return (exitCode, standardOutput + standardError);
        }
        catch (TimeoutException ex)
        {
            return (-1, ex.Message);
        }
    }

    /// <summary>The command that installs <paramref name="missing"/>, e.g. <c>apt-get install -y openssh-server bubblewrap</c>.</summary>
    public static string InstallCommand(IEnumerable<MissingPrerequisite> missing) =>
        "apt-get install -y " + string.Join(' ', missing.Select(item => item.Package).Distinct(StringComparer.Ordinal));

    /// <summary>One sentence naming what is missing and how to install it, for a log line and an API answer alike.</summary>
    public static string Describe(IReadOnlyCollection<MissingPrerequisite> missing)
    {
        ArgumentNullException.ThrowIfNull(missing);
        var names = string.Join(", ", missing.Select(item => item.Configured is { } path
            ? $"{item.Tool} (not found at {path}, set by {MachineSandboxOptions.SshdPathSetting})"
            : $"{item.Tool} ({item.Package})"));
        return $"Machines cannot start on this host: missing {names}; install with `{InstallCommand(missing)}` (as root).";
    }
}
