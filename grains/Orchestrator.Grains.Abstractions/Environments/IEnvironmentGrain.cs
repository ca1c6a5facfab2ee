namespace Orchestrator.Grains.Environments;

/// <summary>
/// One development environment, keyed <c>{tenant}/{environmentId}</c>: a machine with a repository cloned into
/// <c>/workspace/{name}</c>, made by a run of the built-in <c>environment</c> workflow, and git on that checkout.
/// Git calls run one at a time (they share the checkout's index); each answer is parsed from git's machine formats.
/// </summary>
[Alias("orchestrator.IEnvironmentGrain")]
public interface IEnvironmentGrain : IGrainWithStringKey
{
    /// <summary>Records the environment and starts its run; repeating the call with the same spec returns the environment.</summary>
    /// <exception cref="Instances.InstanceValidationException">A field of the spec is invalid; the exception names it.</exception>
    /// <exception cref="EnvironmentConflictException">The id is taken by an environment with another spec.</exception>
    [Alias("Create")]
    Task<EnvironmentView> CreateAsync(EnvironmentSpec spec, CancellationToken cancellationToken = default);

    /// <summary>The environment with its run's and instance's state; null when there is none.</summary>
    [Alias("Get")]
    Task<EnvironmentView?> GetAsync(CancellationToken cancellationToken = default);

    /// <summary>Cancels the run if it still runs, destroys the instance (keeping its volume when asked) and forgets the environment.</summary>
    /// <exception cref="EnvironmentNotFoundException">There is no such environment.</exception>
    [Alias("Delete")]
    Task DeleteAsync(bool keepVolume, CancellationToken cancellationToken = default);

    /// <exception cref="EnvironmentNotFoundException">There is no such environment.</exception>
    /// <exception cref="EnvironmentNotReadyException">Its run has not finished cloning (or failed).</exception>
    /// <exception cref="GitOperationException">Git refused or failed; <see cref="GitOperationException.Kind"/> says how.</exception>
    [Alias("GitStatus")]
    Task<GitStatus> GitStatusAsync(CancellationToken cancellationToken = default);

    /// <summary>The unified diff of the worktree (or, when <paramref name="staged"/>, of the index) against HEAD, optionally of one path.</summary>
    [Alias("GitDiff")]
    Task<GitDiff> GitDiffAsync(string? path, bool staged, CancellationToken cancellationToken = default);

    /// <summary>The latest <paramref name="limit"/> commits of HEAD, newest first; empty before the first commit.</summary>
    [Alias("GitLog")]
    Task<IReadOnlyList<GitCommit>> GitLogAsync(int limit, CancellationToken cancellationToken = default);

    [Alias("GitCommit")]
    Task<GitCommitResult> GitCommitAsync(GitCommitRequest request, CancellationToken cancellationToken = default);

    [Alias("GitPush")]
    Task<GitPushResult> GitPushAsync(GitPushRequest request, CancellationToken cancellationToken = default);

    [Alias("GitPull")]
    Task<GitPullResult> GitPullAsync(CancellationToken cancellationToken = default);

    [Alias("GitCheckout")]
    Task<GitStatus> GitCheckoutAsync(string branch, bool create, CancellationToken cancellationToken = default);
}

/// <summary>
/// A tenant's environments, keyed by the tenant id: their ids, so that listing needs no database table. An environment
/// holds an instance, so a tenant has as many as its instance quota allows at most: a small set in one grain's state.
/// </summary>
[Alias("orchestrator.IEnvironmentIndexGrain")]
public interface IEnvironmentIndexGrain : IGrainWithStringKey
{
    /// <summary>The ids of the tenant's environments, in ordinal order.</summary>
    [Alias("List")]
    Task<IReadOnlyList<string>> ListAsync(CancellationToken cancellationToken = default);
}

