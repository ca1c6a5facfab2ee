namespace Orchestrator.Workflows;

/// <summary>The workflows shipped with the orchestrator, embedded as YAML resources.</summary>
public static class BuiltInWorkflows
{
    public const string UbuntuBox = "ubuntu-box";
    public const string RepoPreview = "repo-preview";
    public const string CodeServer = "code-server";
    public const string Environment = "environment";

    public static ValueList<string> Names { get; } = new([UbuntuBox, RepoPreview, CodeServer, Environment]);

    /// <summary>The YAML source of a built-in workflow.</summary>
    /// <exception cref="KeyNotFoundException">No built-in workflow has this name.</exception>
    public static string GetYaml(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!Names.Contains(name))
        {
            throw new KeyNotFoundException($"There is no built-in workflow '{name}'; the built-ins are {string.Join(", ", Names)}.");
        }

        using var stream = typeof(BuiltInWorkflows).Assembly.GetManifestResourceStream($"Orchestrator.Workflows.Templates.{name}.yaml")
            ?? throw new InvalidOperationException($"The resource of built-in workflow '{name}' is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>A built-in workflow, read and validated.</summary>
    /// <exception cref="InvalidOperationException">The embedded definition is invalid (a packaging bug; tests guard against it).</exception>
    public static WorkflowDefinition Get(string name)
    {
        var result = WorkflowDefinitionReader.Read(GetYaml(name), WorkflowFormat.Yaml);
        return result.Definition
            ?? throw new InvalidOperationException($"Built-in workflow '{name}' is invalid: {string.Join("; ", result.Errors)}");
    }
}
