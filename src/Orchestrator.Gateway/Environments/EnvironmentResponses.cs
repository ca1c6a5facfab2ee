using Orchestrator.Grains.Environments;

namespace Orchestrator.Gateway.Environments;

/// <summary>
/// An environment as the API answers it (snake_case on the wire): status is creating, ready or failed;
/// git_credentials_secret is the name of the tenant secret used for https remotes, never its value.
/// </summary>
public sealed record EnvironmentResponse(
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
    DateTimeOffset CreatedAt)
{
    public static EnvironmentResponse From(EnvironmentView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var spec = view.Spec;
        return new(
            view.Id,
            spec.Name,
            spec.RepoUrl,
            view.Branch ?? spec.Branch,
            spec.Region,
            spec.Size,
            spec.VolumeSizeGb,
            spec.VolumeId,
            spec.SetupCommand,
            spec.Env ?? new Dictionary<string, string>(),
            spec.GitCredentialsSecret,
            view.Status,
            view.RunId,
            view.InstanceId,
            view.InstanceState,
            view.Path,
            view.Commit,
            view.Error,
            view.Sessions,
            view.CreatedAt);
    }
}

public sealed record EnvironmentListResponse(IReadOnlyList<EnvironmentResponse> Items);

/// <summary>The commits of <c>GET .../git/log</c>, newest first.</summary>
public sealed record GitLogResponse(IReadOnlyList<GitCommit> Commits);
