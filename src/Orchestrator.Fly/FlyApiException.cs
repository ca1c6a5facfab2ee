namespace Orchestrator.Fly;

/// <summary>What kind of failure a Fly call met; callers branch on this, not on status codes.</summary>
public enum FlyErrorCategory
{
    /// <summary>401, or 403 for a token without scope: fix the token, do not retry.</summary>
    Authentication = 0,

    NotFound = 1,

    /// <summary>409 or 412: a lease held by someone else, a concurrent update, a machine in the wrong state.</summary>
    Conflict = 2,

    /// <summary>
    /// No room for the request on Fly's side, whatever status carried it: 503 <c>insufficient_capacity</c>,
    /// 412 insufficient resources for a volume's host, 409 insufficient memory, 400 volume <c>no capacity</c>,
    /// and 403 over the organisation's regional quota. Another region or a later try may succeed.
    /// </summary>
    Capacity = 3,

    /// <summary>429, or the local limiter could not admit the call.</summary>
    RateLimited = 4,

    /// <summary>400 or 422: the request itself is wrong (including app name taken).</summary>
    Validation = 5,

    /// <summary>408, or no answer in time. For a create, the resource may exist all the same.</summary>
    Timeout = 6,

    /// <summary>5xx, a transport error, or an open circuit. For a create, the resource may exist all the same.</summary>
    Server = 7,
}

/// <summary>
/// A failed Fly Machines API call. The message carries Fly's own text and the request id to quote to Fly
/// support; it never carries the API token.
/// </summary>
public sealed class FlyApiException : Exception
{
    public FlyApiException()
        : this("The Fly Machines API call failed.")
    {
    }

    public FlyApiException(string message)
        : this(message, null)
    {
    }

    public FlyApiException(string message, Exception? innerException)
        : base(message, innerException)
    {
        Category = FlyErrorCategory.Server;
    }

    internal FlyApiException(
        string message,
        FlyErrorCategory category,
        bool retryable,
        int? statusCode,
        string? flyMessage,
        string? flyStatus,
        string? requestId,
        TimeSpan? retryAfter,
        Exception? innerException = null,
        bool? outcomeUnknown = null)
        : base(message, innerException)
    {
        OutcomeUnknown = outcomeUnknown ?? category is FlyErrorCategory.Timeout or FlyErrorCategory.Server;
        Category = category;
        Retryable = retryable;
        StatusCode = statusCode;
        FlyMessage = flyMessage;
        FlyStatus = flyStatus;
        RequestId = requestId;
        RetryAfter = retryAfter;
    }

    public FlyErrorCategory Category { get; }

    /// <summary>True when the same call may succeed later unchanged (after <see cref="RetryAfter"/> if set).</summary>
    public bool Retryable { get; }

    /// <summary>The HTTP status; null when no response arrived (timeout, transport error, open circuit, local limiter).</summary>
    public int? StatusCode { get; }

    /// <summary>Fly's <c>message</c> (lease endpoints) or <c>error</c> field, or the raw body when it is not JSON.</summary>
    public string? FlyMessage { get; }

    /// <summary>Fly's machine-readable code: <c>status</c> (<c>name_taken</c>, <c>insufficient_capacity</c>) or the lease <c>code</c>.</summary>
    public string? FlyStatus { get; }

    /// <summary>The <c>fly-request-id</c> response header.</summary>
    public string? RequestId { get; }

    /// <summary>From the <c>Retry-After</c> header, or the circuit breaker's remaining break.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>
    /// True when the call may have taken effect although it failed: no answer in time, a transport error, 408,
    /// or a 5xx that is not a capacity refusal. A create that ends like this must be reconciled before it is
    /// repeated. False when the call never left the process (open circuit, local limiter).
    /// </summary>
    public bool OutcomeUnknown { get; }

    /// <summary>True for a 409 caused by a lease someone else holds (or a write without our nonce).</summary>
    public bool IsLeaseConflict =>
        Category == FlyErrorCategory.Conflict && FlyMessage?.Contains("lease", StringComparison.OrdinalIgnoreCase) == true;
}
