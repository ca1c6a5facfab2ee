using System.Globalization;
using System.Security.Claims;
using Orchestrator.Gateway.Instances;
using Orchestrator.Gateway.OpenApi;
using Orchestrator.Gateway.Tenants;
using Orchestrator.Grains.Environments;

namespace Orchestrator.Gateway.Environments;

/// <summary>
/// <c>/api/environments/{id}/git/*</c>: git on the environment's checkout, every answer structured (status from porcelain v2,
/// log from a fixed format, diffs as unified diff text). Git's refusals are problems of type <c>git-{kind}</c>.
/// </summary>
public static class GitEndpoints
{
    private static readonly int[] s_gitProblems = [400, 404, 409, 502];

    public static RouteGroupBuilder MapGitEndpoints(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/environments/{id}/git").WithTags("Git");
        api.MapGet("/status", StatusAsync).WithName("GetGitStatus")
            .WithSummary("Git status")
            .WithDescription("Branch, upstream, ahead/behind, and each changed, untracked or conflicting path with its index and worktree state.")
            .WithPathParameter("id", "The environment's id.")
            .Produces<GitStatusResponse>()
            .ProducesProblems(s_gitProblems);
        api.MapGet("/diff", DiffAsync).WithName("GetGitDiff")
            .WithSummary("Git diff")
            .WithDescription("The unified diff of the worktree against the index (or, with staged=true, of the index against HEAD), of one path when asked; at most 1 MiB (the Diff-Truncated header says when it was cut).")
            .WithPathParameter("id", "The environment's id.")
            .WithQueryParameter<string>("path", "Only this path, relative to the checkout.")
            .WithQueryParameter<bool>("staged", "The staged changes (default false).")
            .WithResponse(StatusCodes.Status200OK, "The unified diff (empty when there is no change).", [typeof(string)], "text/plain")
            .WithResponseHeader(StatusCodes.Status200OK, "Diff-Truncated", "true when the diff was longer than 1 MiB and was cut.")
            .ProducesProblems(s_gitProblems);
        api.MapGet("/log", LogAsync).WithName("GetGitLog")
            .WithSummary("Git log")
            .WithDescription("The latest commits of HEAD, newest first: sha, parents, author, committer, dates, subject and body.")
            .WithPathParameter("id", "The environment's id.")
            .WithQueryParameter<int>("limit", $"Commits, from 1 to {EnvironmentRules.MaxLogLimit} (default {EnvironmentRules.DefaultLogLimit}).")
            .Produces<GitLogResponse>()
            .ProducesProblems(s_gitProblems);
        api.MapPost("/commit", CommitAsync).WithName("GitCommit")
            .WithSummary("Commit")
            .WithDescription("Commits the given paths, or every change (all: true), or else what is staged: 200 with the new commit's sha. Nothing to commit is a 409 git-nothing-to-commit; unresolved conflicts a 409 git-merge-conflict.")
            .WithPathParameter("id", "The environment's id.")
            .WithRequestBody(typeof(GitCommitBody), "What to commit.", required: true, "application/json")
            .Produces<GitCommitResultResponse>()
            .ProducesProblems(s_gitProblems);
        api.MapPost("/push", PushAsync).WithName("GitPush")
            .WithSummary("Push")
            .WithDescription("Pushes a branch (the current one by default) to a remote (origin by default). A non-fast-forward is a 409 git-push-rejected; refused credentials a 502 git-authentication-failed.")
            .WithPathParameter("id", "The environment's id.")
            .WithRequestBody(typeof(GitPushBody), "Where to push; an empty body pushes the current branch to origin.", required: false, "application/json")
            .Produces<GitPushResponse>()
            .ProducesProblems(s_gitProblems);
        api.MapPost("/pull", PullAsync).WithName("GitPull")
            .WithSummary("Pull")
            .WithDescription("Fetches and merges the upstream (never rebases). A conflict is a 409 git-merge-conflict listing the conflicting paths.")
            .WithPathParameter("id", "The environment's id.")
            .Produces<GitPullResponse>()
            .ProducesProblems(s_gitProblems);
        api.MapPost("/checkout", CheckoutAsync).WithName("GitCheckout")
            .WithSummary("Check out a branch")
            .WithDescription("Switches to a branch (creating it from HEAD when create is true): 200 with the status after. An unknown branch is a 404 git-unknown-branch.")
            .WithPathParameter("id", "The environment's id.")
            .WithRequestBody(typeof(GitCheckoutBody), "The branch.", required: true, "application/json")
            .Produces<GitStatusResponse>()
            .ProducesProblems(s_gitProblems);
        return api;
    }

    internal static Task<IResult> StatusAsync(string id, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken) =>
        CallAsync(id, async () => Json(GitStatusResponse.From(await Grain(cluster, user, id).GitStatusAsync(cancellationToken))));

