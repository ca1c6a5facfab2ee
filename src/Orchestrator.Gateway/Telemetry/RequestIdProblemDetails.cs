using Microsoft.Extensions.Options;

namespace Orchestrator.Gateway.Telemetry;

/// <summary>
/// Adds <c>request_id</c> to every problem the API writes through <see cref="IProblemDetailsService"/>:
/// <c>TypedResults.Problem</c>, the exception handler, status code pages and the request id middleware.
/// </summary>
internal sealed class RequestIdProblemDetails : IConfigureOptions<ProblemDetailsOptions>
{
    public void Configure(ProblemDetailsOptions options)
    {
        // Composed, not replaced: another part of the API may customise problems too.
        var earlier = options.CustomizeProblemDetails;
        options.CustomizeProblemDetails = context =>
        {
            earlier?.Invoke(context);
            context.ProblemDetails.Extensions[RequestIds.Key] = context.HttpContext.TraceIdentifier;
        };
    }
}
