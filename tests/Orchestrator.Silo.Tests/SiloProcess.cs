using Orchestrator.Testing;

namespace Orchestrator.Silo.Tests;

/// <summary>Runs the built silo as a separate process, the way a user or a container starts it.</summary>
internal static class SiloProcess
{
    public static async Task<(int ExitCode, string StandardOutput, string StandardError)> RunToExitAsync(
        IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Orchestrator.Silo.dll");
        Assert.True(File.Exists(dll), $"The silo was not built next to the tests: {dll} is missing.");
        // Settings from the test runner's own environment must not leak into the silo under test.
        var variables = Environment.GetEnvironmentVariables().Keys.Cast<string>()
            .Where(k => k.StartsWith("Orchestrator__", StringComparison.OrdinalIgnoreCase)
                || k.StartsWith("ConnectionStrings__", StringComparison.OrdinalIgnoreCase)
                || k.StartsWith("FLY_", StringComparison.Ordinal))
            .ToDictionary(k => k, string? (_) => null);
        foreach (var (key, value) in environment)
        {
            variables[key] = value;
        }

        var result = await ToolProcess.RunAsync("dotnet", [dll, "--urls=http://127.0.0.1:0"], timeout, environment: variables, workingDirectory: AppContext.BaseDirectory);
        return (result.ExitCode, result.StandardOutput, result.StandardError);
    }
}
