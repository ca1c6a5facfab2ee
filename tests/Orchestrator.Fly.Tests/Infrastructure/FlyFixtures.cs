namespace Orchestrator.Fly.Tests.Infrastructure;

/// <summary>The Fly fixture bodies, copied to the test output by Orchestrator.Testing.</summary>
public static class FlyFixtures
{
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "Fixtures", "fly");

    public static string Read(string name) => File.ReadAllText(Path.Combine(Directory, name));

    public static IReadOnlyList<string> Named(string pattern) =>
        [.. System.IO.Directory.GetFiles(Directory, pattern).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];
}
