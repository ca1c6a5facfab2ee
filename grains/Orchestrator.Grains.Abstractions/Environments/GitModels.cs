namespace Orchestrator.Grains.Environments;

/// <summary>
/// <c>git status --porcelain=v2 --branch</c>, parsed. <see cref="Branch"/> is null on a detached HEAD,
/// <see cref="Head"/> before the first commit; <see cref="Ahead"/>/<see cref="Behind"/> are null without an upstream.
/// </summary>
[GenerateSerializer, Immutable, Alias("orchestrator.GitStatus")]
public sealed record GitStatus(
    [property: Id(0)] string? Branch,
    [property: Id(1)] string? Head,
    [property: Id(2)] bool Detached,
    [property: Id(3)] string? Upstream,
    [property: Id(4)] int? Ahead,
    [property: Id(5)] int? Behind,
    [property: Id(6)] IReadOnlyList<GitFileStatus> Files,
    [property: Id(7)] IReadOnlyList<string> Conflicts)
{
    /// <summary>Nothing staged, changed, untracked or in conflict.</summary>
    public bool Clean => Files.Count == 0;
}

/// <summary>
/// One path of a status. <see cref="Kind"/> is one of <see cref="GitFileKinds"/>; <see cref="Index"/> and
/// <see cref="Worktree"/> are one of <see cref="GitChangeStates"/>; <see cref="OriginalPath"/> is set for renames and copies.
/// </summary>
[GenerateSerializer, Immutable, Alias("orchestrator.GitFileStatus")]
public sealed record GitFileStatus(
    [property: Id(0)] string Path,
    [property: Id(1)] string Kind,
    [property: Id(2)] string Index,
    [property: Id(3)] string Worktree,
    [property: Id(4)] string? OriginalPath = null,
    [property: Id(5)] int? Score = null);

public static class GitFileKinds
{
    public const string Changed = "changed";
    public const string Renamed = "renamed";
    public const string Copied = "copied";
    public const string Unmerged = "unmerged";
    public const string Untracked = "untracked";
    public const string Ignored = "ignored";
}

/// <summary>The words for git's status letters (<c>.</c>, <c>M</c>, <c>T</c>, <c>A</c>, <c>D</c>, <c>R</c>, <c>C</c>, <c>U</c>, <c>?</c>, <c>!</c>).</summary>
public static class GitChangeStates
{
    public const string Unmodified = "unmodified";
    public const string Modified = "modified";
    public const string TypeChanged = "type_changed";
    public const string Added = "added";
    public const string Deleted = "deleted";
    public const string Renamed = "renamed";
    public const string Copied = "copied";
    public const string Unmerged = "unmerged";
    public const string Untracked = "untracked";
    public const string Ignored = "ignored";
}

/// <summary>One commit of <c>git log</c>; <see cref="Parents"/> has two or more entries for a merge.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.GitCommit")]
public sealed record GitCommit(
    [property: Id(0)] string Sha,
    [property: Id(1)] IReadOnlyList<string> Parents,
    [property: Id(2)] GitPerson Author,
    [property: Id(3)] DateTimeOffset AuthoredAt,
    [property: Id(4)] GitPerson Committer,
    [property: Id(5)] DateTimeOffset CommittedAt,
    [property: Id(6)] string Subject,
    [property: Id(7)] string Body);

[GenerateSerializer, Immutable, Alias("orchestrator.GitPerson")]
public sealed record GitPerson([property: Id(0)] string Name, [property: Id(1)] string Email);

/// <summary>A unified diff; <see cref="Truncated"/> when it was longer than an answer carries.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.GitDiff")]
public sealed record GitDiff([property: Id(0)] string Text, [property: Id(1)] bool Truncated);

/// <summary>What to commit: the given paths, or every change (<see cref="All"/>), or else what is staged.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.GitCommitRequest")]
public sealed record GitCommitRequest(
    [property: Id(0)] string Message,
    [property: Id(1)] IReadOnlyList<string>? Paths,
    [property: Id(2)] bool All,
    [property: Id(3)] GitPerson? Author);

[GenerateSerializer, Immutable, Alias("orchestrator.GitCommitResult")]
public sealed record GitCommitResult([property: Id(0)] string Sha, [property: Id(1)] string? Branch);

/// <summary>Push <see cref="Branch"/> (the current one when null) to <see cref="Remote"/> (<c>origin</c> when null).</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.GitPushRequest")]
public sealed record GitPushRequest(
    [property: Id(0)] string? Remote,
    [property: Id(1)] string? Branch,
    [property: Id(2)] bool SetUpstream);

/// <summary>What a push did: <see cref="UpToDate"/> when the remote already had <see cref="Head"/>.</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.GitPushResult")]
public sealed record GitPushResult(
    [property: Id(0)] string Remote,
    [property: Id(1)] string Branch,
    [property: Id(2)] string Head,
    [property: Id(3)] bool UpToDate);

/// <summary>What a pull did: HEAD before and after (equal when there was nothing to pull).</summary>
[GenerateSerializer, Immutable, Alias("orchestrator.GitPullResult")]
public sealed record GitPullResult(
    [property: Id(0)] string? Before,
    [property: Id(1)] string? After,
    [property: Id(2)] bool Updated);
