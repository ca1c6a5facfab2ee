using Orchestrator.Workflows.Reading;

namespace Orchestrator.Workflows;

/// <summary>
/// The outcome of reading a definition: the definition when there are no errors, otherwise every
/// error found (syntax, structure and meaning), in source order.
/// </summary>
public sealed record WorkflowReadResult(WorkflowDefinition? Definition, IReadOnlyList<WorkflowError> Errors, SourceMap SourceMap)
{
    [System.Diagnostics.CodeAnalysis.MemberNotNullWhen(true, nameof(Definition))]
    public bool IsValid => Definition is not null;
}

/// <summary>Reads YAML or JSON definitions into <see cref="WorkflowDefinition"/> records and validates them.</summary>
public static class WorkflowDefinitionReader
{
    /// <summary>Reads and validates; a definition is returned only when it has no errors at all.</summary>
    public static WorkflowReadResult Read(string text, WorkflowFormat format)
    {
        ArgumentNullException.ThrowIfNull(text);
        var errors = new ErrorSink();
        var map = new SourceMap();
        var root = format == WorkflowFormat.Json ? JsonDocReader.Read(text, errors) : YamlDocReader.Read(text, errors);
        if (root is null)
        {
            return new WorkflowReadResult(null, errors.Errors, map);
        }

        var definition = new DefinitionBinder(errors, map).Bind(root);
        var all = errors.Errors.Concat(WorkflowValidator.Validate(definition, map))
            .OrderBy(static e => e.Line)
            .ThenBy(static e => e.Column)
            .ToList();
        return new WorkflowReadResult(all.Count == 0 ? definition : null, all, map);
    }

    /// <summary>Guesses the format: JSON when the first non-blank character opens an object or array.</summary>
    public static WorkflowFormat DetectFormat(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var first = text.AsSpan().TrimStart();
        return first.Length > 0 && first[0] is '{' or '[' ? WorkflowFormat.Json : WorkflowFormat.Yaml;
    }
}
