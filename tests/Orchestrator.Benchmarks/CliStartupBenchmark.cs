using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Console;
using Orchestrator.Silo.Hosting;
using Orchestrator.Testing;

namespace Orchestrator.Benchmarks;

/// <summary>
/// Cold wall time of <c>orch --version</c> and <c>orch instances list</c> (a new process each time, as a shell runs
/// it) for the Native AOT binary and the JIT one (its apphost, as a .NET tool runs it), against curl making the same
/// list call, against the production silo on the dev profile in this process. Runs are interleaved round-robin so
/// a noisy neighbour hurts every command alike; the median of each is reported.
/// </summary>
internal sealed class CliStartupBenchmark(int runs, string? aotBinary)
{
    public async Task<bool> RunAsync(Action<string> report)
    {
        var root = FindRoot();
        var aot = aotBinary ?? await PublishAotAsync(root, report);
        var jit = Path.Combine(root, "src", "Orchestrator.Cli", "bin", "Release", "net10.0", "orch");
        if (!File.Exists(jit))
        {
            report($"no JIT build at {jit}: dotnet build src/Orchestrator.Cli -c Release first");
            return false;
        }

        await using var silo = SiloApplication.Build(
            [
                "--urls=http://127.0.0.1:0",
                $"--Orchestrator:SiloPort={LoopbackPort.Free()}",
                $"--Orchestrator:GatewayPort={LoopbackPort.Free()}",
                $"--Orchestrator:Secrets:EncryptionKey={Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))}",
                "--Orchestrator:Http:RateLimit:PermitsPerSecond=5000",
            ],
            builder =>
            {
                builder.Logging.ClearProviders();
                builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
                builder.Logging.AddFilter<ConsoleLoggerProvider>(null, LogLevel.Error);
            });
        await SiloApplication.StartAsync(silo);
        var url = silo.Urls.First();
        var config = Directory.CreateTempSubdirectory("orch-bench").FullName;
        var environment = new Dictionary<string, string> { ["ORCH_URL"] = url, ["ORCH_KEY"] = Gateway.Auth.AuthSettings.DevKey, ["XDG_CONFIG_HOME"] = config };
        var commands = new (string Name, string File, string[] Args)[]
        {
            ("orch --version (AOT)", aot, ["--version"]),
            ("orch --version (JIT)", jit, ["--version"]),
            ("orch instances list (AOT)", aot, ["instances", "list", "-o", "json"]),
            ("orch instances list (JIT)", jit, ["instances", "list", "-o", "json"]),
            ("curl GET /api/instances", "curl", ["-sf", "-o", "/dev/null", "-H", $"Authorization: Bearer {Gateway.Auth.AuthSettings.DevKey}", $"{url.TrimEnd('/')}/api/instances"]),
        };

        var times = commands.ToDictionary(static c => c.Name, static _ => new List<double>());
        // One warm-up round: the first start of each binary pays for the page cache, which a user's second call does not.
        for (var round = 0; round <= runs; round++)
        {
            foreach (var (name, file, args) in commands)
            {
                var elapsed = await TimeAsync(file, args, environment);
                if (round > 0)
                {
                    times[name].Add(elapsed);
                }
            }
        }

        var medians = times.ToDictionary(static t => t.Key, static t => t.Value.Order().ElementAt(t.Value.Count / 2));
        var curl = medians["curl GET /api/instances"];
        foreach (var (name, median) in medians)
        {
            report($"{name,-28} median {median,8:0.0} ms   ({median / curl:0.00}x curl)  min {times[name].Min(),8:0.0}  max {times[name].Max(),8:0.0}");
        }

        var goal = medians["orch instances list (AOT)"] <= 3 * curl;
        report($"goal (AOT instances list within 3x of curl): {(goal ? "met" : "missed")}");
        Directory.Delete(config, recursive: true);
        await silo.StopAsync();
        return true;
    }

    private static async Task<double> TimeAsync(string file, string[] args, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var elapsed = clock.Elapsed.TotalMilliseconds;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited {process.ExitCode}: {await output}{await error}");
        }

        return elapsed;
    }

    private static async Task<string> PublishAotAsync(string root, Action<string> report)
    {
        var output = Directory.CreateTempSubdirectory("orch-aot").FullName;
        report($"publishing the Native AOT binary to {output}");
        var publish = await ToolProcess.RunAsync("dotnet", ["publish", Path.Combine(root, "src", "Orchestrator.Cli"), "-c", "Release", "-r", "linux-x64", "-p:PublishAot=true", "-o", output, "-nologo"], TimeSpan.FromMinutes(10));
        if (publish.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet publish -p:PublishAot=true failed: {publish.Output}");
        }

        return Path.Combine(output, "orch");
    }

    private static string FindRoot()
    {
        for (var directory = AppContext.BaseDirectory; directory is not null; directory = Path.GetDirectoryName(directory))
        {
            if (File.Exists(Path.Combine(directory, "Orchestrator.sln")))
            {
                return directory;
            }
        }

        throw new InvalidOperationException("No Orchestrator.sln above the benchmark.");
    }
}
