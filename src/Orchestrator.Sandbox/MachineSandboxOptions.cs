using System.ComponentModel.DataAnnotations;

namespace Orchestrator.Sandbox;

/// <summary>Settings of <see cref="MachineSandboxes"/>.</summary>
public sealed class MachineSandboxOptions
{
    /// <summary>The setting that names <see cref="SshdPath"/> where the emulator runs inside a host.</summary>
    public const string SshdPathSetting = "FlyEmulator:SshdPath";

    /// <summary>
    /// Where machine roots live (<c>{DataDirectory}/machines/{MachineId}/root</c>). Without
    /// bubblewrap, sshd's StrictModes requires every directory from here up to <c>/</c> to be
    /// writable by its owner only (so not under <c>/tmp</c>).
    /// </summary>
    [Required]
    public required string DataDirectory { get; set; }

    /// <summary>Port every machine's sshd listens on, at the machine's own loopback address.</summary>
    [Range(1, 65535)]
    public int SshPort { get; set; } = 2222;

    /// <summary>
    /// True: isolate every machine with bubblewrap (start fails without it). False: run sshd
    /// directly on the host. Null: use bubblewrap when it is installed and works here.
    /// </summary>
    public bool? UseBubblewrap { get; set; }

    /// <summary>The OpenSSH server to run machines with; null looks in /usr/sbin, then on PATH.</summary>
    public string? SshdPath { get; set; }

    /// <summary>How long sshd gets to accept TCP connections before <see cref="MachineSandboxes.StartAsync"/> fails.</summary>
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
