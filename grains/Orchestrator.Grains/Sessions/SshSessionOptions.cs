namespace Orchestrator.Grains.Sessions;

/// <summary>How session grains reach machines; bound from <c>Orchestrator:Ssh</c> (the pool's tuning is read from the same section).</summary>
public sealed class SshSessionOptions
{
    public const string SectionName = "Orchestrator:Ssh";

    /// <summary>sshd's port on the machine: the project's machine image listens on 2222 (22 belongs to Fly's own SSH on 6PN).</summary>
    public int Port { get; set; } = 2222;

    public string UserName { get; set; } = "root";

    /// <summary>How long a refused or unanswered connect is retried: a machine that just started needs a moment for sshd.</summary>
    public TimeSpan ConnectRetryWindow { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a closed shell waits for its exit status to arrive.</summary>
    public TimeSpan ShellExitStatusWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The first problem with these settings, naming the setting; null when they are usable.</summary>
    public string? Validate() =>
        Port is < 1 or > 65535 ? $"{SectionName}:Port must be from 1 to 65535"
        : string.IsNullOrWhiteSpace(UserName) ? $"{SectionName}:UserName must not be empty"
        : ConnectRetryWindow < TimeSpan.Zero ? $"{SectionName}:ConnectRetryWindow must not be negative"
        : ShellExitStatusWait <= TimeSpan.Zero ? $"{SectionName}:ShellExitStatusWait must be positive"
        : null;
}
