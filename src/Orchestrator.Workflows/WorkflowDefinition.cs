namespace Orchestrator.Workflows;

public enum WorkflowFormat
{
    Yaml = 0,
    Json = 1,
}

/// <summary>
/// A workflow as written by its author: data only, no behaviour. <c>Outputs</c> are templates the run
/// reports when it completes, e.g. a preview address.
/// </summary>
public sealed record WorkflowDefinition(
    string Name,
    string? Description,
    ValueDictionary<InputDefinition> Inputs,
    ValueList<StepDefinition> Steps,
    ValueList<StepDefinition> Finally,
    ValueDictionary<string> Outputs)
{
    /// <summary>Every step of the definition, main steps (with branches, depth first) then <c>finally</c>.</summary>
    public IEnumerable<StepDefinition> AllSteps() => Steps.Concat(Finally).SelectMany(static s => s.SelfAndDescendants());
}

[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1720:Identifier contains type name", Justification = "The members are the type names of the definition language.")]
public enum InputType
{
    String = 0,
    Number = 1,
    Boolean = 2,
    Object = 3,
}

/// <summary>An input of the workflow; a <c>Secret</c> input's value is redacted from events and logs like a secret.</summary>
public sealed record InputDefinition(InputType Type, WorkflowValue? Default, bool Required, string? Description, bool Secret);

/// <summary>
/// One step. <c>Uses</c> is the step type (e.g. <c>ssh.exec</c>, see <see cref="StepTypes"/>);
/// <c>With</c> holds its parameters as written (strings may contain <c>${{ }}</c> templates);
/// <c>If</c> is a condition expression, null meaning "run when no earlier step failed";
/// <c>Branches</c> are, for <c>parallel</c>, each branch's steps, run concurrently and joined.
/// </summary>
public sealed record StepDefinition(
    string Id,
    string Uses,
    ValueDictionary<WorkflowValue> With,
    ValueDictionary<OutputCapture> Outputs,
    string? If,
    RetryPolicy? Retry,
    TimeSpan? Timeout,
    bool ContinueOnError,
    ValueList<ValueList<StepDefinition>> Branches)
{
    public IEnumerable<StepDefinition> SelfAndDescendants() =>
        Branches.SelectMany(static b => b).SelectMany(static s => s.SelfAndDescendants()).Prepend(this);

    /// <summary>For a <c>workflow</c> step: the child run to start; null for other step types.</summary>
    public ChildWorkflowCall? ChildWorkflow =>
        Uses == StepTypes.Workflow && With.TryGetValue("workflow", out var name) && name is StringValue workflow
            ? new ChildWorkflowCall(
                workflow.Value,
                With.TryGetValue("version", out var version) && version is not NullValue ? version.ToText() : null,
                With.TryGetValue("inputs", out var inputs) && inputs is MapValue map ? map.Entries : new ValueDictionary<WorkflowValue>([]))
            : null;
}

/// <summary>A child run to start; a null <c>Version</c> means the latest version when the child starts.</summary>
public sealed record ChildWorkflowCall(string Workflow, string? Version, ValueDictionary<WorkflowValue> Inputs);

/// <summary>Retry of a failed step; <c>MaxAttempts</c> counts all attempts including the first (1: no retry).</summary>
public sealed record RetryPolicy(int MaxAttempts, BackoffPolicy Backoff)
{
    /// <summary>Delay before attempt <paramref name="attempt"/> (2 is the first retry).</summary>
    public TimeSpan DelayBefore(int attempt)
    {
        if (attempt <= 1)
        {
            return TimeSpan.Zero;
        }

        var ticks = Backoff.Initial.Ticks * Math.Pow((double)Backoff.Multiplier, attempt - 2);
        return ticks >= Backoff.Max.Ticks ? Backoff.Max : TimeSpan.FromTicks((long)ticks);
    }
}

public sealed record BackoffPolicy(TimeSpan Initial, TimeSpan Max, decimal Multiplier)
{
    public static BackoffPolicy Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), 2m);
}

public enum OutputSource
{
    Stdout = 0,
    Stderr = 1,
    Body = 2,
}

public enum CaptureKind
{
    /// <summary>The whole text, trailing newlines trimmed.</summary>
    Text = 0,

    /// <summary>The text parsed as JSON, then <see cref="OutputCapture.Pattern"/> as a JSON path.</summary>
    Json = 1,

    /// <summary>The first match of <see cref="OutputCapture.Pattern"/>; the value of group <see cref="OutputCapture.Group"/>.</summary>
    Regex = 2,
}

/// <summary>How a step output is taken from what the step produced (stdout, stderr or an HTTP body).</summary>
public sealed record OutputCapture(OutputSource From, CaptureKind Kind, string? Pattern, string? Group);
