using Orchestrator.Gateway.Instances;

namespace Orchestrator.Gateway.Status;

/// <summary>
/// Between routing and authentication: a request that no route answers gets the API's <c>not-found</c> problem, and
/// one whose path exists but not with its method gets routing's own 405 (made a <c>method-not-allowed</c> problem by
/// the status code pages), with or without a key. Without this the fallback authorization policy, which keeps new
/// endpoints closed, also answered 401 to every unknown path, and a keyed client got the framework's generic 404.
/// Which routes exist is no secret: the OpenAPI document, open to all, lists them.
/// </summary>
internal sealed class UnknownRouteMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context) => context.GetEndpoint() switch
    {
        null => MiddlewareProblems.WriteAsync(
            context,
            StatusCodes.Status404NotFound,
            InstanceProblems.NotFound,
            "No such route",
            "No operation of this API has this path; /openapi/v1.json lists them."),
        // Routing's rejections (405 for a method the path does not take, 415) are endpoints without a route.
        RouteEndpoint => next(context),
        { RequestDelegate: { } rejection } => rejection(context),
        _ => next(context),
    };
}
