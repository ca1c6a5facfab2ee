using System.Buffers;

namespace Orchestrator.Hosting;

/// <summary>
/// The rules of <c>X-Request-Id</c>. A client's id is taken as it is when it is 1 to 128 characters from
/// <c>A-Z a-z 0-9 - _ . : + / =</c> (UUIDs, hex and base64 ids, W3C trace ids, <c>Root=1-...</c> style ids);
/// anything else (empty, longer, spaces, control characters, a second header) is refused with 400, so an id
/// can be echoed in headers and written to logs and JSON without escaping. Without the header one is generated.
/// </summary>
public static class RequestIds
{
    public const string HeaderName = "X-Request-Id";
    public const int MaxLength = 128;

    /// <summary>The key of the id in problem details, in log scopes and in the Orleans request context.</summary>
    public const string Key = "request_id";

    private static readonly SearchValues<char> Allowed =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:+/=");

    public static bool IsValid(string? value) =>
        value is { Length: > 0 and <= MaxLength } && !value.AsSpan().ContainsAnyExcept(Allowed);

    /// <summary>A new id: 32 lowercase hex digits, time-ordered (UUID version 7) so ids sort by arrival.</summary>
    public static string Generate(TimeProvider time) => Guid.CreateVersion7(time.GetUtcNow()).ToString("N");
}
