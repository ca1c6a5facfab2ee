using System.Text.Json.Nodes;

namespace Orchestrator.Fly.Emulator.Tests.Support;

/// <summary>The Fly fixtures (Fixtures/fly, copied into the test output by Orchestrator.Testing).</summary>
internal static class Fixtures
{
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Fixtures", "fly");

    public static JsonNode Load(string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Directory, name))) ?? throw new InvalidOperationException($"{name} is JSON null");

    public static JsonObject Object(string name) => Load(name).AsObject();

    /// <summary>Every fixture that is a response body: <c>*.response.json</c> and <c>error-*.json</c>.</summary>
    public static IReadOnlyList<string> ResponseFiles() =>
        [.. System.IO.Directory.EnumerateFiles(Directory, "*.json")
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(n => n.EndsWith(".response.json", StringComparison.Ordinal) || n.StartsWith("error-", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];

    private static readonly Lazy<OpenApiSchemas> Spec = new(() => new OpenApiSchemas(Object("fly-machines-openapi.json")));

    public static OpenApiSchemas OpenApi => Spec.Value;
}
