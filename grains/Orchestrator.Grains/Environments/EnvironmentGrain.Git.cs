using Orchestrator.Grains.Runs;
using Orchestrator.Workflows.Runtime;

namespace Orchestrator.Grains.Environments;

/// <summary>Git on the environment's checkout: each operation one script through the instance's exec session, its output parsed.</summary>
internal sealed partial class EnvironmentGrain
{
    public async Task<GitStatus> GitStatusAsync(CancellationToken cancellationToken)
    {
        var output = await GitAsync("status", GitScripts.Status, cancellationToken);
        var status = GitStatusParser.Parse(output.Stdout);
        await RememberBranchAsync(status, cancellationToken);
        return status;
    }

    public async Task<GitDiff> GitDiffAsync(string? path, bool staged, CancellationToken cancellationToken)
    {
        if (path is not null && EnvironmentRules.ValidatePath(path) is { } problem)
        {
            throw new Instances.InstanceValidationException("path", $"path {problem}");
        }

        var output = await GitAsync("diff", GitScripts.Diff(path, staged), cancellationToken, maxStdoutBytes: MaxDiffBytes);
        return new GitDiff(output.Stdout, output.Truncated);
    }

    public async Task<IReadOnlyList<GitCommit>> GitLogAsync(int limit, CancellationToken cancellationToken)
    {
        if (EnvironmentRules.ValidateLimit(limit) is { } problem)
        {
            throw new Instances.InstanceValidationException("limit", $"limit {problem}");
        }

        var output = await GitAsync("log", GitScripts.Log(limit), cancellationToken, maxStdoutBytes: 16 * 1024 * 1024);
        return GitLogParser.Parse(output.Stdout);
    }

    public async Task<GitCommitResult> GitCommitAsync(GitCommitRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        Validate("message", EnvironmentRules.ValidateMessage(request.Message));
        Validate("author", EnvironmentRules.ValidatePerson(request.Author));
        foreach (var path in request.Paths ?? [])
        {
            Validate("paths", EnvironmentRules.ValidatePath(path));
        }

        var env = request.Author is { } author
            ? new Dictionary<string, string>(StringComparer.Ordinal) { ["GIT_AUTHOR_NAME"] = author.Name, ["GIT_AUTHOR_EMAIL"] = author.Email }
            : null;
        var output = await GitAsync("commit", GitScripts.Commit(request.Paths, request.All), cancellationToken, stdin: System.Text.Encoding.UTF8.GetBytes(request.Message), env: env);
        var lines = output.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new GitCommitResult(lines[0], lines.Length > 1 ? lines[1] : null);
    }

    public async Task<GitPushResult> GitPushAsync(GitPushRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var remote = request.Remote ?? "origin";
        Validate("remote", EnvironmentRules.ValidateRemote(remote));
        if (request.Branch is not null)
        {
            Validate("branch", EnvironmentRules.ValidateBranch(request.Branch));
        }

        var output = await RemoteGitAsync("push", credentials => GitScripts.Push(remote, request.Branch, request.SetUpstream, credentials), cancellationToken);
        // --porcelain: one line per ref, "<flag>\t<from>:<to>\t<summary>"; '=' is "up to date".
        var upToDate = output.Stdout.Split('\n').Any(line => line.StartsWith("=\t", StringComparison.Ordinal));
        return new GitPushResult(remote, output.Value("branch") ?? request.Branch ?? "", output.Value("head") ?? "", upToDate);
    }

    public async Task<GitPullResult> GitPullAsync(CancellationToken cancellationToken)
    {
        var output = await RemoteGitAsync("pull", GitScripts.Pull, cancellationToken);
        var (before, after) = (output.Value("before"), output.Value("after"));
        return new GitPullResult(before, after, before != after);
    }

