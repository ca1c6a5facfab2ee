using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Grains.Instances;
using Orchestrator.Grains.Sessions;

namespace Orchestrator.Gateway.Instances;

/// <summary>The instance API's errors as RFC 9457 problem details, each kind with a stable <c>type</c> URI.</summary>
public static class InstanceProblems
{
    public const string TypeBase = "https://orchestrator.dev/problems/";
    public const string Validation = TypeBase + "validation";
    public const string NotFound = TypeBase + "not-found";
    public const string Destroyed = TypeBase + "instance-destroyed";
    public const string Conflict = TypeBase + "conflict";
    public const string Capacity = TypeBase + "fly-capacity";
    public const string FlyValidation = TypeBase + "fly-validation";
    public const string RateLimited = TypeBase + "fly-rate-limited";
    public const string Unavailable = TypeBase + "fly-unavailable";
    public const string SshUnreachable = TypeBase + "ssh-unreachable";
    public const string SshHostKeyMismatch = TypeBase + "ssh-host-key-mismatch";
    public const string SshAuthenticationFailed = TypeBase + "ssh-authentication-failed";
    public const string ClusterTimeout = TypeBase + "cluster-timeout";
    public const string ClusterUnavailable = TypeBase + "cluster-unavailable";

    public static IResult Invalid(string field, string problem) =>
        TypedResults.Problem(
            detail: $"{field} {problem}",
            statusCode: StatusCodes.Status400BadRequest,
            title: "The request is invalid",
            type: Validation,
            extensions: new Dictionary<string, object?> { ["field"] = field });

    /// <summary>Maps what an instance grain throws; anything else propagates to the exception handler (500).</summary>
    public static IResult? FromException(Exception exception) => exception switch
    {
        InstanceValidationException ex => Invalid(ex.Field, TrimField(ex.Message, ex.Field)),
        InstanceNotFoundException ex => TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound, title: "No such instance", type: NotFound),
        InstanceDestroyedException ex => TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status409Conflict, title: "The instance was destroyed", type: Destroyed),
        InstanceConflictException ex => TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status409Conflict, title: "The instance is in another state", type: Conflict),
        InstanceProviderException ex => FromProvider(ex),
        InstanceUnreachableException ex => FromUnreachable(ex),
        // The cluster did not answer in time, or the silo holding the grain just left: worth retrying, not a bug.
        TimeoutException => TypedResults.Problem("The cluster did not answer in time; retry the request.", statusCode: StatusCodes.Status504GatewayTimeout, title: "The cluster timed out", type: ClusterTimeout),
        Orleans.Runtime.OrleansMessageRejectionException => TypedResults.Problem("The silo holding this object is unavailable; retry the request.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "The cluster is unavailable", type: ClusterUnavailable),
        _ => null,
    };

    private static ProblemHttpResult FromProvider(InstanceProviderException ex)
    {
        var (status, type, title) = ex.Kind switch
        {
            InstanceProviderErrorKinds.Capacity => (StatusCodes.Status503ServiceUnavailable, Capacity, "Fly has no capacity for this request"),
            InstanceProviderErrorKinds.Validation => (StatusCodes.Status422UnprocessableEntity, FlyValidation, "Fly rejected the request"),
            InstanceProviderErrorKinds.RateLimited => (StatusCodes.Status429TooManyRequests, RateLimited, "Fly's rate limit was reached"),
            InstanceProviderErrorKinds.Conflict => (StatusCodes.Status409Conflict, Conflict, "The machine is in another state"),
            _ => (StatusCodes.Status502BadGateway, Unavailable, "Fly failed or did not answer"),
        };
        return TypedResults.Problem(
            ex.Message,
            statusCode: status,
            title: title,
            type: type,
            extensions: new Dictionary<string, object?> { ["fly_message"] = ex.FlyMessage, ["fly_status"] = ex.StatusCode });
    }

    private static ProblemHttpResult FromUnreachable(InstanceUnreachableException ex)
    {
        var (type, title) = ex.Reason switch
        {
            UnreachableReasons.HostKeyMismatch => (SshHostKeyMismatch, "The machine's SSH host key is not the pinned one"),
            UnreachableReasons.AuthenticationFailed => (SshAuthenticationFailed, "The machine refused the instance's SSH key"),
            _ => (SshUnreachable, "The machine could not be reached over SSH"),
        };
        return TypedResults.Problem(
            ex.Message,
            statusCode: StatusCodes.Status502BadGateway,
            title: title,
            type: type,
            extensions: new Dictionary<string, object?> { ["reason"] = ex.Reason });
    }

    private static string TrimField(string message, string field) =>
        message.StartsWith(field + " ", StringComparison.Ordinal) ? message[(field.Length + 1)..] : message;
}
