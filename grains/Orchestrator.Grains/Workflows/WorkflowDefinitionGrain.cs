using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Instances;
using Orchestrator.Workflows;

namespace Orchestrator.Grains.Workflows;

[GenerateSerializer, Alias("orchestrator.WorkflowDefinitionState")]
public sealed class WorkflowDefinitionState
{
    [Id(0)] public List<WorkflowVersionRecord> Versions { get; set; } = [];
}

[GenerateSerializer, Alias("orchestrator.WorkflowVersionRecord")]
public sealed class WorkflowVersionRecord
{
    [Id(0)] public int Version { get; set; }
    [Id(1)] public string Source { get; set; } = "";
    [Id(2)] public string Sha256 { get; set; } = "";
    [Id(3)] public DateTimeOffset CreatedAt { get; set; }
    [Id(4)] public string? Description { get; set; }
}

/// <summary>
/// A tenant's workflow of one name: immutable numbered versions, so a run always knows exactly what it runs.
/// A built-in template shows as version 1 until the tenant registers a version of its own under that name.
/// </summary>
internal sealed partial class WorkflowDefinitionGrain(
    [PersistentState("workflow", StorageNames.Orchestrator)] IPersistentState<WorkflowDefinitionState> state,
    TimeProvider time,
    ILogger<WorkflowDefinitionGrain> logger) : Grain, IWorkflowDefinitionGrain
{
    private string _tenant = "";
    private string _name = "";

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        (_tenant, _name) = InstanceKey.Parse(this.GetPrimaryKeyString());
        return Task.CompletedTask;
    }

    public async Task<WorkflowVersionInfo> RegisterAsync(string source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var result = WorkflowDefinitionReader.Read(source, WorkflowDefinitionReader.DetectFormat(source));
        if (!result.IsValid)
        {
            throw Invalid(result.Errors);
        }

        if (result.Definition.Name != _name)
        {
            throw new WorkflowInvalidException(
                $"The definition is named '{result.Definition.Name}', not '{_name}'.",
                [new WorkflowProblem(WorkflowErrorCodes.InvalidName, "name", 0, 0, $"The definition is named '{result.Definition.Name}', not '{_name}'.")]);
        }

        var hash = Hash(source);
        var versions = state.State.Versions;
        if (versions.Count > 0 && versions[^1].Sha256 == hash)
        {
            return Info(versions[^1], withSource: false);
        }

        var record = new WorkflowVersionRecord
        {
            Version = versions.Count + 1,
            Source = source,
            Sha256 = hash,
            CreatedAt = time.GetUtcNow(),
            Description = result.Definition.Description,
        };
        versions.Add(record);
        await state.WriteStateAsync(cancellationToken);
        await GrainFactory.GetGrain<IWorkflowCatalogWriterGrain>(_tenant).AddAsync(_name, record.Version, cancellationToken);
        LogRegistered(_tenant, _name, record.Version);
        return Info(record, withSource: false);
    }

    public Task<WorkflowVersionInfo?> GetAsync(int? version, CancellationToken cancellationToken)
    {
        var versions = Versions();
        var record = version is { } wanted ? versions.FirstOrDefault(v => v.Version == wanted) : versions.LastOrDefault();
        return Task.FromResult(record is null ? null : Info(record, withSource: true));
    }

    public Task<IReadOnlyList<WorkflowVersionInfo>> ListVersionsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<WorkflowVersionInfo>>([.. Versions().Select(v => Info(v, withSource: false))]);

    internal static WorkflowInvalidException Invalid(IReadOnlyList<WorkflowError> errors) =>
        new(
            $"The workflow definition has {errors.Count} error(s): {string.Join("; ", errors.Take(5))}",
            [.. errors.Select(e => new WorkflowProblem(e.Code, e.Path, e.Line, e.Column, e.Message))]);

    /// <summary>The built-in template <paramref name="name"/> as its one version, or null when there is no such built-in.</summary>
    internal static WorkflowVersionInfo? BuiltInVersion(string name) =>
        BuiltInRecord(name) is { } record
            ? new(name, record.Version, record.Source, record.Sha256, record.CreatedAt, BuiltIn: true, record.Description)
            : null;

    private List<WorkflowVersionRecord> Versions()
    {
        if (state.State.Versions.Count > 0 || BuiltInRecord(_name) is not { } builtIn)
        {
            return state.State.Versions;
        }

        return [builtIn];
    }

    private static WorkflowVersionRecord? BuiltInRecord(string name)
    {
        if (!BuiltInWorkflows.Names.Contains(name))
        {
            return null;
        }

        var source = BuiltInWorkflows.GetYaml(name);
        return new WorkflowVersionRecord
        {
            Version = 1,
            Source = source,
            Sha256 = Hash(source),
            CreatedAt = DateTimeOffset.UnixEpoch,
            Description = BuiltInWorkflows.Get(name).Description,
        };
    }

    private WorkflowVersionInfo Info(WorkflowVersionRecord record, bool withSource) =>
        new(_name, record.Version, withSource ? record.Source : null, record.Sha256, record.CreatedAt, state.State.Versions.Count == 0, record.Description);

    private static string Hash(string source) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(source)));

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}: workflow {Workflow} version {Version} registered")]
    private partial void LogRegistered(string tenant, string workflow, int version);
}

[GenerateSerializer, Alias("orchestrator.WorkflowCatalogState")]
public sealed class WorkflowCatalogState
{
    [Id(0)] public Dictionary<string, int> Latest { get; set; } = [];
}

/// <summary>The names of a tenant's workflows, so listing does not have to find every definition grain.</summary>
internal sealed class WorkflowCatalogGrain(
    [PersistentState("catalog", StorageNames.Orchestrator)] IPersistentState<WorkflowCatalogState> state) : Grain, IWorkflowCatalogGrain, IWorkflowCatalogWriterGrain
{
    public async Task AddAsync(string name, int latestVersion, CancellationToken cancellationToken)
    {
        if (state.State.Latest.TryGetValue(name, out var known) && known >= latestVersion)
        {
            return;
        }

        state.State.Latest[name] = latestVersion;
        await state.WriteStateAsync(cancellationToken);
    }

    public Task<IReadOnlyList<WorkflowListItem>> ListAsync(CancellationToken cancellationToken)
    {
        var items = state.State.Latest.Select(p => new WorkflowListItem(p.Key, p.Value, BuiltIn: false))
            .Concat(BuiltInWorkflows.Names.Where(n => !state.State.Latest.ContainsKey(n)).Select(n => new WorkflowListItem(n, 1, BuiltIn: true)))
            .OrderBy(i => i.Name, StringComparer.Ordinal)
            .ToList();
        return Task.FromResult<IReadOnlyList<WorkflowListItem>>(items);
    }
}

/// <summary>Silo-internal: definition grains record a tenant's workflow names; an Orleans client cannot add names.</summary>
[Alias("orchestrator.IWorkflowCatalogWriterGrain")]
internal interface IWorkflowCatalogWriterGrain : IGrainWithStringKey
{
    [Alias("Add")]
    Task AddAsync(string name, int latestVersion, CancellationToken cancellationToken = default);
}
