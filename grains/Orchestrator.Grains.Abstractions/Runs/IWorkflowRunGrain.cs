using Orleans.Concurrency;

namespace Orchestrator.Grains.Runs;

/// <summary>
/// One run of a workflow, keyed <c>{tenant}/{runId}</c>: a durable state machine that checkpoints after every step
/// transition and resumes on another silo after a crash. Every method answers at once while steps run.
/// </summary>
[Alias("orchestrator.IWorkflowRunGrain")]
public interface IWorkflowRunGrain : IGrainWithStringKey
{
    /// <summary>
    /// Starts the run. Repeating the same request returns the run as it is; another request for the same run id is
    /// refused with <see cref="RunConflictException"/>. A new run is admitted under its tenant's
    /// <c>max_concurrent_runs</c>, whoever starts it. The run id comes from <see cref="RunIds"/>.
    /// </summary>
    /// <exception cref="Tenants.QuotaExceededException">The tenant already has its maximum of live runs; nothing started.</exception>
    /// <exception cref="Workflows.WorkflowNotFoundException">No such workflow or version.</exception>
    /// <exception cref="RunInputException">An input is missing or of the wrong type; the exception names it.</exception>
    [Alias("Start")]
    Task<RunView> StartAsync(RunStartRequest request, CancellationToken cancellationToken = default);

    /// <summary>The run's status and each step's, or null when the run was never started.</summary>
    [Alias("Get"), AlwaysInterleave]
    Task<RunView?> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>Stops the running step (its command is killed), runs the <c>finally</c> steps, ends as cancelled.</summary>
    [Alias("Cancel"), AlwaysInterleave]
    Task<RunView> CancelAsync(CancellationToken cancellationToken = default);

    /// <summary>Delivers a signal (with a JSON payload) to a <c>wait_for_signal</c> step, now or when it starts waiting.</summary>
    [Alias("Signal"), AlwaysInterleave]
    Task<RunView> SignalAsync(string name, string payloadJson, CancellationToken cancellationToken = default);

    /// <summary>Resumes a failed run from its failed step, keeping the outputs of the steps that completed.</summary>
    [Alias("Retry"), AlwaysInterleave]
    Task<RunView> RetryAsync(CancellationToken cancellationToken = default);

    /// <summary>The run's events after <paramref name="afterSequence"/>, then live ones until the run ends.</summary>
    [Alias("Watch")]
    IAsyncEnumerable<RunEvent> WatchAsync(long afterSequence, CancellationToken cancellationToken = default);

    /// <summary>A step's full output (the latest attempt's), read back from the run's events.</summary>
    [Alias("StepOutput"), AlwaysInterleave]
    Task<StepOutputView> GetStepOutputAsync(string stepId, CancellationToken cancellationToken = default);
}

/// <summary>Queries the run index (PostgreSQL, or memory in the dev profile) from inside the cluster.</summary>
[Alias("orchestrator.IRunQueryGrain")]
public interface IRunQueryGrain : IGrainWithIntegerKey
{
    /// <exception cref="RunCursorException">The cursor is not one this API returned.</exception>
    [Alias("List")]
    Task<RunListPage> ListAsync(string tenant, int limit, string? cursor, string? status, string? workflow, CancellationToken cancellationToken = default);
}

/// <summary>
/// What to run. <c>InputsJson</c> is a JSON object of input values; <c>Secrets</c> are the values of
/// <c>${{ secrets.NAME }}</c>, encrypted at rest and redacted from every event and log. (A child run's parent is
/// set inside the cluster only: an outside caller cannot attach a run to another run.)
/// </summary>
[GenerateSerializer, Immutable, Alias("orchestrator.RunStartRequest")]
public sealed record RunStartRequest(
    [property: Id(0)] string Workflow,
    [property: Id(1)] int? Version,
    [property: Id(2)] string InputsJson,
    [property: Id(3)] IReadOnlyDictionary<string, string>? Secrets = null);

