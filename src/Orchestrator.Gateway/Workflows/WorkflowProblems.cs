using Orchestrator.Gateway.Instances;
using Orchestrator.Grains.Runs;
using Orchestrator.Grains.Workflows;
using Orchestrator.Workflows;

namespace Orchestrator.Gateway.Workflows;

/// <summary>
/// The workflow and run APIs' errors as RFC 9457 problem details. Field errors, missing things and conflicts share
/// the instance API's <c>validation</c>, <c>not-found</c> and <c>conflict</c> types; what only these APIs can say
/// has its own stable <c>type</c> URI.
/// </summary>
public static class WorkflowProblems
{
    /// <summary>400: the definition has errors; <c>errors</c> lists each one, located.</summary>
    public const string WorkflowInvalid = InstanceProblems.TypeBase + "workflow-invalid";

    /// <summary>413: the body is larger than the endpoint takes; <c>limit_bytes</c> says how large it may be.</summary>
    public const string PayloadTooLarge = InstanceProblems.TypeBase + "payload-too-large";

    /// <summary>415: a definition sent with a Content-Type that is neither JSON, YAML nor plain text.</summary>
    public const string UnsupportedMediaType = InstanceProblems.TypeBase + "unsupported-media-type";

    /// <summary>The last event of an event stream that broke after it started (the status line is already sent).</summary>
    public const string EventsInterrupted = InstanceProblems.TypeBase + "run-events-interrupted";

    public static IResult Invalid(IEnumerable<WorkflowError> errors) =>
        Invalid(errors.Select(static e => new WorkflowProblem(e.Code, e.Path, e.Line, e.Column, e.Message)));

    public static IResult Invalid(IEnumerable<WorkflowProblem> problems)
    {
        var errors = problems.Select(static p => new WorkflowErrorResponse(p.Code, p.Path, p.Line, p.Column, p.Message)).ToList();
        var detail = errors switch
        {
            [] => "The definition is invalid.",
            [var only] => $"{Located(only)}.",
            [var first, ..] => $"{Located(first)}; and {errors.Count - 1} more.",
        };
        return TypedResults.Problem(
            detail: detail,
            statusCode: StatusCodes.Status400BadRequest,
            title: "The workflow definition is invalid",
            type: WorkflowInvalid,
            extensions: new Dictionary<string, object?> { ["errors"] = errors });
    }

    public static IResult TooLarge(int limitBytes) =>
        TypedResults.Problem(
            detail: $"The body must be at most {limitBytes} bytes.",
            statusCode: StatusCodes.Status413PayloadTooLarge,
            title: "The request body is too large",
            type: PayloadTooLarge,
            extensions: new Dictionary<string, object?> { ["limit_bytes"] = limitBytes });

    public static IResult Unsupported(string? contentType) =>
        TypedResults.Problem(
            detail: $"Content-Type '{contentType}' is not a definition format: send application/json, application/yaml (or application/x-yaml, text/yaml), or text/plain to have the format detected.",
            statusCode: StatusCodes.Status415UnsupportedMediaType,
            title: "The body's media type is not supported",
            type: UnsupportedMediaType);

    /// <summary>Maps what workflow and run grains throw; anything else propagates to the exception handler (500).</summary>
    public static IResult? FromException(Exception exception) => exception switch
    {
        WorkflowInvalidException ex => Invalid(ex.Problems),
        WorkflowNotFoundException ex => TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound, title: "No such workflow", type: InstanceProblems.NotFound),
        RunNotFoundException ex => TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status404NotFound, title: "No such run", type: InstanceProblems.NotFound),
        RunConflictException ex => TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status409Conflict, title: "The run is in another state", type: InstanceProblems.Conflict),
        RunInputException ex => InstanceProblems.Invalid(ex.Field, WithoutField(ex.Message, ex.Field)),
        RunCursorException => InstanceProblems.Invalid("cursor", "is not a cursor this API returned"),
        Grains.Tenants.QuotaExceededException ex => InstanceProblems.FromQuota(ex),
        _ => null,
    };

    /// <summary>"inputs.x is required" reads "inputs.x inputs.x is required" once the field is put in front again.</summary>
    internal static string WithoutField(string message, string field) =>
        message.StartsWith(field + " ", StringComparison.Ordinal) ? message[(field.Length + 1)..]
        : message.StartsWith(field + ": ", StringComparison.Ordinal) ? message[(field.Length + 2)..]
        : message.Length == 0 ? "is invalid"
        : $"is invalid: {message}";

    /// <summary>"line:column path: message", without the message's own full stop (the caller punctuates).</summary>
    private static string Located(WorkflowErrorResponse error) =>
        (error.Line > 0 ? $"{error.Line}:{error.Column} {error.Path}: {error.Message}" : $"{error.Path}: {error.Message}").TrimEnd('.');
}

/// <summary>One located error of a definition, as the <c>errors</c> of a <c>workflow-invalid</c> problem.</summary>
public sealed record WorkflowErrorResponse(string Code, string Path, int Line, int Column, string Message);
