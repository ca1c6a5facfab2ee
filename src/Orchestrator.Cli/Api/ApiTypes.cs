using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Cli.Api;

// The API's shapes as the CLI reads and prints them. Hand-written rather than generated, so they stay small and
// trimming-safe; Orchestrator.Cli.Tests checks every property here against the schemas of the live OpenAPI document
// (names and JSON types), so a change to the API that the document shows breaks that test, not users.

public sealed record Instance(
    string Id,
    string Name,
    string Region,
    InstanceSize Size,
    string? Image,
    string DesiredState,
    string State,
    string? MachineId,
    string? PrivateIp,
    string? VolumeId,
    string? VolumePath,
    int? VolumeSizeGb,
    IReadOnlyList<string> Ips,
    string SshPublicKey,
    string? HostKeyPinned,
    string? SshHostKeyFingerprint,
    InstanceError? LastError,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

public sealed record InstanceSize(string? Preset, int? Cpus, int? MemoryMb, string? CpuKind);

public sealed record InstanceError(string Code, string Message, DateTimeOffset At, string? FlyRequestId);

public sealed record InstanceList(IReadOnlyList<Instance> Items, string? NextCursor);

public sealed record InstanceEvent(long Sequence, DateTimeOffset At, string Kind, string Message, InstanceError? Error);

public sealed record InstanceEventList(IReadOnlyList<InstanceEvent> Items, string? NextCursor, long FirstSequence);

public sealed record CreateInstanceRequest(string Name, string Region, string Size, VolumeRequest? Volume, IReadOnlyDictionary<string, string>? Env);

public sealed record VolumeRequest(int SizeGb, string Path);

public sealed record ExecRequest(string Command, IReadOnlyDictionary<string, string>? Env, string? Cwd, double? TimeoutSeconds, string? StdinBase64);

/// <summary>One line of the exec NDJSON stream: output (stream with data or data_base64), the exit, or an error.</summary>
public sealed record ExecLine(
    string? Stream,
    string? Data,
    byte[]? DataBase64,
    int? ExitCode,
    string? Signal,
    bool? TimedOut,
    bool? Cancelled,
    long? DurationMs,
    long? StdoutBytes,
    long? StderrBytes,
    StreamError? Error);

public sealed record StreamError(string Type, string Title, string Detail);

public sealed record FileWritten(string Path, long SizeBytes, string Mode, string Sha256);

public sealed record Workflow(string Name, int LatestVersion, bool BuiltIn, string? Description, IReadOnlyList<WorkflowVersion> Versions);

public sealed record WorkflowVersion(string Name, int Version, string Sha256, DateTimeOffset CreatedAt, bool BuiltIn, string? Description, string? Source);

public sealed record WorkflowListItem(string Name, int LatestVersion, bool BuiltIn);

public sealed record WorkflowList(IReadOnlyList<WorkflowListItem> Items);

public sealed record WorkflowErrorItem(string Code, string Path, int Line, int Column, string Message);

public sealed record Run(
    string Id,
    string Workflow,
    int Version,
    string Status,
    JsonElement Inputs,
    JsonElement Outputs,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? EndedAt,
    long LastSequence,
    IReadOnlyList<RunStep> Steps);

public sealed record RunStep(string Id, string Uses, string Status, int Attempts, DateTimeOffset? StartedAt, DateTimeOffset? EndedAt, JsonElement Outputs, string? Error, bool InFinally);

public sealed record RunSummary(string Id, string Workflow, int Version, string Status, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record RunList(IReadOnlyList<RunSummary> Items, string? NextCursor);

public sealed record RunEvent(long Sequence, DateTimeOffset At, string Kind, string? StepId, int Attempt, JsonElement Data);

public sealed record StartRunRequest(string Workflow, IReadOnlyDictionary<string, JsonElement>? Inputs, IReadOnlyDictionary<string, string>? Secrets, string? IdempotencyKey);

public sealed record StepOutput(string StepId, int Attempt, string Stdout, string Stderr);

public sealed record Tenant(string Id, string DisplayName, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, int Revision, Quotas Quotas);

public sealed record TenantSummary(string Id, string DisplayName, DateTimeOffset CreatedAt);

public sealed record TenantList(IReadOnlyList<TenantSummary> Items, string? NextCursor);

public sealed record Quotas(int? MaxInstances, int? MaxConcurrentRuns, int? MaxRunDepth);

public sealed record CreateTenantRequest(string Id, string? DisplayName);

public sealed record ApiKey(string Id, string Name, string Prefix, string Status, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt);

public sealed record ApiKeyList(IReadOnlyList<ApiKey> Items);

public sealed record CreatedApiKey(string Id, string Name, string Prefix, string Status, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, string Key);

public sealed record CreateKeyRequest(string? Name, int? ExpiresInDays);

/// <summary><c>GET /api/version</c>.</summary>
public sealed record VersionInfo(string Version, string ClusterId, string ServiceId, int SiloCount);

public sealed record Secret(string Name, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

public sealed record SecretList(IReadOnlyList<Secret> Items);

public sealed record SecretValue(string Value);

public sealed record ResizeRequest(string Size);

public sealed record ExtendVolumeRequest(int SizeGb);

public sealed record Session(
    string Id,
    string Name,
    string Status,
    string? Command,
    string? Cwd,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastActivityAt,
    int Attached,
    int? ExitCode,
    string? EndedReason,
    DateTimeOffset? EndedAt);

public sealed record SessionList(IReadOnlyList<Session> Items);

public sealed record CreateSessionRequest(string? Name, string? Command, string? Cwd, IReadOnlyDictionary<string, string>? Env, int? Cols, int? Rows);

public sealed record RenameSessionRequest(string Name);

public sealed record SessionInputRequest(string? Text, IReadOnlyList<string>? Keys);

public sealed record DevEnvironment(
    string Id,
    string Name,
    string RepoUrl,
    string? Branch,
    string Region,
    string Size,
    int? VolumeSizeGb,
    string? VolumeId,
    string? SetupCommand,
    IReadOnlyDictionary<string, string> Env,
    string? GitCredentialsSecret,
    string Status,
    string RunId,
    string InstanceId,
    string? InstanceState,
    string Path,
    string? Commit,
    string? Error,
    IReadOnlyList<string> Sessions,
    DateTimeOffset CreatedAt);

public sealed record DevEnvironmentList(IReadOnlyList<DevEnvironment> Items);

public sealed record CreateEnvironmentRequest(
    string Name,
    string RepoUrl,
    string Region,
    string Size,
    string? Branch,
    EnvironmentVolumeRequest? Volume,
    string? SetupCommand,
    IReadOnlyDictionary<string, string>? Env,
    string? GitCredentialsSecret);

public sealed record EnvironmentVolumeRequest(int SizeGb);

public sealed record GitStatus(
    string? Branch,
    string? Head,
    bool Detached,
    string? Upstream,
    int? Ahead,
    int? Behind,
    bool Clean,
    IReadOnlyList<GitFile> Files,
    IReadOnlyList<string> Conflicts);

public sealed record GitFile(string Path, string Kind, string Index, string Worktree, string? OriginalPath, int? Score);

public sealed record GitLog(IReadOnlyList<GitCommit> Commits);

public sealed record GitCommit(
    string Sha,
    IReadOnlyList<string> Parents,
    GitPerson Author,
    DateTimeOffset AuthoredAt,
    GitPerson Committer,
    DateTimeOffset CommittedAt,
    string Subject,
    string Body);

public sealed record GitPerson(string Name, string Email);

public sealed record GitCommitRequest(string Message, IReadOnlyList<string>? Paths, bool? All, GitPerson? Author);

public sealed record GitCommitResult(string Sha, string? Branch);

public sealed record GitPushRequest(string? Remote, string? Branch, bool? SetUpstream);

public sealed record GitPushResult(string Remote, string Branch, string Head, bool UpToDate);

public sealed record GitPullResult(string? Before, string? After, bool Updated);

public sealed record GitCheckoutRequest(string Branch, bool? Create);

/// <summary>An RFC 9457 problem with the members the API adds.</summary>
public sealed record Problem(
    string? Type,
    string? Title,
    int? Status,
    string? Detail,
    string? Field,
    string? RequestId,
    IReadOnlyList<WorkflowErrorItem>? Errors);

/// <summary>What <c>orch workflows validate</c> prints as JSON.</summary>
public sealed record ValidationReport(string File, bool Valid, IReadOnlyList<WorkflowErrorItem> Errors);

/// <summary>What <c>orch cp</c> prints as JSON.</summary>
public sealed record CopyReport(string Source, string Destination, long Bytes, string? Sha256);

/// <summary>What <c>orch context list</c> prints as JSON.</summary>
public sealed record ContextView(string Name, string Url, bool Current);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    WriteIndented = false)]
[JsonSerializable(typeof(Instance))]
[JsonSerializable(typeof(InstanceList))]
[JsonSerializable(typeof(InstanceEventList))]
[JsonSerializable(typeof(InstanceEvent))]
[JsonSerializable(typeof(CreateInstanceRequest))]
[JsonSerializable(typeof(ExecRequest))]
[JsonSerializable(typeof(ExecLine))]
[JsonSerializable(typeof(FileWritten))]
[JsonSerializable(typeof(Workflow))]
[JsonSerializable(typeof(WorkflowVersion))]
[JsonSerializable(typeof(WorkflowList))]
[JsonSerializable(typeof(Run))]
[JsonSerializable(typeof(RunList))]
[JsonSerializable(typeof(RunEvent))]
[JsonSerializable(typeof(StartRunRequest))]
[JsonSerializable(typeof(StepOutput))]
[JsonSerializable(typeof(Tenant))]
[JsonSerializable(typeof(TenantList))]
[JsonSerializable(typeof(Quotas))]
[JsonSerializable(typeof(CreateTenantRequest))]
[JsonSerializable(typeof(ApiKeyList))]
[JsonSerializable(typeof(CreatedApiKey))]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(VersionInfo))]
[JsonSerializable(typeof(Secret))]
[JsonSerializable(typeof(SecretList))]
[JsonSerializable(typeof(SecretValue))]
[JsonSerializable(typeof(ResizeRequest))]
[JsonSerializable(typeof(ExtendVolumeRequest))]
[JsonSerializable(typeof(Session))]
[JsonSerializable(typeof(SessionList))]
[JsonSerializable(typeof(CreateSessionRequest))]
[JsonSerializable(typeof(RenameSessionRequest))]
[JsonSerializable(typeof(SessionInputRequest))]
[JsonSerializable(typeof(DevEnvironment))]
[JsonSerializable(typeof(DevEnvironmentList))]
[JsonSerializable(typeof(CreateEnvironmentRequest))]
[JsonSerializable(typeof(GitStatus))]
[JsonSerializable(typeof(GitLog))]
[JsonSerializable(typeof(GitCommitRequest))]
[JsonSerializable(typeof(GitCommitResult))]
[JsonSerializable(typeof(GitPushRequest))]
[JsonSerializable(typeof(GitPushResult))]
[JsonSerializable(typeof(GitPullResult))]
[JsonSerializable(typeof(GitCheckoutRequest))]
[JsonSerializable(typeof(Problem))]
[JsonSerializable(typeof(ValidationReport))]
[JsonSerializable(typeof(CopyReport))]
[JsonSerializable(typeof(IReadOnlyList<ContextView>))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(Dictionary<string, JsonElement>))]
internal sealed partial class ApiJson : JsonSerializerContext;
