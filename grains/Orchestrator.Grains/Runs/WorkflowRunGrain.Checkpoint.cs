using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Workflows;
using Orchestrator.Workflows;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Runs;

/// <summary>The checkpoint and what is read back from it: the definition, the parsed inputs and outputs, the expression context.</summary>
internal sealed partial class WorkflowRunGrain
{
    /// <summary>Writes the checkpoint; concurrent callers (parallel branches) share one write.</summary>
    private async Task CheckpointAsync()
    {
        _dirty = true;
        while (_dirty)
        {
            if (_writing is { } inFlight)
            {
                await inFlight;
                continue;
            }

            _dirty = false;
            S.UpdatedAt = time.GetUtcNow();
            _writing = state.WriteStateAsync();
            try
            {
                await _writing;
            }
            finally
            {
                _writing = null;
            }
        }

        await IndexAsync();
    }

    private async Task<ExpressionContext> ContextAsync(StepDefinition? step, CancellationToken cancellationToken)
    {
        var definition = await DefinitionAsync(cancellationToken);
        var inputs = Parsed(RunInputsKey, S.InputsJson);
        if (_secretInputs.Count > 0)
        {
            // The parsed inputs are cached and hold the masks that are stored; the context gets the values.
            inputs = new Dictionary<string, WorkflowValue>(inputs, StringComparer.Ordinal);
            foreach (var (name, value) in _secretInputs)
            {
                inputs[name] = value;
            }
        }

        var steps = new Dictionary<string, StepResult>(StringComparer.Ordinal);
        foreach (var (id, st) in S.Steps)
        {
            var outputs = Parsed(id, st.OutputsJson);
            steps[id] = new StepResult(
                st.Status switch
                {
                    StepStatuses.Succeeded => StepStatus.Succeeded,
                    StepStatuses.Failed when st.Continued => StepStatus.FailedAndContinued,
                    StepStatuses.Failed => StepStatus.Failed,
                    StepStatuses.Skipped => StepStatus.Skipped,
                    StepStatuses.Cancelled => StepStatus.Cancelled,
                    StepStatuses.Running or StepStatuses.Waiting => StepStatus.Running,
                    _ => StepStatus.Pending,
                },
                outputs);
        }

        var context = new ExpressionContext
        {
            RunId = _runId,
            WorkflowName = S.Workflow,
            Inputs = inputs,
            SecretInputs = _secretInputNames ??= definition.Inputs.Where(i => i.Value.Secret).Select(i => i.Key).ToHashSet(StringComparer.Ordinal),
            Secrets = Secrets,
            Steps = steps,
            IsCancelled = S.CancelRequested,
        };
        _secretRedactor ??= context.CreateRedactor();
        if (step is not null && StepTypes.Find(step.Uses)?.TargetsInstance == true && step.With.TryGetValue("instance", out var instanceValue))
        {
            var instanceId = TemplateRenderer.RenderValue(instanceValue, context).ToText();
            if (InstanceSpecRules.ValidateName(instanceId) is null
                && await GrainFactory.GetGrain<IInstanceGrain>(InstanceKey.Format(_tenant, instanceId)).GetAsync(cancellationToken) is { } snapshot)
            {
                context = context with
                {
                    Instance = new InstanceInfo(snapshot.Id, snapshot.Name, snapshot.Region, snapshot.PrivateIp, snapshot.Ips.FirstOrDefault(ip => ip != snapshot.PrivateIp)),
                };
            }
        }

        return context;
    }

    private async Task<WorkflowDefinition> DefinitionAsync(CancellationToken cancellationToken)
    {
        if (_definition is not null)
        {
            return _definition;
        }

        // A built-in run reads the template itself: the tenant's workflow of the same name has its own version 1.
        var version = S.BuiltIn
            ? WorkflowDefinitionGrain.BuiltInVersion(S.Workflow) ?? throw new WorkflowNotFoundException($"Built-in workflow '{S.Workflow}' is gone.")
            : await GrainFactory.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format(_tenant, S.Workflow)).GetAsync(S.Version, cancellationToken)
                ?? throw new WorkflowNotFoundException($"Workflow '{S.Workflow}' version {S.Version} is gone.");
        _definition = definitions.Get(version);
        _secrets = S.SecretsProtected is { } protectedSecrets
            ? JsonSerializer.Deserialize<Dictionary<string, string>>(secrets.Unprotect(protectedSecrets, Key))
            : new Dictionary<string, string>();
        _secretInputs = S.SecretInputsProtected is { } protectedInputs
            ? ParseInputs(Encoding.UTF8.GetString(secrets.Unprotect(protectedInputs, Key)))
            : [];
        return _definition;
    }

    /// <summary>
    /// The run's inputs or a step's outputs as values. Every step's context reads them all, so each JSON document is
    /// parsed once per activation and again only when it changes (values are immutable and so are shared).
    /// </summary>
    private Dictionary<string, WorkflowValue> Parsed(string key, string json)
    {
        if (_parsed.TryGetValue(key, out var known) && string.Equals(known.Json, json, StringComparison.Ordinal))
        {
            return known.Values;
        }

        var values = ParseInputs(json);
        _parsed[key] = (json, values);
        return values;
    }

    private static Dictionary<string, WorkflowValue> ParseInputs(string json)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(string.IsNullOrWhiteSpace(json) ? "{}" : json);
        }
        catch (JsonException ex)
        {
            throw new RunInputException("inputs", $"inputs is not valid JSON: {ex.Message}");
        }

        if (node is not JsonObject map)
        {
            throw new RunInputException("inputs", "inputs must be a JSON object");
        }

        return map.ToDictionary(p => p.Key, p => WorkflowValue.FromJsonNode(p.Value), StringComparer.Ordinal);
    }
}
