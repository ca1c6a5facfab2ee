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
    public const string QuotaExceeded = TypeBase + "quota-exceeded";
    public const string InstanceFailed = TypeBase + "instance-failed";
    public const string MachinesUnavailable = TypeBase + "machines-unavailable";
    public const string SessionEnded = TypeBase + "session-ended";

    /// <summary>A WebSocket endpoint reached without the upgrade; <paramref name="detail"/> says how to call it.</summary>
    internal static IResult WebSocketRequired(string detail) =>
        TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "A WebSocket is required", type: ExecEndpoints.WebSocketRequired);

    public static IResult Invalid(string field, string problem) =>
        TypedResults.Problem(
            detail: $"{field} {problem}",
            statusCode: StatusCodes.Status400BadRequest,
            title: "The request is invalid",
            type: Validation,
            extensions: new Dictionary<string, object?> { ["field"] = field });

    /// <summary>Maps what an instance grain throws; anything else propagates to the exception handler (500).</summary>
    /// <summary>
    /// Reads a machine stream's first event, which says the machine took the command: a failure before it is answered
    /// as its problem (the response has not started) and false returned. <paramref name="endedEarly"/> names a stream
    /// that ended without any event.
    /// </summary>
    internal static async Task<bool> FirstEventOrProblemAsync<T>(IAsyncEnumerator<T> events, HttpContext context, string endedEarly)
    {
        try
        {
            return await events.MoveNextAsync() ? true : throw new InvalidOperationException(endedEarly);
        }
        catch (Exception ex) when (FromException(ex) is { } mapped)
        {
            await mapped.ExecuteAsync(context);
            return false;
        }
    }

    public static IResult? FromException(Exception exception) => exception switch
    {
        InstanceValidationException ex => Invalid(ex.Field, TrimField(ex.Message, ex.Field)),
        InstanceNotFoundException ex => TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound, title: "No such instance", type: NotFound),
        InstanceDestroyedException ex => TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status409Conflict, title: "The instance was destroyed", type: Destroyed),
        InstanceConflictException ex => TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status409Conflict, title: "The instance is in another state", type: Conflict),
        InstanceProviderException ex => FromProvider(ex),
        InstanceVolumeUnavailableException ex => FromVolume(ex),
        InstanceUnreachableException ex => FromUnreachable(ex),
        TerminalSessionNotFoundException ex => TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound, title: "No such session", type: NotFound),
        TerminalSessionEndedException ex => TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status409Conflict, title: "The session has ended", type: SessionEnded),
        Grains.Tenants.QuotaExceededException ex => FromQuota(ex),
        MachinesUnavailableException ex => TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status503ServiceUnavailable, title: "This cluster cannot run machines now", type: MachinesUnavailable),
        // The cluster did not answer in time, or the silo holding the grain just left: worth retrying, not a bug.
        TimeoutException => TypedResults.Problem("The cluster did not answer in time; retry the request.", statusCode: StatusCodes.Status504GatewayTimeout, title: "The cluster timed out", type: ClusterTimeout),
        Orleans.Runtime.OrleansMessageRejectionException => TypedResults.Problem("The silo holding this object is unavailable; retry the request.", statusCode: StatusCodes.Status503ServiceUnavailable, title: "The cluster is unavailable", type: ClusterUnavailable),
        _ => null,
    };

    /// <summary>The instance's machine failed to start: 502, with the machine's reason.</summary>
    public static IResult Failed(InstanceSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var error = InstanceErrorResponse.From(snapshot.Error, snapshot.LastError, snapshot.UpdatedAt);
        return TypedResults.Problem(
            $"Instance '{snapshot.Id}' failed to start: {error?.Message ?? "Fly recorded no reason."}",
            statusCode: StatusCodes.Status502BadGateway,
            title: "The instance failed to start",
            type: InstanceFailed,
            extensions: new Dictionary<string, object?> { ["instance"] = snapshot.Id, ["last_error"] = error });
    }

    /// <summary>A kept volume a create may not mount: unknown to the tenant (404) or held by a live instance (409), naming the field.</summary>
    private static ProblemHttpResult FromVolume(InstanceVolumeUnavailableException ex)
    {
        var (status, type, title) = ex.Reason == VolumeUnavailableReasons.InUse
            ? (StatusCodes.Status409Conflict, Conflict, "The volume is in use")
            : (StatusCodes.Status404NotFound, NotFound, "No such volume");
        return TypedResults.Problem(ex.Message, statusCode: status, title: title, type: type, extensions: new Dictionary<string, object?> { ["field"] = ex.Field });
    }

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

    /// <summary>
    /// Instances stay over quota until one is destroyed (409); live runs finish by themselves, so a run
    /// start is worth retrying later (429).
    /// </summary>
    public static IResult FromQuota(Grains.Tenants.QuotaExceededException ex)
    {
        var runs = ex.Quota == Grains.Tenants.QuotaExceededException.MaxConcurrentRuns;
        var problem = TypedResults.Problem(
            ex.Message,
            statusCode: runs ? StatusCodes.Status429TooManyRequests : StatusCodes.Status409Conflict,
            title: "A tenant quota would be exceeded",
            type: QuotaExceeded,
            extensions: new Dictionary<string, object?> { ["quota"] = ex.Quota, ["limit"] = ex.Limit });
        return runs ? new WithRetryAfter(problem, seconds: 5) : problem;
    }

    private sealed class WithRetryAfter(IResult inner, int seconds) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
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
