using Microsoft.AspNetCore.Diagnostics;
using Orchestrator.Gateway.Instances;

namespace Orchestrator.Gateway.Status;

/// <summary>
/// A cluster that did not answer (timeout, silo gone) is a retryable 504/503 wherever it happens,
/// including in authentication before any endpoint runs; anything else stays a generic 500.
/// </summary>
internal sealed class ClusterExceptionHandler : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not (TimeoutException or Orleans.Runtime.OrleansMessageRejectionException))
        {
            return false;
        }

        var result = InstanceProblems.FromException(exception)!;
        await result.ExecuteAsync(httpContext);
        return true;
    }
}
