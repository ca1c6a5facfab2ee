using Microsoft.Extensions.Options;
using Orchestrator.Ssh;

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

    /// <summary>How long the first connection waits for its host key to be pinned before it goes on and pins in the background.</summary>
    public TimeSpan PinWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a closed shell waits for its exit status to arrive.</summary>
    public TimeSpan ShellExitStatusWait { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Every problem with these settings and the pool's (read from the same section), each naming its setting.</summary>
    public IReadOnlyList<(string Key, string Problem)> Validate(SshPoolOptions pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        var problems = new List<(string, string)>();
        if (Port is < 1 or > 65535)
        {
            problems.Add(($"{SectionName}:Port", "must be from 1 to 65535"));
        }

        if (string.IsNullOrWhiteSpace(UserName))
        {
            problems.Add(($"{SectionName}:UserName", "must not be empty"));
        }

        if (ConnectRetryWindow < TimeSpan.Zero)
        {
            problems.Add(($"{SectionName}:ConnectRetryWindow", "must not be negative"));
        }

        if (ShellExitStatusWait <= TimeSpan.Zero)
        {
            problems.Add(($"{SectionName}:ShellExitStatusWait", "must be positive"));
        }

        if (pool.MaxChannelsPerConnection < 1)
        {
            problems.Add(($"{SectionName}:MaxChannelsPerConnection", "must be at least 1"));
        }

        foreach (var (name, value) in new[] { ("ConnectTimeout", pool.ConnectTimeout), ("IdleTimeout", pool.IdleTimeout), ("KeepAliveInterval", pool.KeepAliveInterval) })
        {
            if (value <= TimeSpan.Zero)
            {
                problems.Add(($"{SectionName}:{name}", "must be a positive duration such as 00:00:10"));
            }
        }

        return problems;
    }
}

/// <summary>Checked when the silo starts, so a bad setting stops it with the setting named instead of failing the first command.</summary>
internal sealed class SshSessionOptionsValidator(IOptions<SshPoolOptions> pool) : IValidateOptions<SshSessionOptions>
{
    public ValidateOptionsResult Validate(string? name, SshSessionOptions options) =>
        options.Validate(pool.Value) is { Count: > 0 } problems
            ? ValidateOptionsResult.Fail(problems.Select(p => $"{p.Key} {p.Problem}"))
            : ValidateOptionsResult.Success;
}
