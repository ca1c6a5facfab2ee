using Orchestrator.Workflows;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Runs;

/// <summary>The run as the host of its steps: what <see cref="StepExecutor"/> may ask of it, and nothing else.</summary>
internal sealed partial class WorkflowRunGrain : IStepHost
{
    string IStepHost.RunKey => Key;

    string IStepHost.Tenant => _tenant;

    string IStepHost.RunId => _runId;

    int IStepHost.Depth => S.Depth;

    IReadOnlyDictionary<string, string> IStepHost.Secrets => Secrets;

    IGrainFactory IStepHost.Grains => GrainFactory;

    string IStepHost.Redact(string text) => Redact(text);

    StreamRedactor IStepHost.CreateOutputRedactor() => CreateOutputRedactor();

    Task IStepHost.EmitOutputAsync(StepDefinition step, int attempt, string stream, string maskedText) =>
        EmitOutputAsync(step, attempt, stream, maskedText);

    Task IStepHost.SetWaitingAsync(StepState step, DateTimeOffset? wakeAt) => SetWaitingAsync(step, wakeAt);

    Task IStepHost.WaitUntilAsync(DateTimeOffset at, CancellationToken cancellationToken) => WaitUntilAsync(at, cancellationToken);

    Task<string> IStepHost.WaitForSignalAsync(string name, DateTimeOffset? deadline, CancellationToken cancellationToken) =>
        WaitForSignalAsync(name, deadline, cancellationToken);

    Task IStepHost.WaitForChildAsync(string childRunId, IWorkflowRunGrain child, CancellationToken cancellationToken) =>
        WaitForChildAsync(childRunId, child, cancellationToken);
}
