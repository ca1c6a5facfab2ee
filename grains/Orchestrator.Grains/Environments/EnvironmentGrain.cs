using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Runs;
using Orchestrator.Grains.Sessions;
using Orchestrator.Workflows;

namespace Orchestrator.Grains.Environments;

[GenerateSerializer, Alias("orchestrator.EnvironmentState")]
public sealed class EnvironmentState
{
    [Id(0)] public EnvironmentSpec? Spec { get; set; }
    [Id(1)] public string RunId { get; set; } = "";
    [Id(2)] public DateTimeOffset CreatedAt { get; set; }

    /// <summary>True once the run succeeded: git calls stop asking the run.</summary>
    [Id(3)] public bool Ready { get; set; }

    /// <summary>The checkout's branch as last seen.</summary>
    [Id(4)] public string? Branch { get; set; }
}

/// <summary>
/// An environment: its spec and run, and git on its checkout. Its instance is named by its id, so the run's create step
/// and a later delete reach the same instance. Git calls are not interleaved: they share the checkout's index.
/// </summary>
internal sealed partial class EnvironmentGrain(
    [PersistentState("environment", StorageNames.Orchestrator)] IPersistentState<EnvironmentState> state,
    TimeProvider time,
    ILogger<EnvironmentGrain> logger) : Grain, IEnvironmentGrain
{
    /// <summary>Git calls that reach a remote must end inside the 30 s grain-call timeout.</summary>
    private static readonly TimeSpan s_remoteTimeout = TimeSpan.FromSeconds(25);

    private static readonly TimeSpan s_localTimeout = TimeSpan.FromSeconds(20);

    /// <summary>The largest diff an answer carries.</summary>
    internal const int MaxDiffBytes = 1024 * 1024;

    private string Tenant => InstanceKey.Parse(this.GetPrimaryKeyString()).Tenant;

    private string Id => InstanceKey.Parse(this.GetPrimaryKeyString()).InstanceId;

    public async Task<EnvironmentView> CreateAsync(EnvironmentSpec spec, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (state.State.Spec is { } existing)
        {
            return existing.Equals(spec)
                ? await ViewAsync(cancellationToken)
                : throw new EnvironmentConflictException($"Environment '{Id}' exists with another spec.");
        }

        state.State.Spec = spec;
        state.State.RunId = RunIds.For(Tenant, "environment/" + Id);
        state.State.CreatedAt = time.GetUtcNow();
        state.State.Branch = spec.Branch;
        // Recorded before the run starts: a failure in between leaves an environment that a repeated create or a delete finishes.
        await state.WriteStateAsync(cancellationToken);
        await GrainFactory.GetGrain<IEnvironmentIndexWriterGrain>(Tenant).AddAsync(Id, cancellationToken);
        await Run().StartAsync(new RunStartRequest(BuiltInWorkflows.Environment, null, Inputs(spec)), cancellationToken);
        LogCreated(Tenant, Id, state.State.RunId);
        return await ViewAsync(cancellationToken);
    }

    public async Task<EnvironmentView?> GetAsync(CancellationToken cancellationToken) =>
        state.State.Spec is null ? null : await ViewAsync(cancellationToken);

    public async Task DeleteAsync(bool keepVolume, CancellationToken cancellationToken)
    {
        _ = RequireSpec();
        // The instance first, with the volume as asked: a run cancelled after it finds it destroyed, so its cleanup
        // (which keeps only a volume the environment was given) has nothing left to decide.
        var instance = GrainFactory.GetGrain<IInstanceGrain>(InstanceKey.Format(Tenant, Id));
        if (await instance.GetAsync(cancellationToken) is { } snapshot && snapshot.DesiredState != InstanceStates.Destroyed)
        {
            await instance.DestroyAsync(keepVolume, cancellationToken);
        }

        if (await Run().GetAsync(cancellationToken) is { } run && !RunStatuses.IsTerminal(run.Status))
        {
            await Run().CancelAsync(cancellationToken);
        }

        await GrainFactory.GetGrain<IEnvironmentIndexWriterGrain>(Tenant).RemoveAsync(Id, cancellationToken);
        await state.ClearStateAsync(cancellationToken);
        LogDeleted(Tenant, Id, keepVolume);
    }

    private IWorkflowRunGrain Run() => GrainFactory.GetGrain<IWorkflowRunGrain>(InstanceKey.Format(Tenant, state.State.RunId));

    private EnvironmentSpec RequireSpec() =>
        state.State.Spec ?? throw new EnvironmentNotFoundException($"There is no environment '{Id}'.");

    private async Task<EnvironmentView> ViewAsync(CancellationToken cancellationToken)
    {
        var spec = RequireSpec();
        var run = await Run().GetAsync(cancellationToken);
        var status = run?.Status switch
        {
            RunStatuses.Succeeded => EnvironmentStatuses.Ready,
            RunStatuses.Failed or RunStatuses.Cancelled => EnvironmentStatuses.Failed,
            _ => EnvironmentStatuses.Creating,
        };
        string? commit = null;
        if (run is not null && JsonNode.Parse(run.OutputsJson) is JsonObject outputs)
        {
            commit = outputs["commit"]?.GetValueKind() == JsonValueKind.String ? outputs["commit"]!.GetValue<string>() : null;
            if (!state.State.Ready && status == EnvironmentStatuses.Ready)
            {
                state.State.Ready = true;
                state.State.Branch = outputs["branch"]?.GetValueKind() == JsonValueKind.String ? outputs["branch"]!.GetValue<string>() : state.State.Branch;
                await state.WriteStateAsync(cancellationToken);
            }
        }

        var instance = await GrainFactory.GetGrain<IInstanceGrain>(InstanceKey.Format(Tenant, Id)).GetAsync(cancellationToken);
        var sessionIds = instance is { ObservedState: InstanceStates.Started }
            ? await GrainFactory.GetGrain<ITerminalSessionListGrain>(InstanceKey.Format(Tenant, Id)).ListAsync()
            : [];
        return new EnvironmentView(
            Id,
            spec,
            status,
            state.State.RunId,
            Id,
            instance?.ObservedState,
            EnvironmentRules.CheckoutPath(spec.Name),
            state.State.Branch,
            commit,
            status == EnvironmentStatuses.Failed ? run?.Error ?? "the run was cancelled" : null,
            sessionIds,
            state.State.CreatedAt);
    }

    /// <summary>The run's inputs; the volume is mounted at /workspace, where checkouts live.</summary>
    private string Inputs(EnvironmentSpec spec)
    {
        var inputs = new JsonObject
        {
            ["name"] = spec.Name,
            ["instance"] = Id,
            ["repo_url"] = spec.RepoUrl,
            ["region"] = spec.Region,
            ["size"] = spec.Size,
            ["env"] = new JsonObject([.. (spec.Env ?? new Dictionary<string, string>()).Select(e => KeyValuePair.Create(e.Key, (JsonNode?)JsonValue.Create(e.Value)))]),
            ["setup_command"] = spec.SetupCommand ?? "",
            ["keep_volume"] = spec.VolumeId is not null,
        };
        if (spec.Branch is not null)
        {
            inputs["branch"] = spec.Branch;
        }

        if (spec.GitCredentialsSecret is not null)
        {
            inputs["git_credentials_secret"] = spec.GitCredentialsSecret;
        }

        if (spec.VolumeId is not null)
        {
            inputs["volume"] = new JsonObject { ["id"] = spec.VolumeId, ["path"] = EnvironmentRules.WorkspaceRoot };
        }
        else if (spec.VolumeSizeGb is { } sizeGb)
        {
            inputs["volume"] = new JsonObject { ["size_gb"] = sizeGb, ["path"] = EnvironmentRules.WorkspaceRoot };
        }

        return inputs.ToJsonString();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}: environment {Environment} created; run {RunId} makes it")]
    private partial void LogCreated(string tenant, string environment, string runId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Tenant {Tenant}: environment {Environment} deleted (volume kept: {KeepVolume})")]
    private partial void LogDeleted(string tenant, string environment, bool keepVolume);
}
