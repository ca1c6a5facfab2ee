namespace Orchestrator.Workflows.Reading;

/// <summary>
/// The parsed document before binding: YAML and JSON both become this tree, so binding and every
/// location in an error are the same whichever format the author wrote.
/// </summary>
internal abstract class DocNode(SourceLocation location)
{
    public SourceLocation Location { get; } = location;

    public abstract string KindName { get; }
}

internal sealed class DocScalar(string text, WorkflowValue value, SourceLocation location) : DocNode(location)
{
    /// <summary>The text as written (for keys and messages).</summary>
    public string Text { get; } = text;

    public WorkflowValue Value { get; } = value;

    public override string KindName => Value.KindName;
}

internal sealed class DocMapping(IReadOnlyList<KeyValuePair<DocScalar, DocNode>> entries, SourceLocation location) : DocNode(location)
{
    public IReadOnlyList<KeyValuePair<DocScalar, DocNode>> Entries { get; } = entries;

    public override string KindName => "object";
}

internal sealed class DocSequence(IReadOnlyList<DocNode> items, SourceLocation location) : DocNode(location)
{
    public IReadOnlyList<DocNode> Items { get; } = items;

    public override string KindName => "list";
}

/// <summary>Collects the errors of one read, in the order found.</summary>
internal sealed class ErrorSink
{
    private readonly List<WorkflowError> _errors = [];

    public IReadOnlyList<WorkflowError> Errors => _errors;

    public void Add(string code, string path, SourceLocation location, string message) =>
        _errors.Add(new WorkflowError(code, path, location.Line, location.Column, message));
}
