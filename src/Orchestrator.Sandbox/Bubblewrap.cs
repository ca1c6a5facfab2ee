namespace Orchestrator.Sandbox;

/// <summary>A host directory bound read-write inside the machine, guest path normalized.</summary>
internal sealed record ResolvedMount(string HostDirectory, string GuestPath);

/// <summary>The bubblewrap command line that turns a machine directory into a machine.</summary>
internal static class Bubblewrap
{
    /// <summary>Where the machine's own ssh directory appears inside the sandbox.</summary>
    public const string GuestSshDirectory = "/etc/ssh";

    /// <summary>Top-level directories that Debian's merged /usr turns into symlinks (bin -> usr/bin ...).</summary>
    public static readonly IReadOnlyList<string> UsrAliases = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

    /// <summary>
    /// Guest paths a volume may not be mounted at or below: they are bound from the host
    /// read-only (or are kernel file systems), so bwrap could not even create the mount point.
    /// </summary>
    public static readonly IReadOnlyList<string> ReservedGuestPaths = ["/usr", "/etc", "/proc", "/dev", .. UsrAliases.Select(alias => "/" + alias)];

    // Docker's default set: enough for sshd (setuid, chroot into /run/sshd) and ordinary root
    // work (chown, kill, raw ping), but no CAP_SYS_ADMIN, so a machine cannot mount its way out.
    private static readonly string[] _capabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
    ];

    /// <summary>
    /// Arguments for bwrap: the machine root writable at <c>/</c>; the host's <c>/usr</c> and
    /// <c>/etc</c> read-only, with the machine's ssh directory read-only over <c>/etc/ssh</c>
    /// (its own config and host key, and the host's keys out of sight); fresh <c>/dev</c> and
    /// <c>/proc</c>; volumes read-write. <c>/tmp</c>, <c>/root</c>, <c>/run</c> and the rest
    /// are the machine root's own directories.
    /// </summary>
    public static IReadOnlyList<string> Arguments(
        string rootDirectory, string sshDirectory, string? hostname, IReadOnlyList<ResolvedMount> mounts, bool isRoot, IEnumerable<string> command)
    {
        List<string> arguments =
        [
            // An emulator that dies (even by SIGKILL) takes its machines with it.
            "--die-with-parent",
            // PID 1 of the namespace is bwrap: when it dies the kernel kills every process of
            // the machine, however deeply detached. No --unshare-net: the host must reach
            // sshd at the machine's loopback address.
            "--unshare-pid",
            "--unshare-ipc",
        ];
        if (hostname is not null)
        {
            arguments.AddRange(["--unshare-uts", "--hostname", hostname]);
        }

        if (isRoot)
        {
            arguments.AddRange(["--cap-drop", "ALL"]);
            foreach (var capability in _capabilities)
            {
                arguments.AddRange(["--cap-add", capability]);
            }
        }

        arguments.AddRange(["--bind", rootDirectory, "/", "--ro-bind", "/usr", "/usr"]);
        foreach (var alias in UsrAliases)
        {
            // Symlinked aliases are recreated inside the root (see MachineSandboxes); a real
            // directory on a non-merged host is bound instead.
            var hostPath = "/" + alias;
            if (Directory.Exists(hostPath) && new DirectoryInfo(hostPath).LinkTarget is null)
            {
                arguments.AddRange(["--ro-bind", hostPath, hostPath]);
            }
        }

        arguments.AddRange(["--ro-bind", "/etc", "/etc", "--ro-bind", sshDirectory, GuestSshDirectory, "--dev", "/dev", "--proc", "/proc"]);
        foreach (var mount in mounts.OrderBy(mount => mount.GuestPath.Length))
        {
            arguments.AddRange(["--bind", mount.HostDirectory, mount.GuestPath]);
        }

        arguments.AddRange(command);
        return arguments;
    }

    /// <summary>A throw-away sandbox like the real ones, to learn whether bwrap works on this host.</summary>
    public static IReadOnlyList<string> TrialArguments(bool isRoot, string truePath)
    {
        List<string> arguments = ["--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts"];
        if (isRoot)
        {
            arguments.AddRange(["--cap-drop", "ALL", .. _capabilities.SelectMany(capability => new[] { "--cap-add", capability })]);
        }

        arguments.AddRange(["--ro-bind", "/usr", "/usr"]);
        foreach (var alias in UsrAliases)
        {
            var hostPath = "/" + alias;
            if (new DirectoryInfo(hostPath) is { Exists: true } directory)
            {
                arguments.AddRange(directory.LinkTarget is { } target ? ["--symlink", target, hostPath] : ["--ro-bind", hostPath, hostPath]);
            }
        }

        arguments.AddRange(["--ro-bind", "/etc", "/etc", "--dev", "/dev", "--proc", "/proc", truePath]);
        return arguments;
    }
}
