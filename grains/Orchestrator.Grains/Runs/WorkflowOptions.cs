using System.Net;
using Microsoft.Extensions.Options;

namespace Orchestrator.Grains.Runs;

/// <summary>How workflow runs behave; bound from <c>Orchestrator:Workflows</c>.</summary>
public sealed class WorkflowOptions
{
    public const string SectionName = "Orchestrator:Workflows";

    /// <summary>
    /// Period of each live run's reminder: after a silo dies, its runs resume on another silo within about this
    /// long (Orleans' floor for reminder periods is one minute outside tests).
    /// </summary>
    public TimeSpan ResumePeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Waits up to this long (sleep, retry backoff, signal timeout) run on a timer; longer ones on a reminder.</summary>
    public TimeSpan TimerWaitLimit { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long an instance step waits for its machine to reach the state it asked for, when the step sets no timeout.</summary>
    public TimeSpan InstanceReadyTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often instance steps read the instance while they wait for a state (reads are served from the grain's cache).</summary>
    public TimeSpan InstancePollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Characters kept in memory for captures: per stream of an <c>ssh.exec</c> step (all of it is in the run's events),
    /// and of an <c>http.check</c>'s body (reading stops there).
    /// </summary>
    public int MaxCapturedOutputBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Bytes of UTF-8 kept of each of the <c>stdout</c> and <c>stderr</c> outputs of an <c>ssh.exec</c> step (the
    /// start of the stream, with <c>stdout_truncated</c> / <c>stderr_truncated</c> true when more was printed), of the
    /// <c>body</c> of an <c>http.check</c>, and of each declared capture (a text keeps its start, a list or mapping
    /// longer than this is kept as null; <c>&lt;name&gt;_truncated</c> is true then). They are in the run's checkpoint,
    /// written on every transition; the whole output is served by the step output endpoint.
    /// </summary>
    public int MaxStepOutputBytes { get; set; } = 64 * 1024;

    /// <summary>Default limit of <c>http.check</c> when the step sets none.</summary>
    public TimeSpan HttpCheckTimeout { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan HttpCheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>What <c>http.check</c> may reach; bound from <c>Orchestrator:Workflows:HttpCheck</c>.</summary>
    public HttpCheckOptions HttpCheck { get; set; } = new();
}

public sealed class HttpCheckOptions
{
    public const string SectionName = WorkflowOptions.SectionName + ":HttpCheck";

    /// <summary>
    /// Networks in CIDR notation (<c>10.0.0.0/8</c>, <c>fdaa::/16</c>) that checks may reach besides public addresses
    /// and the tenant's own instances. Empty by default: loopback, private (the 6PN network all tenants share
    /// included), link-local and other non-public addresses are refused.
    /// </summary>
    public List<string> AllowedNetworks { get; set; } = [];

    /// <summary>The networks of <see cref="AllowedNetworks"/>; valid once the options validator passed them.</summary>
    internal IReadOnlyList<IPNetwork> Networks() => [.. AllowedNetworks.Select(n => IPNetwork.Parse(n.Trim()))];
}

/// <summary>Checked when the silo starts, so a bad network stops it with the setting named instead of failing a run.</summary>
internal sealed class WorkflowOptionsValidator : IValidateOptions<WorkflowOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkflowOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.HttpCheck.AllowedNetworks
            .Select((network, i) => (network, i))
            .Where(p => !IsNetwork(p.network))
            .Select(p => $"{HttpCheckOptions.SectionName}:AllowedNetworks:{p.i} '{p.network}' is not a network in CIDR notation such as 10.0.0.0/8 or fdaa::/16 (no address bits may be set past the prefix length)")
            .ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    /// <summary>Also refuses an address with bits past the prefix (10.0.0.1/8): it reads like a host and would allow a network.</summary>
    private static bool IsNetwork(string? text) =>
        IPNetwork.TryParse(text?.Trim(), out var network)
        && IPAddress.TryParse(text!.Trim().Split('/')[0], out var address)
        && address.Equals(network.BaseAddress);
}
