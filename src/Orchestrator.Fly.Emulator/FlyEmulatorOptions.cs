using Microsoft.Extensions.Options;
using Orchestrator.Fly.Emulator.Api;

namespace Orchestrator.Fly.Emulator;

/// <summary>Settings of the emulator, bound from the <c>FlyEmulator</c> section when it runs standalone.</summary>
public sealed class FlyEmulatorOptions
{
    public const string SectionName = "FlyEmulator";

    /// <summary>
    /// Where Kestrel listens when embedded through <see cref="FlyEmulator.StartAsync(FlyEmulatorOptions, CancellationToken)"/>;
    /// null picks a free loopback port. Standalone, <c>--urls</c> decides unless this is set.
    /// </summary>
    public string? Url { get; set; }

    /// <summary>
    /// Machine roots, volumes and snapshots live here. Null: a fresh directory under the user's
    /// local data folder (not /tmp: sshd's StrictModes refuses world-writable parents), removed at shutdown.
    /// </summary>
    public string? DataDirectory { get; set; }

    /// <summary>How long each transient state (starting, stopping, replacing, destroying, ...) stays observable, at least.</summary>
    public TimeSpan TransitionDelay { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>How long a destroyed machine is still reported as <c>destroyed</c> before it is a 404.</summary>
    public TimeSpan DestroyedRetention { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Multiplies Fly's documented rate limits (1 req/s burst 3 per action and machine or app; Get Machine
    /// 5 req/s burst 10). 1 is Fly's numbers; tests that make many calls raise it.
    /// </summary>
    public double RateLimitScale { get; set; } = 1;

    /// <summary>When set, only this token is accepted (as <c>Bearer</c> or <c>FlyV1</c>); otherwise any non-empty token is.</summary>
    public string? RequiredToken { get; set; }

    /// <summary>Seeds fault injection so that a sequence of calls meets the same faults every run.</summary>
    public int? Seed { get; set; }

    /// <summary>Passed to the machine sandboxes: true requires bubblewrap, false never uses it, null uses it when it works.</summary>
    public bool? UseBubblewrap { get; set; }

    /// <summary>The OpenSSH server machines run; null looks in /usr/sbin, then on PATH.</summary>
    public string? SshdPath { get; set; }

    /// <summary>Port each machine's sshd listens on, at the machine's own loopback address (Fly machines use 2222).</summary>
    public int SshPort { get; set; } = 2222;

    /// <summary>How long a machine's sshd gets to come up before its start counts as failed.</summary>
    public TimeSpan SandboxStartTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Where machines and volumes go when a create names no region (Fly picks the one nearest the caller).</summary>
    public string DefaultRegion { get; set; } = "ord";
}

/// <summary>Turns the emulator's settings into the sandboxes' own.</summary>
public static class FlyEmulatorSandboxOptions
{
    /// <summary>The sandbox settings <paramref name="options"/> stand for, machines living under <paramref name="dataDirectory"/>.</summary>
    public static Sandbox.MachineSandboxOptions For(FlyEmulatorOptions options, string dataDirectory)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new Sandbox.MachineSandboxOptions
        {
            DataDirectory = dataDirectory,
            SshPort = options.SshPort,
            UseBubblewrap = options.UseBubblewrap,
            StartTimeout = options.SandboxStartTimeout,
            SshdPath = options.SshdPath,
        };
    }

    /// <summary>What the host lacks to run machines with <paramref name="options"/> (see <see cref="Sandbox.HostPrerequisites"/>).</summary>
    public static IReadOnlyList<Sandbox.MissingPrerequisite> MissingPrerequisites(FlyEmulatorOptions options) =>
        Sandbox.HostPrerequisites.Find(For(options, "/"));
}

/// <summary>Checks every setting at start and reports all problems at once, each naming its setting.</summary>
public sealed class FlyEmulatorOptionsValidator : IValidateOptions<FlyEmulatorOptions>
{
    public ValidateOptionsResult Validate(string? name, FlyEmulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        const string Section = FlyEmulatorOptions.SectionName;

        if (options.Url is { } url && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            failures.Add($"{Section}:Url must be an absolute http(s) URL (got '{url}')");
        }

        if (options.DataDirectory is { } directory && (string.IsNullOrWhiteSpace(directory) || !Path.IsPathFullyQualified(directory)))
        {
            failures.Add($"{Section}:DataDirectory must be an absolute path (got '{directory}')");
        }

        if (options.TransitionDelay < TimeSpan.Zero || options.TransitionDelay > TimeSpan.FromMinutes(1))
        {
            failures.Add($"{Section}:TransitionDelay must be from 00:00:00 to 00:01:00 (got {options.TransitionDelay})");
        }

        if (options.DestroyedRetention < TimeSpan.Zero || options.DestroyedRetention > TimeSpan.FromHours(1))
        {
            failures.Add($"{Section}:DestroyedRetention must be from 00:00:00 to 01:00:00 (got {options.DestroyedRetention})");
        }

        if (!double.IsFinite(options.RateLimitScale) || options.RateLimitScale <= 0 || options.RateLimitScale > 1_000_000)
        {
            failures.Add($"{Section}:RateLimitScale must be greater than 0 and at most 1000000 (got {options.RateLimitScale})");
        }

        if (options.RequiredToken is { } token && string.IsNullOrWhiteSpace(token))
        {
            failures.Add($"{Section}:RequiredToken must not be blank when set");
        }

        if (options.SshdPath is { } sshd && (string.IsNullOrWhiteSpace(sshd) || !Path.IsPathFullyQualified(sshd)))
        {
            failures.Add($"{Section}:SshdPath must be an absolute path (got '{sshd}')");
        }

        if (options.SshPort is < 1 or > 65535)
        {
            failures.Add($"{Section}:SshPort must be a TCP port from 1 to 65535 (got {options.SshPort})");
        }

        if (options.SandboxStartTimeout <= TimeSpan.Zero || options.SandboxStartTimeout > TimeSpan.FromMinutes(5))
        {
            failures.Add($"{Section}:SandboxStartTimeout must be greater than 0 and at most 00:05:00 (got {options.SandboxStartTimeout})");
        }

        if (!FlyRegions.IsKnown(options.DefaultRegion ?? ""))
        {
            failures.Add($"{Section}:DefaultRegion must be a Fly region code such as ord or ams (got '{options.DefaultRegion}')");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
