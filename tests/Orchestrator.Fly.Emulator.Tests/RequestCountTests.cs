using System.Net;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>The Fly requests the emulator served, per operation id, so a test can prove that a read made no Fly call.</summary>
public sealed class RequestCountTests
{
    [Fact]
    public async Task EveryFlyRequestIsCountedUnderItsOperationAndTheAdminApiIsNot()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var id = (await emulator.Fly.CreateMachineAsync(app, FlyHttp.MachineBody(skipLaunch: true))).Str("id");
        emulator.Emulator.Requests.Reset();

        await emulator.Fly.GetMachineAsync(app, id);
        await emulator.Fly.GetMachineAsync(app, id);
        (await emulator.Fly.GetAsync($"/v1/apps/{app}/machines")).Expect(HttpStatusCode.OK);
        // Refused ones count too: the call was made.
        using (var anonymous = TestEmulator.Client(emulator.Emulator, authorization: null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"v1/apps/{app}/machines/{id}")).StatusCode);
        }

        (await emulator.Fly.GetAsync($"/_emulator/machines/{id}")).Expect(HttpStatusCode.OK);
        (await emulator.Fly.GetAsync("/v1/no/such/path")).Expect(HttpStatusCode.NotFound);
        var overHttp = (await emulator.Fly.GetAsync("/_emulator/requests")).Expect(HttpStatusCode.OK).Object;

        Assert.Equal(3, emulator.Emulator.Requests.Count("Machines_show"));
        Assert.Equal(1, emulator.Emulator.Requests.Count("Machines_list"));
        Assert.Equal(0, emulator.Emulator.Requests.Count("Machines_create"));
        Assert.Equal(4, emulator.Emulator.Requests.Total);
        Assert.Equal(4, overHttp["total"]!.GetValue<int>());
        Assert.Equal(3, overHttp["operations"]!["Machines_show"]!.GetValue<int>());
        (await emulator.Fly.DeleteAsync("/_emulator/requests")).Expect(HttpStatusCode.NoContent);
        Assert.Equal(0, emulator.Emulator.Requests.Total);
        Assert.Empty(emulator.Emulator.Requests.Snapshot());
    }
}