/// <summary>Run ids, the same for every caller (HTTP gateway, Orleans clients): lowercase, usable in paths.</summary>
public static class RunIds
{
    /// <summary>A fresh random id: <c>run-</c> and 20 hex digits.</summary>
    public static string New() => "run-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(10));

    /// <summary>
    /// The id of the run started with <paramref name="idempotencyKey"/> in <paramref name="tenant"/>: <c>run-</c> and the
    /// first 20 hex digits of SHA-256(tenant, newline, key), so the same key always reaches the same run.
    /// </summary>
    public static string For(string tenant, string idempotencyKey)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(idempotencyKey);
        return "run-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(tenant + "\n" + idempotencyKey)))[..20];
    }
}

[GenerateSerializer, Immutable, Alias("orchestrator.RunView")]
public sealed record RunView(
    [property: Id(0)] string RunId,
    [property: Id(1)] string Workflow,
    [property: Id(2)] int Version,
    [property: Id(3)] string Status,
    [property: Id(4)] string InputsJson,
    [property: Id(5)] IReadOnlyList<StepView> Steps,
    [property: Id(6)] string OutputsJson,
    [property: Id(7)] string? Error,
    [property: Id(8)] DateTimeOffset CreatedAt,
    [property: Id(9)] DateTimeOffset UpdatedAt,
    [property: Id(10)] DateTimeOffset? EndedAt,
    [property: Id(11)] long LastSequence);

/// <summary>A step as the run reports it; <c>OutputsJson</c> is a JSON object with secrets redacted.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.StepView")]
public sealed record StepView(
    [property: Id(0)] string Id,
    [property: Id(1)] string Uses,
    [property: Id(2)] string Status,
    [property: Id(3)] int Attempts,
    [property: Id(4)] DateTimeOffset? StartedAt,
    [property: Id(5)] DateTimeOffset? EndedAt,
    [property: Id(6)] string OutputsJson,
    [property: Id(7)] string? Error,
    [property: Id(8)] bool InFinally);

[GenerateSerializer, Immutable, Alias("orchestrator.StepOutputView")]
public sealed record StepOutputView(
    [property: Id(0)] string StepId,
    [property: Id(1)] int Attempt,
    [property: Id(2)] string Stdout,
    [property: Id(3)] string Stderr);

[GenerateSerializer, Immutable, Alias("orchestrator.RunListPage")]
public sealed record RunListPage(
    [property: Id(0)] IReadOnlyList<RunSummary> Items,
    [property: Id(1)] string? NextCursor);

/// <summary>Step statuses.</summary>
public static class StepStatuses
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Waiting = "waiting";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Skipped = "skipped";
    public const string Cancelled = "cancelled";
}

/// <summary>The run id is taken by a run started with another request, or the call contradicts the run's status.</summary>
[GenerateSerializer, Alias("orchestrator.RunConflictException")]
public sealed class RunConflictException : Exception
{
    public RunConflictException()
    {
    }

    public RunConflictException(string message)
        : base(message)
    {
    }

    public RunConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The run was never started.</summary>
[GenerateSerializer, Alias("orchestrator.RunNotFoundException")]
public sealed class RunNotFoundException : Exception
{
    public RunNotFoundException()
    {
    }

    public RunNotFoundException(string message)
        : base(message)
    {
    }

    public RunNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>An input or secret of a run start is invalid; <see cref="Field"/> names it (e.g. <c>inputs.branch</c>).</summary>
[GenerateSerializer, Alias("orchestrator.RunInputException")]
public sealed class RunInputException : Exception
{
    public RunInputException()
    {
    }

    public RunInputException(string message)
        : base(message)
    {
    }

    public RunInputException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public RunInputException(string field, string message)
        : base(message) => Field = field;

    [Id(0)]
    public string Field { get; init; } = "inputs";
}

/// <summary>A list cursor that this API did not hand out.</summary>
[GenerateSerializer, Alias("orchestrator.RunCursorException")]
public sealed class RunCursorException : Exception
{
    public RunCursorException()
    {
    }

    public RunCursorException(string message)
        : base(message)
    {
    }

    public RunCursorException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
