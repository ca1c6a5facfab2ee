using Microsoft.Extensions.Logging;

namespace Orchestrator.Hosting;

/// <summary>
/// On a silo: opens the <c>request_id</c> log scope around a grain call that carries one in its request context
/// (set by the gateway's request id middleware, passed on by Orleans to the calls that grain makes), so lines the
/// grains write while handling a request name it as the gateway's lines do.
/// </summary>
public sealed class RequestIdGrainCallFilter(ILogger<RequestIdGrainCallFilter> logger) : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (RequestContext.Get(RequestIds.Key) is not string id)
        {
            await context.Invoke();
            return;
        }

        using var scope = logger.BeginScope(new RequestIdScope(id));
        await context.Invoke();
    }
}
