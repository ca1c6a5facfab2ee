using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>
/// The default runtime is the real sandboxes: a started machine's sshd answers at its private IP,
/// a stopped one does not, and disposing the emulator leaves nothing listening. (Deeper proofs,
/// over SSH, belong to the integration tests.)
/// </summary>
public sealed class RealSandboxTests
{
    [Fact]
    public async Task AStartedMachineIsAnSshdAtItsPrivateIpUntilStopped()
    {
        var emulator = await FlyEmulator.StartAsync(new FlyEmulatorOptions { TransitionDelay = TimeSpan.FromMilliseconds(50), RateLimitScale = 1000 });
        IPEndPoint endpoint;
        try
        {
            using var http = TestEmulator.Client(emulator, "Bearer " + emulator.ApiToken);
            var fly = new FlyHttp(http);
            var app = await fly.CreateAppAsync();
            var volume = (await fly.PostAsync($"/v1/apps/{app}/volumes", new JsonObject { ["name"] = "data" })).Expect(HttpStatusCode.OK).Object.Str("id");
            var config = new JsonObject
            {
                ["image"] = "ubuntu:24.04",
                ["mounts"] = new JsonArray(new JsonObject { ["volume"] = volume, ["path"] = "/data" }),
                ["files"] = new JsonArray(new JsonObject { ["guest_path"] = "/etc/motd", ["raw_value"] = Convert.ToBase64String("hi\n"u8.ToArray()) }),
            };
            var machine = await fly.CreateMachineAsync(app, FlyHttp.MachineBody(config: config));
            var id = machine.Str("id");
            await fly.WaitForAsync(app, id, "started", timeoutSeconds: 30);
            endpoint = new IPEndPoint(IPAddress.Parse(machine.Str("private_ip")), 2222);

            Assert.StartsWith("SSH-2.0-", await BannerAsync(endpoint), StringComparison.Ordinal);
            var sandbox = (await fly.GetAsync($"/_emulator/machines/{id}")).Expect(HttpStatusCode.OK).Object;
            Assert.Equal("hi\n", await File.ReadAllTextAsync(Path.Combine(sandbox.Str("root_directory"), "etc", "motd")));
            Assert.StartsWith("ssh-ed25519 ", sandbox.Str("host_public_key"), StringComparison.Ordinal);

            (await fly.PostAsync($"/v1/apps/{app}/machines/{id}/stop")).Expect(HttpStatusCode.OK);
            await fly.WaitForAsync(app, id, "stopped", machine.Str("instance_id"), timeoutSeconds: 30);
            await Assert.ThrowsAsync<SocketException>(() => BannerAsync(endpoint));

            (await fly.PostAsync($"/v1/apps/{app}/machines/{id}/start")).Expect(HttpStatusCode.OK);
            await fly.WaitForAsync(app, id, "started", timeoutSeconds: 30);
            Assert.StartsWith("SSH-2.0-", await BannerAsync(endpoint), StringComparison.Ordinal);
        }
        finally
        {
            await emulator.DisposeAsync();
        }

        // Shutdown stopped the machine that was still running.
        await Assert.ThrowsAsync<SocketException>(() => BannerAsync(endpoint));
        Assert.False(Directory.Exists(emulator.DataDirectory));
    }

    private static async Task<string> BannerAsync(IPEndPoint endpoint)
    {
        using var client = new TcpClient();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await client.ConnectAsync(endpoint, timeout.Token);
        using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
        return await reader.ReadLineAsync(timeout.Token) ?? "";
    }
}
