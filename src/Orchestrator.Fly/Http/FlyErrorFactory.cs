using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.RateLimiting;
using Polly.Timeout;

namespace Orchestrator.Fly.Http;

/// <summary>
/// Turns every failed Fly call into a <see cref="FlyApiException"/>: error responses (through Refit's
/// exception factory), transport failures and resilience rejections. It is also the one place that makes
/// sure the API token can not leak through a message.
/// </summary>
internal sealed partial class FlyErrorFactory(IOptions<FlyOptions> options, TimeProvider timeProvider, ILogger<FlyErrorFactory> logger)
{
    internal const string RequestIdHeader = "fly-request-id";

    // Error bodies are short JSON; anything longer is not worth carrying around in an exception.
    private const int MaxBodyChars = 2_000;

    private readonly string[] _secrets = FlyAuthHandler.SecretParts(options.Value.ApiToken);

    public async ValueTask<Exception?> FromResponseAsync(HttpResponseMessage response)
    {
        if (response.IsSuccessStatusCode)
        {
            return null;
        }

        var body = response.Content is null ? "" : await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        var (flyMessage, flyStatus) = ParseBody(body);
        flyMessage = Redact(flyMessage);
        var status = (int)response.StatusCode;
        var (category, retryable) = Classify(status, flyMessage, flyStatus);
        var requestId = response.Headers.TryGetValues(RequestIdHeader, out var ids) ? ids.FirstOrDefault() : null;
        var retryAfter = ReadRetryAfter(response);
        var request = response.RequestMessage;
        var method = request?.Method.Method ?? "?";
        var path = request?.RequestUri?.AbsolutePath ?? "?";

        if (status is 404 or 408)
        {
            LogExpectedFailure(logger, method, path, status, category, flyMessage, requestId);
        }
        else
        {
            LogFailure(logger, method, path, status, category, flyMessage, requestId);
        }

        var message = $"Fly API {method} {path} failed with {status} {response.StatusCode} ({category}): {flyMessage ?? "(no body)"}"
            + (requestId is null ? "" : $" [fly-request-id {requestId}]");
        return new FlyApiException(message, category, retryable, status, flyMessage, flyStatus, requestId, retryAfter);
    }

    public Exception FromTransport(HttpRequestMessage request, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is FlyApiException || (exception is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            return exception;
        }

        var method = request.Method.Method;
        var path = request.RequestUri?.AbsolutePath ?? "?";
        // Only an open circuit and the local limiter are sure the request never left; anything else may have reached Fly.
        var (category, retryAfter, sent, what) = exception switch
        {
            TimeoutRejectedException or OperationCanceledException => (FlyErrorCategory.Timeout, (TimeSpan?)null, true, "no answer in time"),
            BrokenCircuitException => (FlyErrorCategory.Server, (TimeSpan?)null, false, "the circuit to Fly is open after repeated failures"),
            RateLimiterRejectedException limited => (FlyErrorCategory.RateLimited, limited.RetryAfter, false, "the local Fly rate limiter could not admit the call"),
            _ => (FlyErrorCategory.Server, (TimeSpan?)null, true, "transport error: " + Redact(exception.Message)),
        };

        LogTransportFailure(logger, method, path, category, exception.GetType().Name);
        var message = $"Fly API {method} {path} failed ({category}): {what}";
        return new FlyApiException(message, category, retryable: true, statusCode: null, flyMessage: null, flyStatus: null, requestId: null, retryAfter, exception, outcomeUnknown: sent);
    }

    public Exception FromDeserialization(HttpResponseMessage response, Exception exception)
    {
        var request = response.RequestMessage;
        var requestId = response.Headers.TryGetValues(RequestIdHeader, out var ids) ? ids.FirstOrDefault() : null;
        var message = $"Fly API {request?.Method.Method} {request?.RequestUri?.AbsolutePath} answered {(int)response.StatusCode} with a body that does not match the expected model: {Redact(exception.Message)}";
        return new FlyApiException(message, FlyErrorCategory.Server, retryable: false, (int)response.StatusCode, null, null, requestId, null, exception);
    }

    /// <summary>Maps a status and Fly's text to a category; capacity shapes are recognised whatever status carries them.</summary>
    internal static (FlyErrorCategory Category, bool Retryable) Classify(int status, string? message, string? flyStatus)
    {
        var text = message ?? "";
        var capacity = string.Equals(flyStatus, "insufficient_capacity", StringComparison.OrdinalIgnoreCase)
            || Contains(text, "capacity")
            || Contains(text, "insufficient resources")
            || Contains(text, "insufficient memory")
            || Contains(text, "could not reserve resource")
            || Contains(text, "over the allowed quota");

        return status switch
        {
            401 => (FlyErrorCategory.Authentication, false),
            // A quota refusal is a 403 too, but the token is fine: the organisation is out of room in a region.
            403 => capacity ? (FlyErrorCategory.Capacity, false) : (FlyErrorCategory.Authentication, false),
            404 => (FlyErrorCategory.NotFound, false),
            408 => (FlyErrorCategory.Timeout, true),
            429 => (FlyErrorCategory.RateLimited, true),
            _ when capacity => (FlyErrorCategory.Capacity, true),
            // Lease conflicts end when the lease expires or is released; other conflicts need a change first.
            409 => (FlyErrorCategory.Conflict, Contains(text, "lease")),
            // "machine getting replaced" ends by itself; other failed preconditions need a change first.
            412 => (FlyErrorCategory.Conflict, Contains(text, "getting replaced")),
            >= 500 => (FlyErrorCategory.Server, true),
            _ => (FlyErrorCategory.Validation, false),
        };
    }

    private static bool Contains(string text, string value) => text.Contains(value, StringComparison.OrdinalIgnoreCase);

    private static (string? Message, string? Status) ParseBody(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return (null, null);
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                var root = document.RootElement;
                // fly-go prefers "message" (lease envelope) over "error"; the lease envelope's "status" is just "error".
                var message = GetString(root, "message") ?? GetString(root, "error");
                var code = GetString(root, "code");
                var status = GetString(root, "status");
                return (message, code ?? (status == "error" ? null : status));
            }
        }
        catch (JsonException)
        {
            // Not JSON: keep the raw text below.
        }

        return (body.Length > MaxBodyChars ? body[..MaxBodyChars] : body, null);
    }

    private static string? GetString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private TimeSpan? ReadRetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        if (header?.Date is { } date)
        {
            var wait = date - timeProvider.GetUtcNow();
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }

    private string? Redact(string? text)
    {
        if (text is null)
        {
            return null;
        }

        foreach (var secret in _secrets)
        {
            text = text.Replace(secret, "[redacted]", StringComparison.Ordinal);
        }

        return text;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fly API {Method} {Path} answered {StatusCode} ({Category}): {FlyMessage} [fly-request-id {RequestId}]")]
    private static partial void LogFailure(ILogger logger, string method, string path, int statusCode, FlyErrorCategory category, string? flyMessage, string? requestId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Fly API {Method} {Path} answered {StatusCode} ({Category}): {FlyMessage} [fly-request-id {RequestId}]")]
    private static partial void LogExpectedFailure(ILogger logger, string method, string path, int statusCode, FlyErrorCategory category, string? flyMessage, string? requestId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Fly API {Method} {Path} failed without an answer ({Category}, {ExceptionType})")]
    private static partial void LogTransportFailure(ILogger logger, string method, string path, FlyErrorCategory category, string exceptionType);
}
