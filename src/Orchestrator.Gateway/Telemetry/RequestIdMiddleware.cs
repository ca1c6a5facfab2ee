using System.Diagnostics;
using Orchestrator.Gateway.Status;
using Orchestrator.Hosting;

namespace Orchestrator.Gateway.Telemetry;

/// <summary>
/// First in the pipeline: settles the request id (<see cref="RequestIds"/>), makes it the
/// <see cref="HttpContext.TraceIdentifier"/>, echoes it on every response (errors and WebSocket upgrades
/// included), opens a log scope with it and passes it to grain calls through the Orleans request context.
/// </summary>
internal sealed partial class RequestIdMiddleware(RequestDelegate next, TimeProvider time, ILogger<RequestIdMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var given = context.Request.Headers[RequestIds.HeaderName];
        // A header present but empty is refused like any other bad value, not taken as absent.
        var valid = given.Count == 0 ? (bool?)null : given.Count == 1 && RequestIds.IsValid(given[0]);
        var id = valid == true ? given[0]! : RequestIds.Generate(time);
        context.TraceIdentifier = id;
        // On the request's server span too, so a trace is found from the id a client quotes.
        if (Activity.Current is { IsAllDataRequested: true } span)
        {
            span.SetTag(RequestIds.Key, id);
        }

        // At the last moment: the exception handler clears the headers of a failed response before writing its own.
        context.Response.OnStarting(static state =>
        {
            var http = (HttpContext)state;
            http.Response.Headers[RequestIds.HeaderName] = http.TraceIdentifier;
            return Task.CompletedTask;
        }, context);

        using var scope = logger.BeginScope(new RequestIdScope(id));
        if (valid == false)
        {
            var length = given.ToString().Length;
            LogInvalidRequestId(logger, given.Count, length);
            await WriteInvalidAsync(context);
            return;
        }

        RequestContext.Set(RequestIds.Key, id);
        await next(context);
    }

    private static Task WriteInvalidAsync(HttpContext context) =>
        MiddlewareProblems.WriteAsync(
            context,
            StatusCodes.Status400BadRequest,
            MiddlewareProblems.InvalidRequestId,
            "The request id is invalid",
            $"{RequestIds.HeaderName} must be one value of 1 to {RequestIds.MaxLength} characters from A-Z a-z 0-9 - _ . : + / =, or absent.");

    // The value itself is not logged: it is what the rules keep out of logs.
    [LoggerMessage(Level = LogLevel.Debug, Message = "Refused a request whose X-Request-Id breaks the rules ({Count} value(s), {Length} characters)")]
    private static partial void LogInvalidRequestId(ILogger logger, int count, int length);
}
