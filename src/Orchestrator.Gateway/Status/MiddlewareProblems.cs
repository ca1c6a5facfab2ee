using Microsoft.AspNetCore.Mvc;

namespace Orchestrator.Gateway.Status;

/// <summary>
/// Writes a problem from middleware, before or instead of an endpoint (authentication, rate limits,
/// timeouts, request ids), through the same <see cref="IProblemDetailsService"/> endpoints use, so
/// every problem gets the same members (<c>request_id</c> included).
/// </summary>
internal static class MiddlewareProblems
{
    /// <summary>The <c>type</c> of the 400 problem for an <c>X-Request-Id</c> that breaks the rules of <see cref="Hosting.RequestIds"/>.</summary>
    public const string InvalidRequestId = Instances.InstanceProblems.TypeBase + "invalid-request-id";

    public static async Task WriteAsync(HttpContext context, int status, string type, string title, string detail, IDictionary<string, object?>? extensions = null)
    {
        context.Response.StatusCode = status;
        var problem = new ProblemDetails { Status = status, Type = type, Title = title, Detail = detail };
        foreach (var (name, value) in extensions ?? new Dictionary<string, object?>())
        {
            problem.Extensions[name] = value;
        }

        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
    }
}
