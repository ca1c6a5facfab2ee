namespace Orchestrator.Grains.Runs;

/// <summary>
/// One entry of a run's append-only log. <see cref="Sequence"/> starts at 1 and has no gaps within a run;
/// <see cref="Data"/> is a JSON object (text) whose fields depend on <see cref="Kind"/>.
/// </summary>
/// <param name="RunKey">The run's grain key, <c>{tenant}/{runId}</c>.</param>
/// <param name="Sequence">Position in the run's log, from 1.</param>
/// <param name="At">When it happened.</param>
/// <param name="Kind">One of <see cref="RunEventKinds"/>.</param>
/// <param name="StepId">The step the event is about (null for run-level events).</param>
/// <param name="Attempt">The step's attempt, from 1 (0 for run-level events).</param>
/// <param name="Data">A JSON object, never null (<c>{}</c> when there is nothing to say).</param>
[GenerateSerializer, Immutable, Alias("orchestrator.RunEvent")]
public sealed record RunEvent(
    [property: Id(0)] string RunKey,
    [property: Id(1)] long Sequence,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] string Kind,
    [property: Id(4)] string? StepId,
    [property: Id(5)] int Attempt,
    [property: Id(6)] string Data);

/// <summary>The kinds of <see cref="RunEvent"/>.</summary>
public static class RunEventKinds
{
    public const string RunStarted = "run.started";
    public const string RunCompleted = "run.completed";
    public const string RunFailed = "run.failed";
    public const string RunCancelled = "run.cancelled";
    public const string RunSignalled = "run.signalled";
    public const string RunResumed = "run.resumed";
    public const string StepStarted = "step.started";
    public const string StepOutput = "step.output";
    public const string StepRetried = "step.retried";
    public const string StepCompleted = "step.completed";
    public const string StepFailed = "step.failed";
    public const string StepSkipped = "step.skipped";
}

/// <summary>A run as the list shows it, kept in a queryable index (PostgreSQL, or memory in the dev profile).</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.RunSummary")]
public sealed record RunSummary(
    [property: Id(0)] string Tenant,
    [property: Id(1)] string RunId,
    [property: Id(2)] string Workflow,
    [property: Id(3)] int Version,
    [property: Id(4)] string Status,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] DateTimeOffset UpdatedAt);

/// <summary>Run statuses.</summary>
public static class RunStatuses
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Waiting = "waiting";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";

    public static bool IsTerminal(string status) => status is Succeeded or Failed or Cancelled;
}
