using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Orchestrator.Grains.Instances;
using Orchestrator.Workflows;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Runs;

/// <summary>
/// Carries out one attempt of a step and returns its outputs; a failure is an exception whose message says why.
/// Instance and SSH steps pass the attempt's idempotency key down, so a repeated attempt (after a crash) has the
/// effect of one: the instance grain makes no second machine, and commands see <c>ORCH_IDEMPOTENCY_KEY</c>.
/// </summary>
internal sealed partial class StepExecutor(HttpCheckClients httpChecks, IOptions<WorkflowOptions> options, TimeProvider time)
{
    public const string IdempotencyVariable = "ORCH_IDEMPOTENCY_KEY";

    public const string RunIdVariable = "ORCH_RUN_ID";

    private WorkflowOptions Options => options.Value;

    public async Task<JsonObject> ExecuteAsync(StepAttempt attempt, CancellationToken cancellationToken)
    {
        var with = StepParameters.Render(attempt.Step, attempt.Context);
        return attempt.Step.Uses switch
        {
            StepTypes.InstanceCreate => await CreateInstanceAsync(attempt, with, cancellationToken),
            StepTypes.InstanceStart => await TransitionAsync(attempt, with, InstanceStates.Started, (g, ct) => g.StartAsync(ct), cancellationToken),
            StepTypes.InstanceStop => await TransitionAsync(attempt, with, InstanceStates.Stopped, (g, ct) => g.StopAsync(ct), cancellationToken),
            StepTypes.InstanceDestroy => await DestroyAsync(attempt, with, cancellationToken),
            StepTypes.InstanceResize => await ResizeAsync(attempt, with, cancellationToken),
            StepTypes.InstanceExtendVolume => await ExtendVolumeAsync(attempt, with, cancellationToken),
            StepTypes.SshExec => await ExecAsync(attempt, with, cancellationToken),
            StepTypes.GitClone => await GitCloneAsync(attempt, with, cancellationToken),
            StepTypes.SessionOpen => await SessionOpenAsync(attempt, with, cancellationToken),
            StepTypes.HttpCheck => await HttpCheckAsync(attempt, with, cancellationToken),
            StepTypes.Sleep => await SleepAsync(attempt, with, cancellationToken),
            StepTypes.WaitForSignal => await WaitForSignalAsync(attempt, with, cancellationToken),
            StepTypes.Workflow => await ChildRunAsync(attempt, with, cancellationToken),
            _ => throw new InvalidOperationException($"step type '{attempt.Step.Uses}' cannot be executed"),
        };
    }

    private static JsonObject Outputs(IReadOnlyDictionary<string, WorkflowValue> values) =>
        new(values.Select(p => KeyValuePair.Create(p.Key, p.Value.ToJsonNode())));
}
