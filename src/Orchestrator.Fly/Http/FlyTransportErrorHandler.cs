namespace Orchestrator.Fly.Http;

/// <summary>
/// The outermost handler: a call that ends without an answer (timeout, open circuit, limiter refusal, transport
/// error) leaves here as a <see cref="FlyApiException"/>. Refit's transport-exception hook does the same, but
/// not for methods without a response body, so the mapping lives here where every call passes.
/// </summary>
internal sealed class FlyTransportErrorHandler(FlyErrorFactory errors) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not FlyApiException && !(ex is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            throw errors.FromTransport(request, ex, cancellationToken);
        }
    }
}
