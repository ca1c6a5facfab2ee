using Microsoft.AspNetCore.Http.Features;

namespace Orchestrator.Gateway.Streaming;

/// <summary>
/// What the streaming answers (a command's output, a run's events) share: a response that reaches the client as it is
/// written, and waiting for the next item while keeping a quiet stream open.
/// </summary>
internal static class StreamingResponse
{
    /// <summary>Sends the status line now: 200 with <paramref name="contentType"/>, neither cached nor buffered.</summary>
    public static async Task StartAsync(HttpContext context, string contentType, CancellationToken cancellationToken)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = contentType;
        context.Response.Headers.CacheControl = "no-cache";
        // Proxies such as nginx would otherwise hold output back until the stream ends.
        context.Response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await context.Response.StartAsync(cancellationToken);
    }

    /// <summary>MoveNext, calling <paramref name="keepAlive"/> whenever nothing came for <paramref name="interval"/>.</summary>
    public static async Task<bool> NextAsync<T>(
        IAsyncEnumerator<T> items, Func<CancellationToken, ValueTask> keepAlive, TimeProvider time, TimeSpan interval, CancellationToken cancellationToken)
    {
        var next = items.MoveNextAsync();
        if (next.IsCompleted)
        {
            return await next;
        }

        var pending = next.AsTask();
        while (true)
        {
            // Cancelled once the item comes, so a fast stream leaves no timers behind.
            using var tickCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var tick = Task.Delay(interval, time, tickCancel.Token);
            if (await Task.WhenAny(pending, tick) == pending)
            {
                await tickCancel.CancelAsync();
                return await pending;
            }

            cancellationToken.ThrowIfCancellationRequested();
            await keepAlive(cancellationToken);
        }
    }
}
