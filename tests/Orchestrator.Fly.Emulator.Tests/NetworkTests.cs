using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Orchestrator.Fly.Emulator.Tests.Support;

namespace Orchestrator.Fly.Emulator.Tests;

/// <summary>Public IP assignments (REST ip_assignments) and the regions list.</summary>
public sealed class NetworkTests
{
    [Fact]
    public async Task V6AndDedicatedV4AreAssignedListedAndReleased()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var path = $"/v1/apps/{app}/ip_assignments";

        var v6 = (await emulator.Fly.PostAsync(path, new JsonObject { ["type"] = "v6" })).Expect(HttpStatusCode.OK).Object;
        var v4 = (await emulator.Fly.PostAsync(path, new JsonObject { ["type"] = "v4", ["region"] = "ams" })).Expect(HttpStatusCode.OK).Object;
        var listed = (await emulator.Fly.GetAsync(path)).Expect(HttpStatusCode.OK).Object["ips"]!.AsArray();

        Assert.Equal(AddressFamily.InterNetworkV6, IPAddress.Parse(v6.Str("ip")).AddressFamily);
        Assert.Equal(AddressFamily.InterNetwork, IPAddress.Parse(v4.Str("ip")).AddressFamily);
        Assert.False(v4["shared"]!.GetValue<bool>());
        Assert.Equal(("global", "ams"), (v6.Str("region"), v4.Str("region")));
        Assert.Equal(["created_at", "ip", "region", "service_name", "shared"], v6.Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal([v6.Str("ip"), v4.Str("ip")], listed.Select(i => i.Str("ip")));

        var released = await emulator.Fly.DeleteAsync($"{path}/{v4.Str("ip")}");
        Assert.Equal(HttpStatusCode.NoContent, released.Status);
        Assert.Single((await emulator.Fly.GetAsync(path)).Object["ips"]!.AsArray());
        (await emulator.Fly.DeleteAsync($"{path}/{v4.Str("ip")}")).Expect(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task ASharedV4IsMarkedSharedAndThereIsOnlyOne()
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();
        var path = $"/v1/apps/{app}/ip_assignments";

        var shared = (await emulator.Fly.PostAsync(path, Fixtures.Load("ip-assignment.request.json"))).Expect(HttpStatusCode.OK).Object;
        var again = await emulator.Fly.PostAsync(path, Fixtures.Load("ip-assignment.request.json"));

        Assert.True(shared["shared"]!.GetValue<bool>());
        again.Expect(HttpStatusCode.Conflict);
    }

    [Theory]
    [InlineData("""{"type":"v5"}""")]
    [InlineData("""{}""")]
    [InlineData("""{"type":"v4","region":"mars"}""")]
    public async Task BadAssignmentsAreRefused(string body)
    {
        await using var emulator = await TestEmulator.StartAsync();
        var app = await emulator.Fly.CreateAppAsync();

        var response = await emulator.Fly.PostAsync($"/v1/apps/{app}/ip_assignments", body);

        Assert.True(response.Status is HttpStatusCode.BadRequest or HttpStatusCode.UnprocessableEntity, response.Text);
        Assert.Equal(["error"], response.Object.Select(p => p.Key));
    }

    [Fact]
    public async Task RegionsListsTheAcceptedCodes()
    {
        await using var emulator = await TestEmulator.StartAsync();

        var regions = (await emulator.Fly.GetAsync("/v1/platform/regions")).Expect(HttpStatusCode.OK).Object;

        Assert.Equal("ord", regions.Str("nearest"));
        Assert.Superset(
            new HashSet<string> { "ams", "iad", "ord", "lhr", "fra", "sjc", "syd", "nrt", "cdg", "yyz", "yul" },
            regions["regions"]!.AsArray().Select(r => r.Str("code")).ToHashSet());
    }
}
