using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Orchestrator.Testing;

/// <summary>
/// Authentication for tests that call the HTTP API: the admin key test hosts are configured with,
/// and tenant keys made through the admin API exactly as a user would make them.
/// </summary>
public static class ApiKeys
{
    /// <summary>The admin key every test host is started with (<c>Orchestrator:Auth:AdminKey</c>).</summary>
    public const string Admin = "test-admin-key-6b1f0c7e2d9a4f3b8c5e1a7d0f2b4c6e";

    /// <summary>The dev profile's built-in key for tenant <c>dev</c>.</summary>
    public const string Dev = "dev-key";

    public static AuthenticationHeaderValue Bearer(string key) => new("Bearer", key);

    /// <summary>Creates <paramref name="tenant"/> (if new) and a new key for it through the admin API; returns the key.</summary>
    public static async Task<string> CreateTenantKeyAsync(Uri baseAddress, string tenant, string keyName = "tests", CancellationToken cancellationToken = default)
    {
        using var admin = new HttpClient { BaseAddress = baseAddress };
        admin.DefaultRequestHeaders.Authorization = Bearer(Admin);
        using (var created = await admin.PostAsJsonAsync("/api/tenants", new { id = tenant, display_name = tenant }, cancellationToken))
        {
            if (!created.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"Creating tenant '{tenant}' answered {(int)created.StatusCode}: {await created.Content.ReadAsStringAsync(cancellationToken)}");
            }
        }

        using var key = await admin.PostAsJsonAsync($"/api/tenants/{tenant}/keys", new { name = keyName }, cancellationToken);
        var body = await key.Content.ReadAsStringAsync(cancellationToken);
        if (!key.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Creating a key for '{tenant}' answered {(int)key.StatusCode}: {body}");
        }

        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("key").GetString()!;
    }
}
