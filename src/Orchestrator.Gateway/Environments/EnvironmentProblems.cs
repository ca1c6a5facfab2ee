using Orchestrator.Gateway.Instances;
using Orchestrator.Grains.Environments;

namespace Orchestrator.Gateway.Environments;

/// <summary>The environment and git API's errors, each kind with a stable <c>type</c> URI.</summary>
public static class EnvironmentProblems
{
    public const string NotReady = InstanceProblems.TypeBase + "environment-not-ready";
    public const string GitTypeBase = InstanceProblems.TypeBase + "git-";

    /// <summary>Maps what an environment grain throws, then what instance and run grains throw; else null (500).</summary>
    public static IResult? FromException(Exception exception) => exception switch
    {
        EnvironmentNotFoundException ex => TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound, title: "No such environment", type: InstanceProblems.NotFound),
        EnvironmentNotReadyException ex => TypedResults.Problem(
            ex.Message,
            statusCode: StatusCodes.Status409Conflict,
            title: "The environment is not ready",
            type: NotReady,
            extensions: new Dictionary<string, object?> { ["status"] = ex.Status }),
        EnvironmentConflictException ex => TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status409Conflict, title: "The environment exists with another spec", type: InstanceProblems.Conflict),
        GitOperationException ex => Git(ex),
        _ => InstanceProblems.FromException(exception) ?? Workflows.WorkflowProblems.FromException(exception),
    };

    /// <summary>
    /// Git's refusals: 409 for what the checkout's or the remote's state causes (nothing to commit, a conflict, a rejected
    /// push, an existing branch, local changes, no upstream), 404 for an unknown branch, 502 when the remote refused the
    /// credentials or git failed otherwise.
    /// </summary>
    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Git(GitOperationException ex)
    {
        var (status, title) = ex.Kind switch
        {
            GitErrorKinds.NothingToCommit => (StatusCodes.Status409Conflict, "There is nothing to commit"),
            GitErrorKinds.MergeConflict => (StatusCodes.Status409Conflict, "A merge conflict stopped git"),
            GitErrorKinds.PushRejected => (StatusCodes.Status409Conflict, "The remote rejected the push (not a fast-forward)"),
            GitErrorKinds.BranchExists => (StatusCodes.Status409Conflict, "The branch already exists"),
            GitErrorKinds.LocalChanges => (StatusCodes.Status409Conflict, "Local changes are in the way"),
            GitErrorKinds.NoUpstream => (StatusCodes.Status409Conflict, "The branch has no upstream"),
            GitErrorKinds.UnknownBranch => (StatusCodes.Status404NotFound, "No such branch"),
            GitErrorKinds.AuthenticationFailed => (StatusCodes.Status502BadGateway, "The remote refused the credentials"),
            GitErrorKinds.CredentialsUnavailable => (StatusCodes.Status409Conflict, "The git credentials secret is missing or unusable"),
            _ => (StatusCodes.Status502BadGateway, "Git failed"),
        };
        var extensions = new Dictionary<string, object?> { ["kind"] = ex.Kind };
        if (ex.Kind == GitErrorKinds.MergeConflict)
        {
            extensions["conflicts"] = ex.Conflicts;
        }

        return TypedResults.Problem(ex.Message, statusCode: status, title: title, type: GitTypeBase + ex.Kind, extensions: extensions);
    }
}
