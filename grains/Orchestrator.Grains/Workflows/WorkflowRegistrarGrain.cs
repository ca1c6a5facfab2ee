using Orchestrator.Grains.Instances;
using Orchestrator.Workflows;
using Orleans.Concurrency;

namespace Orchestrator.Grains.Workflows;

/// <summary>
/// Reads and validates a definition before any workflow grain is chosen: the definition grain's key needs the name the
/// text declares. Stateless, so reading large definitions runs on as many activations as registrations need.
/// </summary>
[StatelessWorker]
internal sealed class WorkflowRegistrarGrain : Grain, IWorkflowRegistrarGrain
{
    public async Task<WorkflowRegistration> RegisterAsync(string source, WorkflowSourceFormat format, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var read = WorkflowDefinitionReader.Read(source, format switch
        {
            WorkflowSourceFormat.Json => WorkflowFormat.Json,
            WorkflowSourceFormat.Yaml => WorkflowFormat.Yaml,
            _ => WorkflowDefinitionReader.DetectFormat(source),
        });
        if (!read.IsValid)
        {
            throw WorkflowDefinitionGrain.Invalid(read.Errors);
        }

        var name = read.Definition.Name;
        if (WorkflowNames.Validate(name) is { } nameProblem)
        {
            var at = read.SourceMap.Find("name");
            throw WorkflowDefinitionGrain.Invalid([new WorkflowError(WorkflowErrorCodes.InvalidName, "name", at.Line, at.Column, $"The API's workflow names {nameProblem}; '{name}' is not one.")]);
        }

        var grain = GrainFactory.GetGrain<IWorkflowDefinitionGrain>(InstanceKey.Format(this.GetPrimaryKeyString(), name));
        // Registering the latest version's source again returns that version: whether this call made a version is
        // whether the latest changed (a clock comparison would break under skew between silos).
        var before = await grain.GetAsync(version: null, cancellationToken);
        var info = await grain.RegisterAsync(source, cancellationToken);
        var created = before is null || before.Version != info.Version || before.BuiltIn != info.BuiltIn
            || !string.Equals(before.Sha256, info.Sha256, StringComparison.OrdinalIgnoreCase);
        return new WorkflowRegistration(info, created);
    }
}
