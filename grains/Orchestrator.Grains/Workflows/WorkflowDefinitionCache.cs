using System.Collections.Concurrent;
using Orchestrator.Workflows;

namespace Orchestrator.Grains.Workflows;

/// <summary>
/// Parsed definitions by the hash of their source. Versions never change, so every run of a version can share one
/// parse instead of reading the YAML again at each start and activation.
/// </summary>
internal sealed class WorkflowDefinitionCache
{
    // Bounded so that a silo serving many workflow versions keeps a working set, not all of them.
    private const int MaxEntries = 1024;

    private readonly ConcurrentDictionary<string, WorkflowDefinition> _definitions = new(StringComparer.Ordinal);

    public WorkflowDefinition Get(WorkflowVersionInfo version)
    {
        ArgumentNullException.ThrowIfNull(version);
        if (_definitions.TryGetValue(version.Sha256, out var cached))
        {
            return cached;
        }

        var source = version.Source ?? throw new InvalidOperationException($"Workflow '{version.Name}' version {version.Version} came without its source.");
        var result = WorkflowDefinitionReader.Read(source, WorkflowDefinitionReader.DetectFormat(source));
        var definition = result.Definition ?? throw WorkflowDefinitionGrain.Invalid(result.Errors);
        if (_definitions.Count >= MaxEntries)
        {
            _definitions.Clear();
        }

        _definitions[version.Sha256] = definition;
        return definition;
    }
}
