using System.Collections.Concurrent;
using System.Text;
using Orchestrator.Fly;
using Orchestrator.Fly.Emulator;
using Orchestrator.Testing;
using Renci.SshNet;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// The production Fly client against the emulator over real HTTP, with machines that are real sandboxes
/// reached over real SSH: the path every later issue drives machines through.
/// </summary>
public sealed class FlyEmulatorProviderTests
{
    private static readonly TimeSpan StateTimeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task AMachineLivesThroughCreateSshStopStartAndDestroy()
    {
        await using var emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(50), DestroyedRetention = TimeSpan.FromMilliseconds(300) });
        await using var client = FlyClientHost.Create(emulator.BaseAddress, s => s["Fly:ApiToken"] = emulator.ApiToken);
        var fly = client.Provider;
        var key = await SshKey.CreateAsync();

        await fly.CreateAppAsync("suite-app");
        var volume = await fly.CreateVolumeAsync("suite-app", new CreateVolumeRequest { Name = "data", Region = "ams", SizeGb = 1 });
        var machine = await fly.CreateMachineAsync("suite-app", new CreateMachineRequest
        {
            Name = "suite-box",
            Region = "ams",
            Config = new FlyMachineConfig
            {
                Image = "ubuntu:24.04",
                Guest = new FlyGuest { CpuKind = "shared", Cpus = 1, MemoryMb = 256 },
                Env = new Dictionary<string, string> { ["GREETING"] = "hello from env" },
                Files = [new FlyMachineFile { GuestPath = "/root/.ssh/authorized_keys", RawValue = Convert.ToBase64String(Encoding.UTF8.GetBytes(key.PublicKey + "\n")) }],
                Mounts = [new FlyMachineMount { Volume = volume.Id, Path = "/data" }],
            },
        });

        var started = await fly.WaitForStateAsync("suite-app", machine.Id!, "started", StateTimeout);
        Assert.True(started.Ok);
        var running = await fly.GetMachineAsync("suite-app", machine.Id!);
        Assert.Equal("started", running.State);
        Assert.StartsWith("127.", running.PrivateIp, StringComparison.Ordinal);
        Assert.NotEqual("127.0.0.1", running.PrivateIp);

        using (var ssh = await key.ConnectAsync(running.PrivateIp!))
        {
            Assert.StartsWith("Linux", Run(ssh, "uname -a"), StringComparison.Ordinal);
            Assert.Equal("hello from env", Run(ssh, "echo \"$GREETING\"").TrimEnd());
            Run(ssh, "echo kept > /data/x");
            Assert.Equal("kept", Run(ssh, "cat /data/x").TrimEnd());
        }

        await fly.StopMachineAsync("suite-app", machine.Id!);
        await fly.WaitForStateAsync("suite-app", machine.Id!, "stopped", StateTimeout, running.InstanceId);
        await Assert.ThrowsAnyAsync<Exception>(() => key.ConnectAsync(running.PrivateIp!));

        await fly.StartMachineAsync("suite-app", machine.Id!);
        await fly.WaitForStateAsync("suite-app", machine.Id!, "started", StateTimeout);
        using (var ssh = await key.ConnectAsync(running.PrivateIp!))
        {
            Assert.Equal("kept", Run(ssh, "cat /data/x").TrimEnd());
        }

        await fly.DeleteMachineAsync("suite-app", machine.Id!, force: true);
        await Wait.UntilAsync(
            async () =>
            {
                try
                {
                    await fly.GetMachineAsync("suite-app", machine.Id!);
                    return false;
                }
                catch (FlyApiException ex) when (ex.Category == FlyErrorCategory.NotFound)
                {
                    return true;
                }
            },
            "the destroyed machine to be gone");
        Assert.False(Directory.Exists(Path.Combine(emulator.DataDirectory, "machines", machine.Id!)));
    }

    [Fact]
    public async Task FiftyConcurrentCreatesUnderFaultsMakeExactlyFiftyMachines()
    {
        // Fly's limits, sped up twentyfold on both sides so that the test takes seconds, not a minute.
        await using var emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(20), RateLimitScale = 20, Seed = 7 });
        await using var client = FlyClientHost.Create(emulator.BaseAddress, s =>
        {
            s["Fly:ApiToken"] = emulator.ApiToken;
            s["Fly:RateLimitScale"] = "20";
            s["Fly:MaxCreateAttempts"] = "10";
            s["Fly:MaxRetryAttempts"] = "8";
            s["Fly:TotalTimeout"] = "00:01:00";
            s["Fly:CircuitBreakerMinimumThroughput"] = "10000";
        });
        var fly = client.Provider;
        await fly.CreateAppAsync("fault-app");
        var key = await SshKey.CreateAsync();

        // 30% of creates fail (5xx or 429) before doing anything; another share succeeds but answers 408.
        emulator.FaultInjection.Add(FaultRule.Failing("Machines_create", 503, rate: 0.15));
        emulator.FaultInjection.Add(FaultRule.Failing("Machines_create", 429, rate: 0.10));
        emulator.FaultInjection.Add(FaultRule.Failing("Machines_create", 502, rate: 0.05));
        emulator.FaultInjection.Add(FaultRule.SucceedThenTimeout() with { Rate = 0.15 });
        emulator.FaultInjection.Add(FaultRule.Failing("Machines_list", 503, rate: 0.30));

        var created = new ConcurrentBag<FlyMachine>();
        await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
            created.Add(await fly.CreateMachineAsync("fault-app", new CreateMachineRequest
            {
                Name = $"m-{i}",
                Region = "ams",
                Config = new FlyMachineConfig
                {
                    Image = "ubuntu:24.04",
                    Guest = new FlyGuest { CpuKind = "shared", Cpus = 1, MemoryMb = 256 },
                    Files = [new FlyMachineFile { GuestPath = "/root/.ssh/authorized_keys", RawValue = Convert.ToBase64String(Encoding.UTF8.GetBytes(key.PublicKey + "\n")) }],
                },
            }, idempotencyKey: $"create-{i}"))));

        var createFaults = emulator.FaultInjection.Rules.Where(r => r.Rule.Target == "Machines_create").Sum(r => r.Fired);
        emulator.FaultInjection.Clear();
        var all = await fly.ListMachinesAsync("fault-app");
        Assert.Equal(50, created.Select(m => m.Id).Distinct().Count());
        Assert.Equal(50, all.Count);
        Assert.Equal(created.Select(m => m.Id).Order(), all.Select(m => m.Id).Order());
        Assert.Equal(50, all.Select(m => m.Config?.Metadata?[FlyMetadataKeys.ClientToken]).Distinct().Count());
        // With these rates about 30 faults fire; far fewer would mean the test no longer tests anything.
        Assert.True(createFaults >= 10, $"only {createFaults} create faults fired");
    }

    private static string Run(SshClient ssh, string command)
    {
        using var result = ssh.RunCommand(command);
        Assert.True(result.ExitStatus == 0, $"'{command}' exited {result.ExitStatus}: {result.Error}");
        return result.Result;
    }

    /// <summary>A client key pair made by ssh-keygen, authorized on machines through their config's files.</summary>
    private sealed record SshKey(string PrivateKeyPem, string PublicKey)
    {
        public static async Task<SshKey> CreateAsync()
        {
            var pair = await SshServer.GenerateKeyPairAsync("integration-test", CancellationToken.None);
            return new SshKey(pair.PrivateKeyPem, pair.PublicKeyLine);
        }

        public async Task<SshClient> ConnectAsync(string host)
        {
            using var stream = new MemoryStream(Encoding.UTF8.GetBytes(PrivateKeyPem));
            var ssh = new SshClient(host, 2222, "root", new PrivateKeyFile(stream));
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await ssh.ConnectAsync(timeout.Token);
                return ssh;
            }
            catch
            {
                ssh.Dispose();
                throw;
            }
        }
    }
}
