using Orchestrator.Workflows;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Runs;

/// <summary>
/// What a step's executor needs from the run it belongs to: who the run is, its secrets and masking, the run's
/// event log for the step's output, the checkpoint of a step that starts waiting, and the waits themselves (timers
/// and reminders, signals, child runs), which only the run can keep across a failover.
/// </summary>
internal interface IStepHost
{
    /// <summary>The run's grain key: tenant and run id.</summary>
    string RunKey { get; }

    string Tenant { get; }

    string RunId { get; }

    /// <summary>How deep this run is nested: 0 when started from outside.</summary>
    int Depth { get; }

    /// <summary>The secrets the run was started with, in the clear: for the parameters that may use them.</summary>
    IReadOnlyDictionary<string, string> Secrets { get; }

    IGrainFactory Grains { get; }

    /// <summary>The text with every secret value (and secret input) masked.</summary>
    string Redact(string text);

    /// <summary>A masker for one output stream, fed chunk by chunk.</summary>
    StreamRedactor CreateOutputRedactor();

    /// <summary>Records a chunk of a step's output, already masked by a redactor of <see cref="CreateOutputRedactor"/>.</summary>
    Task EmitOutputAsync(StepDefinition step, int attempt, string stream, string maskedText);

    /// <summary>Marks the step waiting until <paramref name="wakeAt"/> and checkpoints, so a resumed run waits only the rest.</summary>
    Task SetWaitingAsync(StepState step, DateTimeOffset? wakeAt);

    /// <summary>Waits until <paramref name="at"/>: on a timer when short, on a reminder when long.</summary>
    Task WaitUntilAsync(DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>The JSON payload of signal <paramref name="name"/>, once it arrives (or already arrived); a timeout past <paramref name="deadline"/>.</summary>
    Task<string> WaitForSignalAsync(string name, DateTimeOffset? deadline, CancellationToken cancellationToken);

    /// <summary>Returns when the child run has ended.</summary>
    Task WaitForChildAsync(string childRunId, IWorkflowRunGrain child, CancellationToken cancellationToken);
}

/// <summary>One attempt of one step, as the executor sees it.</summary>
internal sealed record StepAttempt(IStepHost Run, StepDefinition Step, StepState State, ExpressionContext Context, string IdempotencyKey);
