namespace Orchestrator.Workflows.Runtime;

public enum StepStatus
{
    Pending = 0,
    Running = 1,
    Succeeded = 2,
    Failed = 3,
    /// <summary>Failed with <c>continue_on_error</c>: the run goes on and <c>failure()</c> stays false.</summary>
    FailedAndContinued = 4,
    Skipped = 5,
    Cancelled = 6,
}

/// <summary>What a step left behind for later steps: its status and outputs.</summary>
public sealed record StepResult(StepStatus Status, IReadOnlyDictionary<string, WorkflowValue> Outputs);

/// <summary>The instance a step acts on (its <c>with.instance</c>), for <c>${{ instance.* }}</c>.</summary>
public sealed record InstanceInfo(string Id, string? Name, string? Region, string? PrivateIp, string? PublicIp);

/// <summary>
/// Everything templates and conditions may read during a run. Immutable: the runner builds a new
/// one (with <c>with</c>) as steps complete.
/// </summary>
public sealed record ExpressionContext
{
    public required string RunId { get; init; }

    public string WorkflowName { get; init; } = "";

    /// <summary>Input values after defaults were applied (see <see cref="WorkflowInputs.Resolve"/>).</summary>
    public IReadOnlyDictionary<string, WorkflowValue> Inputs { get; init; } = new Dictionary<string, WorkflowValue>(StringComparer.Ordinal);

    /// <summary>Names of inputs declared <c>secret: true</c>: their values are redacted like secrets.</summary>
    public IReadOnlySet<string> SecretInputs { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, string> Secrets { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, StepResult> Steps { get; init; } = new Dictionary<string, StepResult>(StringComparer.Ordinal);

    public InstanceInfo? Instance { get; init; }

    /// <summary>The run was cancelled (what <c>cancelled()</c> reports while <c>finally</c> runs).</summary>
    public bool IsCancelled { get; init; }

    /// <summary>A step failed without <c>continue_on_error</c>: what <c>failure()</c> reports.</summary>
    public bool HasFailure => Steps.Values.Any(static s => s.Status == StepStatus.Failed);

    /// <summary>A redactor that hides every secret and secret input value of this context.</summary>
    public Redactor CreateRedactor() =>
        new(Secrets.Values.Concat(SecretInputs.Where(Inputs.ContainsKey).Select(name => Inputs[name].ToText())));
}
