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

    /// <summary>Output kept in memory per stream of an <c>ssh.exec</c> step for its outputs; all of it is in the run's events.</summary>
    public int MaxCapturedOutputBytes { get; set; } = 1024 * 1024;

    /// <summary>Default limit of <c>http.check</c> when the step sets none.</summary>
    public TimeSpan HttpCheckTimeout { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan HttpCheckInterval { get; set; } = TimeSpan.FromSeconds(1);
}