    internal static Task<IResult> DiffAsync(string id, HttpRequest request, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        var path = request.Query["path"].FirstOrDefault();
        if (path is not null && EnvironmentRules.ValidatePath(path) is { } pathProblem)
        {
            return Task.FromResult(InstanceProblems.Invalid("path", pathProblem));
        }

        var staged = false;
        if (request.Query["staged"].FirstOrDefault() is { } raw && !bool.TryParse(raw, out staged))
        {
            return Task.FromResult(InstanceProblems.Invalid("staged", "must be true or false"));
        }

        return CallAsync(id, async () =>
        {
            var diff = await Grain(cluster, user, id).GitDiffAsync(path, staged, cancellationToken);
            request.HttpContext.Response.Headers["Diff-Truncated"] = diff.Truncated ? "true" : "false";
            return TypedResults.Text(diff.Text, "text/plain", System.Text.Encoding.UTF8);
        });
    }

    internal static Task<IResult> LogAsync(string id, HttpRequest request, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        var limit = EnvironmentRules.DefaultLogLimit;
        if (request.Query["limit"].FirstOrDefault() is { } raw
            && (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || EnvironmentRules.ValidateLimit(limit) is not null))
        {
            return Task.FromResult(InstanceProblems.Invalid("limit", EnvironmentRules.ValidateLimit(0)!));
        }

        return CallAsync(id, async () => Json(GitLogResponse.From(await Grain(cluster, user, id).GitLogAsync(limit, cancellationToken))));
    }

    internal static async Task<IResult> CommitAsync(string id, HttpRequest request, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        var (body, problem) = await TenantEndpoints.ReadObjectAsync(request, ["message", "paths", "all", "author"], cancellationToken, maxBytes: (int)Limits.BodyLimits.Instances);
        if (problem is not null)
        {
            return problem;
        }

        var (commit, commitProblem) = EnvironmentRequestParser.ParseCommit(body);
        return commitProblem ?? await CallAsync(id, async () => Json(await CommitResultAsync(Grain(cluster, user, id), commit!, cancellationToken)));
    }

    internal static async Task<IResult> PushAsync(string id, HttpRequest request, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        var (body, problem) = await TenantEndpoints.ReadObjectAsync(request, ["remote", "branch", "set_upstream"], cancellationToken, allowEmpty: true);
        if (problem is not null)
        {
            return problem;
        }

        string? remote = null;
        string? branch = null;
        var setUpstream = false;
        if (body.ValueKind == System.Text.Json.JsonValueKind.Object)
        {
            var fieldProblem = EnvironmentRequestParser.String(body, "remote", required: false, out remote)
                ?? EnvironmentRequestParser.String(body, "branch", required: false, out branch)
                ?? EnvironmentRequestParser.Boolean(body, "set_upstream", out setUpstream);
            if (fieldProblem is not null)
            {
                return fieldProblem;
            }
        }

        if (remote is not null && EnvironmentRules.ValidateRemote(remote) is { } remoteProblem)
        {
            return InstanceProblems.Invalid("remote", remoteProblem);
        }

        if (branch is not null && EnvironmentRules.ValidateBranch(branch) is { } branchProblem)
        {
            return InstanceProblems.Invalid("branch", branchProblem);
        }

        return await CallAsync(id, async () => Json(ToResponse(await Grain(cluster, user, id).GitPushAsync(new GitPushRequest(remote, branch, setUpstream), cancellationToken))));
    }

    internal static Task<IResult> PullAsync(string id, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken) =>
        CallAsync(id, async () => Json(ToResponse(await Grain(cluster, user, id).GitPullAsync(cancellationToken))));

    internal static async Task<IResult> CheckoutAsync(string id, HttpRequest request, ClaimsPrincipal user, IClusterClient cluster, CancellationToken cancellationToken)
    {
        var (body, problem) = await TenantEndpoints.ReadObjectAsync(request, ["branch", "create"], cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (EnvironmentRequestParser.String(body, "branch", required: true, out var branch) is { } p1)
        {
            return p1;
        }

        if (EnvironmentRules.ValidateBranch(branch) is { } branchProblem)
        {
            return InstanceProblems.Invalid("branch", branchProblem);
        }

        if (EnvironmentRequestParser.Boolean(body, "create", out var create) is { } p2)
        {
            return p2;
        }

        return await CallAsync(id, async () => Json(GitStatusResponse.From(await Grain(cluster, user, id).GitCheckoutAsync(branch, create, cancellationToken))));
    }

    private static async Task<GitCommitResultResponse> CommitResultAsync(IEnvironmentGrain grain, GitCommitRequest commit, CancellationToken cancellationToken)
    {
        var result = await grain.GitCommitAsync(commit, cancellationToken);
        return new GitCommitResultResponse(result.Sha, result.Branch);
    }

    private static GitPushResponse ToResponse(GitPushResult push) => new(push.Remote, push.Branch, push.Head, push.UpToDate);

    private static GitPullResponse ToResponse(GitPullResult pull) => new(pull.Before, pull.After, pull.Updated);

    private static Microsoft.AspNetCore.Http.HttpResults.JsonHttpResult<T> Json<T>(T value) => TypedResults.Json(value, InstanceEndpoints.Json);

    private static IEnvironmentGrain Grain(IClusterClient cluster, ClaimsPrincipal user, string id) => EnvironmentEndpoints.Grain(cluster, user, id);

    private static Task<IResult> CallAsync(string id, Func<Task<IResult>> call) =>
        EnvironmentEndpoints.ValidateId(id) is { } invalid ? Task.FromResult(invalid) : EnvironmentEndpoints.CallAsync(call);
}
