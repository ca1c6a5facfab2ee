namespace Orchestrator.Grains.Environments;

/// <summary>There is no environment of that id in the tenant.</summary>
[GenerateSerializer, Alias("orchestrator.EnvironmentNotFoundException")]
public sealed class EnvironmentNotFoundException : Exception
{
    public EnvironmentNotFoundException()
    {
    }

    public EnvironmentNotFoundException(string message)
        : base(message)
    {
    }

    public EnvironmentNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The environment's run has not made the checkout (yet, or ever: it failed).</summary>
[GenerateSerializer, Alias("orchestrator.EnvironmentNotReadyException")]
public sealed class EnvironmentNotReadyException : Exception
{
    public EnvironmentNotReadyException()
    {
    }

    public EnvironmentNotReadyException(string message)
        : base(message)
    {
    }

    public EnvironmentNotReadyException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public EnvironmentNotReadyException(string status, string message)
        : base(message)
    {
        Status = status;
    }

    [Id(0)]
    public string Status { get; init; } = EnvironmentStatuses.Creating;
}

/// <summary>The id is taken by an environment made from another spec.</summary>
[GenerateSerializer, Alias("orchestrator.EnvironmentConflictException")]
public sealed class EnvironmentConflictException : Exception
{
    public EnvironmentConflictException()
    {
    }

    public EnvironmentConflictException(string message)
        : base(message)
    {
    }

    public EnvironmentConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Git refused or failed. <see cref="Kind"/> is one of <see cref="GitErrorKinds"/>; the message quotes the end of git's
/// own error output (with any credential masked); <see cref="Conflicts"/> lists the paths in conflict after a merge.
/// </summary>
[GenerateSerializer, Alias("orchestrator.GitOperationException")]
public sealed class GitOperationException : Exception
{
    public GitOperationException()
    {
    }

    public GitOperationException(string message)
        : base(message)
    {
    }

    public GitOperationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public GitOperationException(string kind, string message, IReadOnlyList<string>? conflicts = null)
        : base(message)
    {
        Kind = kind;
        Conflicts = conflicts ?? [];
    }

    [Id(0)]
    public string Kind { get; init; } = GitErrorKinds.Failed;

    [Id(1)]
    public IReadOnlyList<string> Conflicts { get; init; } = [];
}

/// <summary>How a git operation went wrong, as <see cref="GitOperationException.Kind"/> says it.</summary>
public static class GitErrorKinds
{
    public const string NothingToCommit = "nothing-to-commit";
    public const string MergeConflict = "merge-conflict";
    public const string PushRejected = "push-rejected";
    public const string AuthenticationFailed = "authentication-failed";
    public const string UnknownBranch = "unknown-branch";
    public const string BranchExists = "branch-exists";
    public const string LocalChanges = "local-changes";
    public const string NoUpstream = "no-upstream";
    public const string CredentialsUnavailable = "credentials-unavailable";
    public const string Failed = "failed";
}
