namespace Orchestrator.Grains.Instances;

/// <summary>Why an instance is not where it was asked to be: taken from the machine (its exit event) or from Fly's answer.</summary>
/// <param name="Code">Stable, e.g. <c>machine-start-failed</c>, <c>machine-exited</c>, <c>fly-capacity</c>.</param>
/// <param name="Message">What happened, in Fly's or the machine's words.</param>
/// <param name="At">When it happened (the machine event's time when there is one).</param>
/// <param name="FlyRequestId">Fly's <c>fly-request-id</c> of the failed call, for Fly support.</param>
[GenerateSerializer, Immutable, Alias("orchestrator.InstanceError")]
public sealed record InstanceError(
    [property: Id(0)] string Code,
    [property: Id(1)] string Message,
    [property: Id(2)] DateTimeOffset At,
    [property: Id(3)] string? FlyRequestId = null);

/// <summary>The stable codes of <see cref="InstanceError.Code"/>.</summary>
public static class InstanceErrorCodes
{
    /// <summary>The machine did not start: Fly (or the emulator's runtime) gave up on it.</summary>
    public const string MachineStartFailed = "machine-start-failed";

    /// <summary>The machine's main process exited while the instance was to be started.</summary>
    public const string MachineExited = "machine-exited";

    /// <summary>Fly refused or failed a call for this instance; the message is Fly's.</summary>
    public const string FlyError = "fly-error";
}

/// <summary>One step of an instance's life, kept with the instance, oldest first.</summary>
/// <param name="Sequence">1, 2, 3... per instance; the cursor of <c>GET .../events</c>.</param>
/// <param name="At">When the orchestrator recorded it.</param>
/// <param name="Kind">One of <see cref="InstanceEventKinds"/>.</param>
/// <param name="Actor">Who asked for it; null when the machine did it by itself (an exit, a restart by policy).</param>
/// <param name="Message">A sentence for people.</param>
/// <param name="Machine">Fly's machine event behind it, when there was one.</param>
/// <param name="Error">What went wrong, for <c>failed</c> (and any event a Fly error came with).</param>
[GenerateSerializer, Immutable, Alias("orchestrator.InstanceEvent")]
public sealed record InstanceEvent(
    [property: Id(0)] long Sequence,
    [property: Id(1)] DateTimeOffset At,
    [property: Id(2)] string Kind,
    [property: Id(3)] InstanceActor? Actor,
    [property: Id(4)] string Message,
    [property: Id(5)] InstanceMachineEvent? Machine = null,
    [property: Id(6)] InstanceError? Error = null);

/// <summary>What asked for a change: an API request (its <c>X-Request-Id</c>) and/or a workflow run's step.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.InstanceActor")]
public sealed record InstanceActor(
    [property: Id(0)] string? RequestId,
    [property: Id(1)] string? RunId = null,
    [property: Id(2)] string? StepId = null)
{
    /// <summary>RequestContext keys the caller sets: the gateway sets the request id, a run sets its id and step.</summary>
    public const string RequestIdKey = "request_id";
    public const string RunIdKey = "orchestrator.run_id";
    public const string StepIdKey = "orchestrator.step_id";

    /// <summary>Who the current grain call came from, or null when nothing says.</summary>
    public static InstanceActor? FromRequestContext()
    {
        var requestId = RequestContext.Get(RequestIdKey) as string;
        var runId = RequestContext.Get(RunIdKey) as string;
        var stepId = RequestContext.Get(StepIdKey) as string;
        return requestId is null && runId is null ? null : new InstanceActor(requestId, runId, stepId);
    }
}

/// <summary>Fly's own record of a machine event (type, status, source, exit code).</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.InstanceMachineEvent")]
public sealed record InstanceMachineEvent(
    [property: Id(0)] string? Type,
    [property: Id(1)] string? Status,
    [property: Id(2)] string? Source,
    [property: Id(3)] DateTimeOffset? At,
    [property: Id(4)] int? ExitCode = null,
    [property: Id(5)] int? Signal = null,
    [property: Id(6)] bool? OomKilled = null,
    [property: Id(7)] string? Error = null);

/// <summary>The kinds of <see cref="InstanceEvent"/>.</summary>
public static class InstanceEventKinds
{
    /// <summary>The creation was accepted (or repeated after it failed); the machine follows.</summary>
    public const string Created = "created";

    /// <summary>Fly made the instance's machine.</summary>
    public const string MachineCreated = "machine_created";
    public const string Starting = "starting";
    public const string Started = "started";
    public const string Stopping = "stopping";
    public const string Stopped = "stopped";
    public const string Restarted = "restarted";
    public const string Resized = "resized";
    public const string VolumeExtended = "volume_extended";
    public const string Failed = "failed";
    public const string Destroyed = "destroyed";
}

/// <summary>A page of an instance's events after a cursor, oldest first.</summary>
/// <param name="Items">At most the page's limit.</param>
/// <param name="NextCursor">The sequence to pass as <c>after</c> for the next page; null when there are no more now.</param>
/// <param name="FirstSequence">The oldest sequence still kept: older events were dropped (the instance keeps the newest ones).</param>
[GenerateSerializer, Immutable, Alias("orchestrator.InstanceEventPage")]
public sealed record InstanceEventPage(
    [property: Id(0)] IReadOnlyList<InstanceEvent> Items,
    [property: Id(1)] long? NextCursor,
    [property: Id(2)] long FirstSequence);