    public async Task<GitStatus> GitCheckoutAsync(string branch, bool create, CancellationToken cancellationToken)
    {
        Validate("branch", EnvironmentRules.ValidateBranch(branch));
        var output = await GitAsync("checkout", GitScripts.Checkout(branch, create), cancellationToken);
        var status = GitStatusParser.Parse(output.Stdout);
        await RememberBranchAsync(status, cancellationToken);
        return status;
    }

    private static void Validate(string field, string? problem)
    {
        if (problem is not null)
        {
            throw new Instances.InstanceValidationException(field, $"{field} {problem}");
        }
    }

    private async Task RememberBranchAsync(GitStatus status, CancellationToken cancellationToken)
    {
        if (state.State.Branch != status.Branch)
        {
            state.State.Branch = status.Branch;
            await state.WriteStateAsync(cancellationToken);
        }
    }

    /// <summary>A git operation on the checkout that needs no credentials.</summary>
    private async Task<GitOutput> GitAsync(
        string operation,
        string script,
        CancellationToken cancellationToken,
        int maxStdoutBytes = 4 * 1024 * 1024,
        byte[]? stdin = null,
        IReadOnlyDictionary<string, string>? env = null)
    {
        var spec = await RequireReadyAsync(cancellationToken);
        var output = await GitRunner.RunAsync(GrainFactory, Tenant, Id, script, EnvironmentRules.CheckoutPath(spec.Name), s_localTimeout, maxStdoutBytes, stdin, env, cancellationToken);
        if (!output.Succeeded)
        {
            throw await FailureAsync(operation, output, new Redactor([]), cancellationToken);
        }

        return output;
    }

    /// <summary>A git operation that talks to a remote: with the environment's credentials, read now and fed on stdin.</summary>
    private async Task<GitOutput> RemoteGitAsync(string operation, Func<bool, string> script, CancellationToken cancellationToken)
    {
        var spec = await RequireReadyAsync(cancellationToken);
        var credentials = spec.GitCredentialsSecret is { } secret ? await StepExecutor.ReadCredentialsAsync(GrainFactory, Tenant, secret) : null;
        var redactor = new Redactor(credentials?.Secrets() ?? []);
        var output = await GitRunner.RunAsync(
            GrainFactory, Tenant, Id, script(credentials is not null), EnvironmentRules.CheckoutPath(spec.Name), s_remoteTimeout, 1024 * 1024, credentials?.Stdin(), null, cancellationToken);
        if (!output.Succeeded)
        {
            throw await FailureAsync(operation, output, redactor, cancellationToken);
        }

        return output;
    }

    /// <summary>The failure; after a merge conflict, with the conflicting paths from a fresh status.</summary>
    private async Task<GitOperationException> FailureAsync(string operation, GitOutput output, Redactor redactor, CancellationToken cancellationToken)
    {
        var failure = GitRunner.Failure(operation, output, redactor);
        if (failure.Kind != GitErrorKinds.MergeConflict)
        {
            return failure;
        }

        var spec = RequireSpec();
        var status = await GitRunner.RunAsync(GrainFactory, Tenant, Id, GitScripts.Status, EnvironmentRules.CheckoutPath(spec.Name), s_localTimeout, 4 * 1024 * 1024, null, null, cancellationToken);
        return status.Succeeded ? GitRunner.Failure(operation, output, redactor, GitStatusParser.Parse(status.Stdout).Conflicts) : failure;
    }

    private async Task<EnvironmentSpec> RequireReadyAsync(CancellationToken cancellationToken)
    {
        var spec = RequireSpec();
        if (!state.State.Ready)
        {
            var view = await ViewAsync(cancellationToken);
            if (view.Status != EnvironmentStatuses.Ready)
            {
                throw new EnvironmentNotReadyException(view.Status, view.Status == EnvironmentStatuses.Failed
                    ? $"Environment '{Id}' failed to be made ({view.Error}); see run {state.State.RunId}."
                    : $"Environment '{Id}' is still being made by run {state.State.RunId}; its checkout is not ready yet.");
            }
        }

        return spec;
    }
}
