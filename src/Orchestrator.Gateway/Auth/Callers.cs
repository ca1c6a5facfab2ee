using System.Net;
using System.Security.Claims;

namespace Orchestrator.Gateway.Auth;

/// <summary>The claims the API key handler puts on a request, and the policies built on them.</summary>
public static class Callers
{
    public const string TenantClaim = "orchestrator/tenant";
    public const string KeyClaim = "orchestrator/key";
    public const string AdminRole = "admin";

    /// <summary>A tenant's key: every tenant-scoped endpoint.</summary>
    public const string TenantPolicy = "tenant";

    /// <summary>The admin key: tenant management.</summary>
    public const string AdminPolicy = "admin";

    /// <summary>Any valid key, tenant or admin.</summary>
    public const string AnyKeyPolicy = "any-key";

    /// <summary>The Orleans dashboard: the admin key, or any loopback client in the dev profile.</summary>
    public const string DashboardPolicy = "dashboard";

    /// <summary>
    /// The tenant of an authenticated request. Endpoints behind <see cref="TenantPolicy"/> always
    /// have one; grain keys start with it, so no request can name another tenant's objects.
    /// </summary>
    public static string Tenant(this ClaimsPrincipal user) =>
        user.FindFirstValue(TenantClaim) ?? throw new InvalidOperationException("The endpoint is not behind the tenant policy.");

    /// <summary>Whether the request came from this machine (what the dev profile's conveniences require).</summary>
    public static bool IsFromLoopback(this HttpContext context) =>
        context.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(address);

    /// <summary>The id of the key that authenticated the request (rate limits are per key).</summary>
    public static string? KeyId(this ClaimsPrincipal user) => user.FindFirstValue(KeyClaim);
}
