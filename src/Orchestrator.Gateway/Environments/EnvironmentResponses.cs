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

/// <summary>
/// <c>git status</c>: branch (null on a detached HEAD), head (null before the first commit), upstream with ahead and
/// behind (null without one), each path, and the paths in conflict.
/// </summary>
public sealed record GitStatusResponse(
    string? Branch,
    string? Head,
    bool Detached,
    string? Upstream,
    int? Ahead,
    int? Behind,
    bool Clean,
    IReadOnlyList<GitFileResponse> Files,
    IReadOnlyList<string> Conflicts)
{
    public static GitStatusResponse From(GitStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return new(status.Branch, status.Head, status.Detached, status.Upstream, status.Ahead, status.Behind, status.Clean,
            [.. status.Files.Select(static f => new GitFileResponse(f.Path, f.Kind, f.Index, f.Worktree, f.OriginalPath, f.Score))], status.Conflicts);
    }
}

/// <summary>
/// One path: kind is changed, renamed, copied, unmerged, untracked or ignored; index and worktree are unmodified,
/// modified, type_changed, added, deleted, renamed, copied, unmerged, untracked or ignored; original_path and score are
/// set for renames and copies.
/// </summary>
public sealed record GitFileResponse(string Path, string Kind, string Index, string Worktree, string? OriginalPath, int? Score);

/// <summary>The commits of <c>GET .../git/log</c>, newest first.</summary>
public sealed record GitLogResponse(IReadOnlyList<GitCommitResponse> Commits)
{
    public static GitLogResponse From(IReadOnlyList<GitCommit> commits) =>
        new([.. commits.Select(static c => new GitCommitResponse(
            c.Sha, c.Parents, new GitPersonResponse(c.Author.Name, c.Author.Email), c.AuthoredAt,
            new GitPersonResponse(c.Committer.Name, c.Committer.Email), c.CommittedAt, c.Subject, c.Body))]);
}

/// <summary>One commit; parents has two or more entries for a merge.</summary>
public sealed record GitCommitResponse(
    string Sha,
    IReadOnlyList<string> Parents,
    GitPersonResponse Author,
    DateTimeOffset AuthoredAt,
    GitPersonResponse Committer,
    DateTimeOffset CommittedAt,
    string Subject,
    string Body);

public sealed record GitPersonResponse(string Name, string Email);

/// <summary>The commit made, and the branch it is on (null on a detached HEAD).</summary>
public sealed record GitCommitResultResponse(string Sha, string? Branch);

/// <summary>What a push did: up_to_date when the remote already had head.</summary>
public sealed record GitPushResponse(string Remote, string Branch, string Head, bool UpToDate);

/// <summary>HEAD before and after a pull; updated when they differ.</summary>
public sealed record GitPullResponse(string? Before, string? After, bool Updated);
