using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Orchestrator.Gateway.Instances;
using Orchestrator.Hosting;

namespace Orchestrator.Gateway.Status;

/// <summary>
/// Writes every problem the API answers with (<c>TypedResults.Problem</c>, the exception handler, status code pages,
/// middleware), so each has the same members in one naming convention: <c>request_id</c> and <c>trace_id</c> in
/// snake_case like the rest of the API, where the framework's writer adds a camelCase <c>traceId</c>. It writes
/// whatever the request's Accept header says: the framework's writer declines a client that accepts only a stream,
/// and that client then got a problem without its request id.
/// </summary>
internal sealed class ProblemWriter(IOptions<ProblemDetailsOptions> options, IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json) : IProblemDetailsWriter
{
    public const string ContentType = "application/problem+json";

    /// <summary>The member the framework adds, replaced by <see cref="TraceIdKey"/>.</summary>
    private const string FrameworkTraceIdKey = "traceId";

    /// <summary>The W3C trace id of the request's trace (32 hex digits), to find the request in a tracing backend.</summary>
    public const string TraceIdKey = "trace_id";

    /// <summary>
    /// The host's options (its encoder, its converters), but snake_case: extension members are written under the names
    /// they were given, and what they hold is named like every other body.
    /// </summary>
    private readonly JsonSerializerOptions _json = new(json.Value.SerializerOptions) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        var problem = context.ProblemDetails;
        problem.Status ??= http.Response.StatusCode;
        // The framework's defaults name RFC 9110 sections; the API's types are its own, stable ones.
        if (problem.Type is null || problem.Type.StartsWith("https://tools.ietf.org/", StringComparison.Ordinal))
        {
            problem.Type = StableType(problem.Status.Value);
        }

        problem.Title ??= ReasonPhrases.GetReasonPhrase(problem.Status.Value);
        options.Value.CustomizeProblemDetails?.Invoke(context);
        problem.Extensions.Remove(FrameworkTraceIdKey);
        problem.Extensions[RequestIds.Key] = http.TraceIdentifier;
        if (Activity.Current is { } activity && activity.TraceId != default)
        {
            problem.Extensions[TraceIdKey] = activity.TraceId.ToHexString();
        }

        http.Response.ContentType = ContentType;
        // Not RequestAborted: the request timeout cancels it before its own problem is written.
        return new ValueTask(http.Response.WriteAsJsonAsync(problem, _json, ContentType, CancellationToken.None));
    }

    /// <summary>The API's type for a status the framework answers by itself (routing, status code pages, 500).</summary>
    internal static string StableType(int status) => status switch
    {
        StatusCodes.Status400BadRequest => InstanceProblems.Validation,
        StatusCodes.Status401Unauthorized => Auth.ApiKeyAuthenticationHandler.Unauthorized,
        StatusCodes.Status403Forbidden => Auth.ApiKeyAuthenticationHandler.Forbidden,
        StatusCodes.Status404NotFound => InstanceProblems.NotFound,
        StatusCodes.Status405MethodNotAllowed => InstanceProblems.TypeBase + "method-not-allowed",
        StatusCodes.Status413PayloadTooLarge => Workflows.WorkflowProblems.PayloadTooLarge,
        StatusCodes.Status415UnsupportedMediaType => Workflows.WorkflowProblems.UnsupportedMediaType,
        _ => InstanceProblems.TypeBase + (status >= 500 ? "internal" : "http-" + status.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    };
}
