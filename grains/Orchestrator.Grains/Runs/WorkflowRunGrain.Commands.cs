using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Workflows;
using Orchestrator.Workflows;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Runs;

/// <summary>What callers ask of a run: start it (once), cancel it, signal it, retry it after a failure.</summary>
internal sealed partial class WorkflowRunGrain
{
    public Task<RunView> StartAsync(RunStartRequest request, CancellationToken cancellationToken) =>
        StartAsync(request, parentRunId: null, depth: 0, cancellationToken);

    Task<RunView> IChildRunGrain.StartChildAsync(RunStartRequest request, string parentRunId, int depth, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(parentRunId);
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 1);
        return StartAsync(request, parentRunId, depth, cancellationToken);
    }

    /// <summary>
    /// Starts the run once: admitted under the tenant's live-run quota and, for a child, its nesting depth (a
    /// workflow that starts itself ends at the depth limit instead of spawning runs without end).
    /// </summary>
    private async Task<RunView> StartAsync(RunStartRequest request, string? parentRunId, int depth, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var hash = HashRequest(request, parentRunId);
        if (Started)
        {
            return S.RequestHash == hash
                ? await ViewAsync(cancellationToken)
                : throw new RunConflictException($"Run '{_runId}' was already started with another request.");
        }

        if (depth > 0)
        {
            var maxDepth = (await GrainFactory.GetGrain<Tenants.ITenantGrain>(_tenant).GetQuotasAsync()).MaxRunDepth ?? int.MaxValue;
            if (depth > maxDepth)
            {
                throw new Tenants.QuotaExceededException(
                    Tenants.QuotaExceededException.MaxRunDepth,
                    maxDepth,
                    $"Run '{parentRunId}' is at depth {depth - 1}, and tenant '{_tenant}' allows runs to nest {maxDepth} deep (its max_run_depth): the child run was not started.");
            }
        }


        var version = await GrainFactory.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format(_tenant, request.Workflow)).GetAsync(request.Version, cancellationToken)
            ?? throw new WorkflowNotFoundException(request.Version is { } v
                ? $"Workflow '{request.Workflow}' has no version {v}."
                : $"There is no workflow '{request.Workflow}'.");
        var definition = definitions.Get(version);
        var given = ParseInputs(request.InputsJson);
        var inputs = WorkflowInputs.Resolve(definition, given, out var inputErrors);
        if (inputErrors is [var first, ..])
        {
            throw new RunInputException(first.Path, first.Message);
        }

        // The tenant's secrets that the definition reads and the start did not give (a given one wins): read once
        // here and kept with the run like given ones, so a later change of a tenant secret does not reach it.
        var runSecrets = new Dictionary<string, string>(request.Secrets ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        var fromTenant = SecretReferences.In(definition).Where(name => !runSecrets.ContainsKey(name)).ToList();
        if (fromTenant.Count > 0)
        {
            foreach (var (name, value) in await GrainFactory.GetGrain<Tenants.ITenantSecretValuesGrain>(_tenant).GetValuesAsync(fromTenant))
            {
                runSecrets[name] = value;
            }
        }

        // Admitted once the request is known to be good, so a refused start never holds a place.
        await GrainFactory.GetGrain<Tenants.IRunAdmissionGrain>(_tenant).AdmitAsync(_runId, cancellationToken);
        if (Started)
        {
            // Another start interleaved while the definition loaded.
            return S.RequestHash == hash ? await ViewAsync(cancellationToken) : throw new RunConflictException($"Run '{_runId}' was already started with another request.");
        }

        var now = time.GetUtcNow();
        S.Status = RunStatuses.Running;
        S.Workflow = request.Workflow;
        S.Version = version.Version;
        S.BuiltIn = version.BuiltIn;
        // Secret inputs are kept encrypted, like the secrets: the state in PostgreSQL holds them masked.
        _secretInputs = inputs.Where(p => definition.Inputs.TryGetValue(p.Key, out var input) && input.Secret).ToDictionary(StringComparer.Ordinal);
        S.InputsJson = new JsonObject(inputs.Select(p => KeyValuePair.Create(p.Key, _secretInputs.ContainsKey(p.Key) ? JsonValue.Create(Redactor.Mask) : p.Value.ToJsonNode()))).ToJsonString();
        S.SecretInputsProtected = _secretInputs.Count > 0
            ? secrets.Protect(Encoding.UTF8.GetBytes(new JsonObject(_secretInputs.Select(p => KeyValuePair.Create(p.Key, p.Value.ToJsonNode()))).ToJsonString()), Key)
            : null;
        S.SecretsProtected = runSecrets.Count > 0
            ? secrets.Protect(JsonSerializer.SerializeToUtf8Bytes(runSecrets), Key)
            : null;
        S.RequestHash = hash;
        // Always within the run's own tenant: a parent is named by its run id, never by a grain key.
        S.ParentRunKey = parentRunId is null ? null : InstanceKey.Format(_tenant, parentRunId);
        S.Depth = depth;
        S.CreatedAt = now;
        S.UpdatedAt = now;
        S.Phase = RunPhases.Main;
        _definition = definition;
        _secrets = runSecrets;
        foreach (var step in definition.AllSteps())
        {
            S.Steps[step.Id] = new StepState();
        }

        await Emit(RunEventKinds.RunStarted, null, 0, new JsonObject { ["workflow"] = S.Workflow, ["version"] = S.Version });
        if (definition.Steps is [{ If: null } firstStep, ..] && firstStep.Uses != StepTypes.Parallel)
        {
            // A first step without a condition always runs: its start rides on the run's first checkpoint, so
            // starting a run costs no write of its own. The driver finds it running and carries out that attempt.
            await BeginAttemptAsync(firstStep, S.Steps[firstStep.Id]);
        }

        _reminders[ResumeReminder] = await this.RegisterOrUpdateReminder(ResumeReminder, Options.ResumePeriod, Options.ResumePeriod, cancellationToken);
        await CheckpointAsync();
        await IndexAsync(cancellationToken);
        LogStarted(Key, S.Workflow, S.Version);
        EnsureDriving();
        return await ViewAsync(cancellationToken);
    }

    public async Task<RunView> CancelAsync(CancellationToken cancellationToken)
    {
        ThrowIfMissing();
        if (RunStatuses.IsTerminal(S.Status) || S.CancelRequested)
        {
            return await ViewAsync(cancellationToken);
        }

        S.CancelRequested = true;
        await Emit(RunEventKinds.RunCancelled, null, 0, new JsonObject { ["phase"] = S.Phase });
        await CheckpointAsync();
        if (_cancel is { } cancel)
        {
            await cancel.CancelAsync();
        }

        EnsureDriving();
        return await ViewAsync(cancellationToken);
    }

    public async Task<RunView> SignalAsync(string name, string payloadJson, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ThrowIfMissing();
        if (RunStatuses.IsTerminal(S.Status))
        {
            throw new RunConflictException($"Run '{_runId}' has ended ({S.Status}); it takes no more signals.");
        }

        // A signal no step waits for yet is kept in the run's state until one does; a repeated name replaces the kept
        // payload, so only new names can grow the state, and their number is capped.
        if (!_signalWaiters.ContainsKey(name) && !S.Signals.ContainsKey(name) && S.Signals.Count >= MaxPendingSignals)
        {
            throw new RunConflictException(
                $"Run '{_runId}' already holds {MaxPendingSignals} signals that no step has waited for yet ({string.Join(", ", S.Signals.Keys.Order(StringComparer.Ordinal))}); it takes a new signal name once a step has taken one of them.");
        }

        var payload = JsonNode.Parse(payloadJson)?.ToJsonString() ?? "null";
        await Emit(RunEventKinds.RunSignalled, null, 0, new JsonObject { ["name"] = name, ["payload"] = JsonNode.Parse(payload) });
        if (_signalWaiters.Remove(name, out var waiter))
        {
            waiter.TrySetResult(payload);
        }
        else
        {
            S.Signals[name] = payload;
            await CheckpointAsync();
        }

        return await ViewAsync(cancellationToken);
    }

    public async Task<RunView> RetryAsync(CancellationToken cancellationToken)
    {
        ThrowIfMissing();
        if (S.Status != RunStatuses.Failed)
        {
            throw new RunConflictException($"Run '{_runId}' is {S.Status}; only a failed run can be retried.");
        }

        var definition = await DefinitionAsync(cancellationToken);
        foreach (var step in definition.AllSteps())
        {
            var st = S.Steps[step.Id];
            var finallyStep = definition.Finally.SelectMany(f => f.SelfAndDescendants()).Any(f => f.Id == step.Id);
            if (finallyStep || st.Status is StepStatuses.Failed or StepStatuses.Skipped or StepStatuses.Cancelled && !st.Continued)
            {
                // Completed steps keep their outputs; what failed, what was skipped because of it, and the cleanup run again.
                S.Steps[step.Id] = new StepState { Attempt = finallyStep ? 0 : st.Attempt };
            }
        }

        S.Status = RunStatuses.Running;
        S.Phase = RunPhases.Main;
        S.Error = null;
        S.EndedAt = null;
        await Emit(RunEventKinds.RunResumed, null, 0, new JsonObject { ["reason"] = "retry" });
        _reminders[ResumeReminder] = await this.RegisterOrUpdateReminder(ResumeReminder, Options.ResumePeriod, Options.ResumePeriod, cancellationToken);
        await CheckpointAsync();
        await IndexAsync(cancellationToken);
        EnsureDriving();
        return await ViewAsync(cancellationToken);
    }

    private static string HashRequest(RunStartRequest request, string? parentRunId)
    {
        var text = new StringBuilder()
            .Append(request.Workflow).Append('\n')
            .Append(request.Version?.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n')
            .Append(JsonNode.Parse(string.IsNullOrWhiteSpace(request.InputsJson) ? "{}" : request.InputsJson)?.ToJsonString()).Append('\n')
            .Append(parentRunId).Append('\n');
        foreach (var (name, value) in (request.Secrets ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            text.Append(name).Append('=').Append(value).Append('\n');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
