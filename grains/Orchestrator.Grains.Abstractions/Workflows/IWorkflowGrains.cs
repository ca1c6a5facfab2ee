using Orleans.Concurrency;

namespace Orchestrator.Grains.Workflows;

/// <summary>
/// One workflow of a tenant, keyed <c>{tenant}/{name}</c>: its immutable, numbered versions. The built-in
/// templates exist for every tenant as version 1 until the tenant registers its own versions of that name.
/// </summary>
[Alias("orchestrator.IWorkflowDefinitionGrain")]
public interface IWorkflowDefinitionGrain : IGrainWithStringKey
{
    /// <summary>
    /// Validates <paramref name="source"/> and stores it as the next version, unless it is identical to the latest
    /// version, which is returned instead (so registering is safe to repeat).
    /// </summary>
    /// <exception cref="WorkflowInvalidException">The definition has errors; all of them are listed, located.</exception>
    [Alias("Register")]
    Task<WorkflowVersionInfo> RegisterAsync(string source, CancellationToken cancellationToken = default);

    /// <summary>One version (the latest when <paramref name="version"/> is null), or null when there is none.</summary>
    [Alias("Get"), AlwaysInterleave]
    Task<WorkflowVersionInfo?> GetAsync(int? version = null, CancellationToken cancellationToken = default);

    /// <summary>Every version, oldest first, without their sources.</summary>
    [Alias("List"), AlwaysInterleave]
    Task<IReadOnlyList<WorkflowVersionInfo>> ListVersionsAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// Where a tenant (the key) registers workflow definitions: takes the source text as a client sent it, reads and
/// validates it (the definition language's rules and the API's workflow names, every error located), then stores it as
/// the next version of the workflow it names. The HTTP API registers through it, so an Orleans client gets the same checks.
/// </summary>
[Alias("orchestrator.IWorkflowRegistrarGrain")]
public interface IWorkflowRegistrarGrain : IGrainWithStringKey
{
    /// <summary>
    /// Registers <paramref name="source"/> (YAML or JSON as <paramref name="format"/> says, or detected from the text)
    /// under the name it declares. Registering the latest version's source again makes no version: the answer is that
    /// version with <see cref="WorkflowRegistration.Created"/> false.
    /// </summary>
    /// <exception cref="WorkflowInvalidException">The definition has errors, or a name the API cannot address; all are listed, located.</exception>
    [Alias("Register")]
    Task<WorkflowRegistration> RegisterAsync(string source, WorkflowSourceFormat format = WorkflowSourceFormat.Detect, CancellationToken cancellationToken = default);
}

/// <summary>How a definition's text is read.</summary>
[GenerateSerializer, Alias("orchestrator.WorkflowSourceFormat")]
public enum WorkflowSourceFormat
{
    /// <summary>JSON when the first non-blank character opens an object or array, YAML otherwise.</summary>
    Detect = 0,
    Json = 1,
    Yaml = 2,
}

/// <summary>The version a registration stored or found; <c>Created</c> is false when the source was the latest version's.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.WorkflowRegistration")]
public sealed record WorkflowRegistration(
    [property: Id(0)] WorkflowVersionInfo Version,
    [property: Id(1)] bool Created);

/// <summary>The names of a tenant's workflows, keyed by tenant; kept by the definition grains as versions are registered.</summary>
[Alias("orchestrator.IWorkflowCatalogGrain")]
public interface IWorkflowCatalogGrain : IGrainWithStringKey
{
    /// <summary>The tenant's workflows and the built-in ones, by name.</summary>
    [Alias("List"), AlwaysInterleave]
    Task<IReadOnlyList<WorkflowListItem>> ListAsync(CancellationToken cancellationToken = default);
}

/// <summary>A stored version; <c>Source</c> is the definition as registered (null in listings), <c>Sha256</c> the hex hash of it.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.WorkflowVersionInfo")]
public sealed record WorkflowVersionInfo(
    [property: Id(0)] string Name,
    [property: Id(1)] int Version,
    [property: Id(2)] string? Source,
    [property: Id(3)] string Sha256,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] bool BuiltIn,
    [property: Id(6)] string? Description);

[GenerateSerializer, Immutable, Alias("orchestrator.WorkflowListItem")]
public sealed record WorkflowListItem(
    [property: Id(0)] string Name,
    [property: Id(1)] int LatestVersion,
    [property: Id(2)] bool BuiltIn);

/// <summary>One problem with a definition, located (1-based line and column, and the field's path).</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.WorkflowProblem")]
public sealed record WorkflowProblem(
    [property: Id(0)] string Code,
    [property: Id(1)] string Path,
    [property: Id(2)] int Line,
    [property: Id(3)] int Column,
    [property: Id(4)] string Message);

/// <summary>The definition is invalid; <see cref="Problems"/> lists every error.</summary>
[GenerateSerializer, Alias("orchestrator.WorkflowInvalidException")]
public sealed class WorkflowInvalidException : Exception
{
    public WorkflowInvalidException()
    {
    }

    public WorkflowInvalidException(string message)
        : base(message)
    {
    }

    public WorkflowInvalidException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public WorkflowInvalidException(string message, IReadOnlyList<WorkflowProblem> problems)
        : base(message) => Problems = problems;

    [Id(0)]
    public IReadOnlyList<WorkflowProblem> Problems { get; init; } = [];
}

/// <summary>The workflow or version a run asked for does not exist.</summary>
[GenerateSerializer, Alias("orchestrator.WorkflowNotFoundException")]
public sealed class WorkflowNotFoundException : Exception
{
    public WorkflowNotFoundException()
    {
    }

    public WorkflowNotFoundException(string message)
        : base(message)
    {
    }

    public WorkflowNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
