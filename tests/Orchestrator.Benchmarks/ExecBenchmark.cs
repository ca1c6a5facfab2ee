using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Orchestrator.Fly;
using Orchestrator.Fly.Emulator;
using Orchestrator.Ssh;
using Orchestrator.Testing;
using Renci.SshNet;

namespace Orchestrator.Benchmarks;

/// <summary>
/// Round trip of `true` on emulator machines (sandboxes with their own sshd on a loopback address, whose root has
/// no shell start-up files of the host's), side by side in one run: OpenSSH with a new connection per command,
/// OpenSSH reusing a ControlMaster connection (Ansible's ControlPersist), SSH.NET on an already open connection
/// (the floor), Orchestrator's pooled exec, and the HTTP API (gateway, SshSessionGrain, the silo's pool) on an
/// instance created through the API on the same emulator. The methods take turns, one run each per iteration and
/// the first of them rotating, so a drift in machine load reaches every method alike.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class ExecBenchmark(int runs)
{
    public const int WarmUps = 5;
    private const string App = "exec-bench";
    private const string Instance = "bench";

    public async Task<ExecReport> RunAsync()
    {
        IReadOnlyList<Measured> measured;
        SandboxProcesses sandboxes;
        await using (var emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(20), RateLimitScale = 20 }))
        {
            sandboxes = new SandboxProcesses(emulator.DataDirectory);
            measured = await RunAsync(emulator, sandboxes);
        }

        return new ExecReport(measured, sandboxes.Count, sandboxes.Alive());
    }

    private async Task<IReadOnlyList<Measured>> RunAsync(FlyEmulator emulator, SandboxProcesses sandboxes)
    {
        var server = await CreateMachineAsync(emulator);
        await using var silo = await ApiSilo.StartAsync(emulator);
        await silo.CreateStartedAsync(Instance);

        var keyFile = Path.Combine(Path.GetTempPath(), $"orch-bench-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(keyFile, server.ClientPrivateKeyPem);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var controlPath = Path.Combine(Path.GetTempPath(), $"orch-cm-{Guid.NewGuid():N}");
        string[] common =
        [
            "-i", keyFile, "-p", server.Port.ToString(CultureInfo.InvariantCulture),
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
        ];
        string[] master = [.. common, "-o", "ControlMaster=auto", "-o", $"ControlPath={controlPath}", "-o", "ControlPersist=120"];
        var destination = $"{server.UserName}@{server.Host}";

        using var pem = new MemoryStream(Encoding.UTF8.GetBytes(server.ClientPrivateKeyPem));
        using var client = new SshClient(server.Host, server.Port, server.UserName, new PrivateKeyFile(pem));
        await using var pool = new SshConnectionPool(new SshPoolOptions(), NullLogger<SshConnectionPool>.Instance, TimeProvider.System);
        var target = new SshTarget(server.Host, server.Port, server.UserName, server.ClientPrivateKeyPem, PinnedHostKey: null);
        var headers = new List<double>(runs);
        try
        {
            await client.ConnectAsync(CancellationToken.None);
            var methods = new List<Method>
            {
                new("(a) OpenSSH ssh, new connection per command", () => SshAsync([.. common, destination, "true"])),
                // The first run starts the master (ControlPersist keeps it in the background); the rest reuse it.
                new("(b) OpenSSH ssh, reused ControlMaster connection", () => SshAsync([.. master, destination, "true"])),
                new("(c) SSH.NET on an open connection (floor)", async () =>
                {
                    using var command = client.CreateCommand("true");
                    await command.ExecuteAsync(CancellationToken.None);
                    ExpectZero(command.ExitStatus);
                }),
                new("(d) Orchestrator SshConnectionPool.ExecAsync", async () =>
                {
                    var result = await pool.ExecAsync("bench", target, new SshExecRequest("true"), static (_, _) => ValueTask.CompletedTask, CancellationToken.None);
                    ExpectZero(result.ExitCode);
                }),
                new("(e) HTTP API exec, NDJSON read to the end", async () =>
                {
                    var (toHeaders, exitCode) = await silo.ExecTrueAsync(Instance);
                    ExpectZero(exitCode);
                    headers.Add(toHeaders.TotalMilliseconds);
                }),
            };

            var measured = await MeasureInterleavedAsync(methods, runs, WarmUps);
            sandboxes.Record();
            // Warm-up runs of (e) recorded their header times too: keep the measured ones.
            measured.Add(new("    (e) of which until the response headers", Percentiles.Of(headers[^runs..]), double.NaN));
            return measured;
        }
        finally
        {
            await ToolProcess.RunAsync("ssh", [.. master, "-O", "exit", destination], TimeSpan.FromSeconds(10));
            File.Delete(keyFile);
        }
    }

    /// <summary>
    /// Runs each method <paramref name="warmUps"/> times, then <paramref name="runs"/> times in turns, the first of
    /// each turn rotating, so a drift in machine load reaches every method alike.
    /// </summary>
    internal static async Task<List<Measured>> MeasureInterleavedAsync(IReadOnlyList<Method> methods, int runs, int warmUps)
    {
        foreach (var method in methods)
        {
            for (var i = 0; i < warmUps; i++)
            {
                await method.Once();
            }
        }

        var samples = methods.Select(_ => new List<double>(runs)).ToArray();
        var cpu = new TimeSpan[methods.Count];
        for (var i = 0; i < runs; i++)
        {
            for (var j = 0; j < methods.Count; j++)
            {
                var m = (i + j) % methods.Count;
                var cpuBefore = Environment.CpuUsage.TotalTime;
                var start = Stopwatch.GetTimestamp();
                await methods[m].Once();
                samples[m].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                cpu[m] += Environment.CpuUsage.TotalTime - cpuBefore;
            }
        }

        return [.. methods.Select((method, m) => new Measured(method.Name, Percentiles.Of(samples[m]), cpu[m].TotalMilliseconds / runs))];
    }

    internal static async Task<(string Host, int Port, string UserName, string ClientPrivateKeyPem)> CreateMachineAsync(FlyEmulator emulator)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddFlyMachines(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fly:BaseAddress"] = emulator.BaseAddress.ToString(),
            ["Fly:ApiToken"] = emulator.ApiToken,
            ["Fly:AppName"] = App,
            ["Fly:RateLimitScale"] = "20",
        }).Build());
        await using var provider = services.BuildServiceProvider();
        var fly = provider.GetRequiredService<IMachineProvider>();
        var key = SshKeys.GenerateEd25519(App);
        await fly.CreateAppAsync(App);
        var created = await fly.CreateMachineAsync(App, new CreateMachineRequest
        {
            Region = "ams",
            Config = new FlyMachineConfig
            {
                Image = "ubuntu:24.04",
                Guest = new FlyGuest { CpuKind = "shared", Cpus = 1, MemoryMb = 256 },
                Files = [new FlyMachineFile { GuestPath = "/root/.ssh/authorized_keys", RawValue = Convert.ToBase64String(Encoding.UTF8.GetBytes(key.PublicKey + "\n")) }],
            },
        });
        await fly.WaitForStateAsync(App, created.Id!, "started", TimeSpan.FromSeconds(60));
        var machine = await fly.GetMachineAsync(App, created.Id!);
        return (machine.PrivateIp!, 2222, "root", key.PrivateKeyOpenSsh);
    }

    private static void ExpectZero(int? exitCode)
    {
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"true exited {exitCode?.ToString(CultureInfo.InvariantCulture) ?? "without a status"}");
        }
    }

    private static async Task SshAsync(string[] arguments)
    {
        var result = await ToolProcess.RunAsync("ssh", arguments, TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ssh exited {result.ExitCode}: {result.Output}");
        }
    }

    internal sealed record Method(string Name, Func<Task> Once);
}

/// <summary>
/// One method's latencies, and the CPU time this process (client, gateway, silo, emulator; not the ssh child
/// processes nor the sandboxes) used per run, background threads included.
/// </summary>
internal sealed record Measured(string Name, Percentiles Result, double CpuMillisecondsPerRun);

/// <summary>The measurements, and the machine processes seen while they ran and still alive after teardown.</summary>
internal sealed record ExecReport(IReadOnlyList<Measured> Measured, int SandboxProcesses, IReadOnlyList<string> LeftOver);

internal sealed record Percentiles(double P50, double P99)
{
    /// <summary>Nearest-rank p50 and p99.</summary>
    public static Percentiles Of(IEnumerable<double> samples)
    {
        var sorted = samples.Order().ToArray();
        return sorted.Length == 0 ? new Percentiles(double.NaN, double.NaN) : new Percentiles(sorted[sorted.Length / 2], sorted[(int)Math.Ceiling(sorted.Length * 0.99) - 1]);
    }
}
