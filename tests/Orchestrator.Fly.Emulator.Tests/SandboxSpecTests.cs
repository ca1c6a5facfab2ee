using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>What a started machine asks of the sandboxes: its address, files, environment and mounts, from the config.</summary>
public sealed class SandboxSpecTests
{
    [Fact]
    public async Task TheConfigBecomesTheSandboxSpec()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample test@host\n";
        var config = new JsonObject
        {
            ["image"] = "ubuntu:24.04",
            ["env"] = new JsonObject { ["GREETING"] = "hello", ["FLY_REGION"] = "spoofed" },
            ["files"] = new JsonArray(new JsonObject
            {
                ["guest_path"] = "/root/.ssh/authorized_keys",
                ["raw_value"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(key)),
                ["mode"] = 384,
            }),
        };

        var machine = await emulator.Fly.StartedMachineAsync(app, FlyHttp.MachineBody("ams", config));

        var spec = Assert.Single(emulator.Runtime.CallsFor(machine.Str("id"))).Spec!;
        Assert.Equal(machine.Str("id"), spec.MachineId);
        Assert.Equal(machine.Str("private_ip"), spec.Address.ToString());
        var file = Assert.Single(spec.Files);
        Assert.Equal(("/root/.ssh/authorized_keys", key, 384), (file.GuestPath, Encoding.UTF8.GetString(file.Content.Span), file.Mode));
        Assert.Equal("hello", spec.Environment["GREETING"]);
        Assert.Equal("ams", spec.Environment["FLY_REGION"]);
        Assert.Equal(app, spec.Environment["FLY_APP_NAME"]);
        Assert.Equal(machine.Str("id"), spec.Environment["FLY_MACHINE_ID"]);
        Assert.Equal(machine.Str("private_ip"), spec.Environment["FLY_PRIVATE_IP"]);
        Assert.Empty(spec.Mounts);
    }

    [Fact]
    public async Task EveryMachineGetsItsOwnLoopbackAddressButNever127001()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();

        var addresses = new List<IPAddress>();
        for (var i = 0; i < 12; i++)
        {
            addresses.Add(IPAddress.Parse((await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody(skipLaunch: true))).Str("private_ip")));
        }

        Assert.Equal(addresses.Count, addresses.Distinct().Count());
        Assert.All(addresses, a =>
        {
            Assert.True(IPAddress.IsLoopback(a), $"{a} is not loopback");
            Assert.Equal([127, 77], a.GetAddressBytes()[..2]);
            Assert.NotEqual(IPAddress.Loopback, a);
        });
    }

    [Fact]
    public async Task TheAdminEndpointLocatesAMachinesSandbox()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var machine = await emulator.Fly.StartedMachineAsync(app);

        var view = (await emulator.Fly.GetAsync($"/_emulator/machines/{machine.Str("id")}")).Expect(HttpStatusCode.OK).Object;

        Assert.Equal(machine.Str("private_ip"), view.Str("address"));
        Assert.Equal(2222, view["ssh_port"]!.GetValue<int>());
        Assert.True(view["running"]!.GetValue<bool>());
        Assert.Equal($"/recorded/{machine.Str("id")}/root", view.Str("root_directory"));
        (await emulator.Fly.GetAsync("/_emulator/machines/0123456789abcd")).Expect(HttpStatusCode.NotFound);
    }
}
