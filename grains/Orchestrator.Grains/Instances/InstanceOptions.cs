namespace Orchestrator.Grains.Instances;

/// <summary>How instance grains drive their machines; bound from <c>Orchestrator:Instances</c>.</summary>
public sealed class InstanceOptions
{
    public const string SectionName = "Orchestrator:Instances";

    /// <summary>The image of instances that name none (the emulator ignores images).</summary>
    public string DefaultImage { get; set; } = "registry-1.docker.io/library/ubuntu:24.04";

    /// <summary>How long a cached machine is served before a read triggers a background refresh.</summary>
    public TimeSpan CacheTtl { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a transition in progress is polled until it settles.</summary>
    public TimeSpan SettlePollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long the background poll follows one transition.</summary>
    public TimeSpan SettleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long a call waits for the previous transition to settle before it acts: bounded so that, with the Fly
    /// call after it, a grain call stays well inside Orleans' 30 s response timeout.
    /// </summary>
    public TimeSpan SettleBeforeActing { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The first wait before a creation step that met a transient Fly failure (rate limit, timeout, 5xx) is tried again; doubled per failure.</summary>
    public TimeSpan CreateRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long transient failures of a creation are retried before it is given up as failed.</summary>
    public TimeSpan CreateTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long a destroy lets a creation step in flight finish (so that what it made is known) before cancelling it.</summary>
    public TimeSpan DestroyWaitsForCreateStep { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The period of the reminder that resumes a creation after its silo died (Orleans' minimum is one minute).</summary>
    public TimeSpan CreateReminderPeriod { get; set; } = TimeSpan.FromMinutes(1);
}
