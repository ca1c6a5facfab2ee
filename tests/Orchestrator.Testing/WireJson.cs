using System.Text.Json;

namespace Orchestrator.Testing;

/// <summary>How the API writes JSON (snake_case members), for tests that read answers into the gateway's records.</summary>
public static class WireJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
