using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Grains.Instances;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Runs;

/// <summary>Steps that wait on the run: <c>sleep</c>, <c>wait_for_signal</c>, and child <c>workflow</c> runs.</summary>
internal sealed partial class StepExecutor
{
    private async Task<JsonObject> SleepAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var duration = with.GetDuration("duration");
        if (duration > TimeSpan.Zero)
        {
            var at = attempt.State.WakeAt ?? time.GetUtcNow().Add(duration);
            if (attempt.State.WakeAt is null)
            {
                await attempt.Run.SetWaitingAsync(attempt.State, at);
            }

            await attempt.Run.WaitUntilAsync(at, cancellationToken);
        }

        return [];
    }

    private async Task<JsonObject> WaitForSignalAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var name = with.GetString("name");
        DateTimeOffset? deadline = with.GetOptionalDuration("timeout") is { } t ? attempt.State.WakeAt ?? time.GetUtcNow().Add(t) : null;
        if (attempt.State.Status != StepStatuses.Waiting)
        {
            await attempt.Run.SetWaitingAsync(attempt.State, deadline);
        }

        var payload = await attempt.Run.WaitForSignalAsync(name, deadline, cancellationToken);
        return new JsonObject { ["payload"] = JsonNode.Parse(payload) };
    }

    private static async Task<JsonObject> ChildRunAsync(StepAttempt attempt, StepParameters with, CancellationToken cancellationToken)
    {
        var workflow = with.GetString("workflow");
        var version = with.GetOptionalInteger("version");
        var inputs = with.GetOptionalMap("inputs")?.ToJsonNode()!.ToJsonString() ?? "{}";
        // Derived from the idempotency key: a resumed attempt finds the child it started instead of starting another.
        var childId = "run-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(attempt.Run.RunKey + "/" + attempt.IdempotencyKey)))[..20];
        var child = attempt.Run.Grains.GetGrain<Orchestrator.Grains.Runs.IWorkflowRunGrain>(InstanceKey.Format(attempt.Run.Tenant, childId));
        // Through the silo-internal interface: the child counts against the tenant's quotas and knows its parent and depth.
        await attempt.Run.Grains.GetGrain<IChildRunGrain>(InstanceKey.Format(attempt.Run.Tenant, childId))
            .StartChildAsync(new RunStartRequest(workflow, version, inputs, attempt.Run.Secrets), attempt.Run.RunId, attempt.Run.Depth + 1, cancellationToken);
        try
        {
            await attempt.Run.WaitForChildAsync(childId, child, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await child.CancelAsync(CancellationToken.None);
            throw;
        }

        var view = await child.GetAsync(cancellationToken) ?? throw new InvalidOperationException($"child run {childId} vanished");
        if (view.Status != RunStatuses.Succeeded)
        {
            throw new InvalidOperationException($"child run {childId} {view.Status}: {view.Error}");
        }

        var outputs = new JsonObject { ["run_id"] = childId, ["status"] = view.Status };
        foreach (var (name, value) in JsonNode.Parse(view.OutputsJson)!.AsObject())
        {
            outputs[name] = value?.DeepClone();
        }

        return outputs;
    }
}