/// <summary>What <see cref="IEnvironmentGrain.CreateAsync"/> makes.</summary>
/// <param name="RepoUrl">The repository to clone (see <see cref="EnvironmentRules.ValidateRepoUrl"/>).</param>
/// <param name="Region">The Fly region of the machine.</param>
/// <param name="SetupCommand">A shell command run in the checkout after the clone; none when null.</param>
/// <param name="Env">Environment variables of the machine.</param>
/// <param name="Name">The checkout's directory under <c>/workspace</c> (see <see cref="EnvironmentRules.ValidateName"/>).</param>
/// <param name="Branch">The branch to clone; the remote's default branch when null.</param>
/// <param name="Size">A machine size preset, such as <c>shared-cpu-2x</c>.</param>
/// <param name="VolumeSizeGb">A volume of this size mounted at <c>/workspace</c>, or null for none (unless <paramref name="VolumeId"/>).</param>
/// <param name="VolumeId">A volume a destroyed instance of the tenant kept, mounted at <c>/workspace</c>.</param>
/// <param name="GitCredentialsSecret">The tenant secret holding the https token (<c>token</c> or <c>username:token</c>).</param>
[GenerateSerializer, Immutable, Alias("orchestrator.EnvironmentSpec")]
public sealed record EnvironmentSpec(
    [property: Id(0)] string Name,
    [property: Id(1)] string RepoUrl,
    [property: Id(2)] string? Branch,
    [property: Id(3)] string Region,
    [property: Id(4)] string Size,
    [property: Id(5)] int? VolumeSizeGb,
    [property: Id(6)] string? VolumeId,
    [property: Id(7)] string? SetupCommand,
    [property: Id(8)] IReadOnlyDictionary<string, string>? Env,
    [property: Id(9)] string? GitCredentialsSecret)
{
    /// <summary>Value equality including <see cref="Env"/>'s contents (records compare dictionaries by reference).</summary>
    public bool Equals(EnvironmentSpec? other) =>
        other is not null && Name == other.Name && RepoUrl == other.RepoUrl && Branch == other.Branch && Region == other.Region
        && Size == other.Size && VolumeSizeGb == other.VolumeSizeGb && VolumeId == other.VolumeId && SetupCommand == other.SetupCommand
        && GitCredentialsSecret == other.GitCredentialsSecret
        && (Env ?? new Dictionary<string, string>()).OrderBy(e => e.Key, StringComparer.Ordinal)
            .SequenceEqual((other.Env ?? new Dictionary<string, string>()).OrderBy(e => e.Key, StringComparer.Ordinal));

    public override int GetHashCode() => HashCode.Combine(Name, RepoUrl, Branch, Region);
}

/// <summary>An environment as the API shows it.</summary>
/// <param name="Id">The environment's id, also its instance's id.</param>
/// <param name="Spec">What it was made from.</param>
/// <param name="RunId">The run of the <c>environment</c> workflow that makes it.</param>
/// <param name="InstanceId">Its instance.</param>
/// <param name="Commit">The commit the clone checked out.</param>
/// <param name="Error">Why it failed, when it did.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="Status"><c>creating</c> while its run runs, <c>ready</c> once it succeeded, <c>failed</c> when it failed or was cancelled.</param>
/// <param name="Path">The checkout on the machine: <c>/workspace/{name}</c>.</param>
/// <param name="Branch">The checkout's branch as last seen (after the clone, a status or a checkout); null before the clone.</param>
/// <param name="InstanceState">The instance's observed state; null before the run created it.</param>
/// <param name="Sessions">The ids of the instance's sessions.</param>
[GenerateSerializer, Immutable, Alias("orchestrator.EnvironmentView")]
public sealed record EnvironmentView(
    [property: Id(0)] string Id,
    [property: Id(1)] EnvironmentSpec Spec,
    [property: Id(2)] string Status,
    [property: Id(3)] string RunId,
    [property: Id(4)] string InstanceId,
    [property: Id(5)] string? InstanceState,
    [property: Id(6)] string Path,
    [property: Id(7)] string? Branch,
    [property: Id(8)] string? Commit,
    [property: Id(9)] string? Error,
    [property: Id(10)] IReadOnlyList<string> Sessions,
    [property: Id(11)] DateTimeOffset CreatedAt);

public static class EnvironmentStatuses
{
    public const string Creating = "creating";
    public const string Ready = "ready";
    public const string Failed = "failed";
}

/// <summary>Builds environment grain keys; the tenant comes first, as in every grain key.</summary>
public static class EnvironmentKey
{
    public static string Format(string tenant, string environmentId) => $"{tenant}/{environmentId}";

    /// <summary>A fresh id: <c>env-</c> and 16 hex digits, also the name of its instance (a DNS label).</summary>
    public static string NewId() => "env-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
}
