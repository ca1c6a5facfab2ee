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
/// Round trip of `true` on one emulator machine (a sandbox with its own sshd on its loopback address, whose
/// root has no shell start-up files of the host's), side by side in one run: OpenSSH with a new
/// connection per command, OpenSSH reusing a ControlMaster connection (Ansible's ControlPersist),
/// SSH.NET on an already open connection (the floor), and Orchestrator's pooled exec.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed class ExecBenchmark(int runs)
{
    public async Task<IReadOnlyList<(string Name, Percentiles Result)>> RunAsync()
    {
        await using var emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(20) });
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddFlyMachines(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Fly:BaseAddress"] = emulator.BaseAddress.ToString(),
            ["Fly:ApiToken"] = emulator.ApiToken,
            ["Fly:AppName"] = "exec-bench",
        }).Build());
        await using var provider = services.BuildServiceProvider();
        var fly = provider.GetRequiredService<IMachineProvider>();
        var key = SshKeys.GenerateEd25519("exec-bench");
        await fly.CreateAppAsync("exec-bench");
        var created = await fly.CreateMachineAsync("exec-bench", new CreateMachineRequest
        {
            Region = "ams",
            Config = new FlyMachineConfig
            {
                Image = "ubuntu:24.04",
                Guest = new FlyGuest { CpuKind = "shared", Cpus = 1, MemoryMb = 256 },
                Files = [new FlyMachineFile { GuestPath = "/root/.ssh/authorized_keys", RawValue = Convert.ToBase64String(Encoding.UTF8.GetBytes(key.PublicKey + "\n")) }],
            },
        });
        await fly.WaitForStateAsync("exec-bench", created.Id!, "started", TimeSpan.FromSeconds(60));
        var machine = await fly.GetMachineAsync("exec-bench", created.Id!);
        var server = (Host: machine.PrivateIp!, Port: 2222, UserName: "root", ClientPrivateKeyPem: key.PrivateKeyOpenSsh);
        var keyFile = Path.Combine(Path.GetTempPath(), $"orch-bench-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(keyFile, server.ClientPrivateKeyPem);
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var controlPath = Path.Combine(Path.GetTempPath(), $"orch-cm-{Guid.NewGuid():N}");
        string[] common =
        [
            "-i", keyFile, "-p", server.Port.ToString(CultureInfo.InvariantCulture),
            "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
        ];
        var destination = $"{server.UserName}@{server.Host}";
        try
        {
            var results = new List<(string, Percentiles)>
            {
                ("(a) OpenSSH ssh, new connection per command", await MeasureAsync(() => SshAsync([.. common, destination, "true"]))),
            };

            string[] master = [.. common, "-o", "ControlMaster=auto", "-o", $"ControlPath={controlPath}", "-o", "ControlPersist=120"];
            await SshAsync([.. master, destination, "true"]);
            results.Add(("(b) OpenSSH ssh, reused ControlMaster connection", await MeasureAsync(() => SshAsync([.. master, destination, "true"]))));
            await SshAsync([.. master, "-O", "exit", destination]);

            using (var pem = new MemoryStream(Encoding.UTF8.GetBytes(server.ClientPrivateKeyPem)))
            using (var client = new SshClient(server.Host, server.Port, server.UserName, new PrivateKeyFile(pem)))
            {
                await client.ConnectAsync(CancellationToken.None);
                results.Add(("(c) SSH.NET on an open connection (floor)", await MeasureAsync(async () =>
                {
                    using var command = client.CreateCommand("true");
                    await command.ExecuteAsync(CancellationToken.None);
                    if (command.ExitStatus != 0)
                    {
                        throw new InvalidOperationException($"true exited {command.ExitStatus}");
                    }
                })));
            }

            await using (var pool = new SshConnectionPool(new SshPoolOptions(), NullLogger<SshConnectionPool>.Instance, TimeProvider.System))
            {
                var target = new SshTarget(server.Host, server.Port, server.UserName, server.ClientPrivateKeyPem, PinnedHostKey: null);
                results.Add(("(d) Orchestrator SshConnectionPool.ExecAsync", await MeasureAsync(async () =>
                {
                    var result = await pool.ExecAsync("bench", target, new SshExecRequest("true"), static (_, _) => ValueTask.CompletedTask, CancellationToken.None);
                    if (result.ExitCode != 0)
                    {
                        throw new InvalidOperationException($"true exited {result.ExitCode}");
                    }
                })));
            }

            return results;
        }
        finally
        {
            File.Delete(keyFile);
        }
    }

    private async Task<Percentiles> MeasureAsync(Func<Task> once)
    {
        for (var i = 0; i < 5; i++)
        {
            await once();
        }

        var samples = new List<double>(runs);
        for (var i = 0; i < runs; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await once();
            samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        samples.Sort();
        return new Percentiles(samples[samples.Count / 2], samples[(int)Math.Ceiling(samples.Count * 0.99) - 1]);
    }

    private static async Task SshAsync(string[] arguments)
    {
        var result = await ToolProcess.RunAsync("ssh", arguments, TimeSpan.FromSeconds(30));
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ssh exited {result.ExitCode}: {result.Output}");
        }
    }
}

internal sealed record Percentiles(double P50, double P99);
