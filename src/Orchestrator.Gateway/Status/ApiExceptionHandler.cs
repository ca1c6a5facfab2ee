using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Orchestrator.Gateway.Instances;
using Orchestrator.Gateway.Workflows;

namespace Orchestrator.Gateway.Status;

/// <summary>
/// Failures that are not bugs, wherever they surface (authentication, body reading, an endpoint):
/// a cluster that did not answer is a retryable 504/503, a body over the endpoint's limit is 413, a
/// request Kestrel could not read is 400. Anything else stays a generic 500 without details.
/// </summary>
internal sealed class ApiExceptionHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        var result = exception switch
        {
            TimeoutException or Orleans.Runtime.OrleansMessageRejectionException => InstanceProblems.FromException(exception),
            BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
                // The handler re-executes without the endpoint; the limit routing applied stays on the feature.
                WorkflowProblems.TooLarge((int)(httpContext.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize ?? 0)),
            BadHttpRequestException bad => InstanceProblems.Invalid("body", $"could not be read: {bad.Message}"),
            _ => null,
        };
        if (result is null)
        {
            return false;
        }

        await result.ExecuteAsync(httpContext);
        return true;
    }
}
